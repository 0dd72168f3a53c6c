"""The archive's contents against its JSON Schema, the importer's refusals,
and the members CSV for Ghost."""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator

from masthead.billing.models import Subscription
from masthead.exports.archive import RECORD_FILES, write_archive
from masthead.exports.ghost import COLUMNS, write_members_csv
from masthead.exports.importer import ArchiveError, import_archive

pytestmark = pytest.mark.django_db

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "export-format.schema.json").read_text())
RECORD_KIND = {
    "images": "image",
    "authors": "author",
    "sections": "section",
    "plans": "plan",
    "articles": "article",
    "issues": "issue",
    "readers": "reader",
    "gifts": "gift",
}


def validator(kind):
    return Draft202012Validator(
        {**SCHEMA, "$ref": f"#/$defs/{kind}"},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def export(**kwargs):
    buffer = io.BytesIO()
    write_archive(buffer, **kwargs)
    buffer.seek(0)
    return buffer


def rewritten(buffer, name, change):
    """A copy of the archive with `name`'s bytes passed through `change`."""
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            target.writestr(item, change(data) if item == name else data)
    out.seek(0)
    return out


def test_every_record_matches_the_schema(demo, readers):
    with zipfile.ZipFile(export()) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert list(validator("manifest").iter_errors(manifest)) == []
        for name in RECORD_FILES:
            lines = archive.read(f"{name}.jsonl").decode().splitlines()
            assert len(lines) == manifest["counts"][name]
            check = validator(RECORD_KIND[name])
            for line in lines:
                record = json.loads(line)
                assert list(check.iter_errors(record)) == [], (name, record)
        image_files = {n for n in archive.namelist() if n.startswith("images/")}
    assert manifest["counts"] == {
        "images": 13,
        "authors": 7,
        "sections": 6,
        "plans": 2,
        "articles": 3,
        "issues": 3,
        "readers": 5,
        "gifts": 2,
    }
    assert manifest["site"]["magazine"] == "The Meridian Review"
    assert len(image_files) == 13


def test_the_schema_rejects_what_the_format_forbids():
    check = validator("reader")
    reader = {
        "email": "ada@example.com",
        "name": "Ada",
        "first_name": "",
        "last_name": "",
        "active": True,
        "joined_at": "2026-01-01T00:00:00+00:00",
        "consent": {"newsletter": True, "issue_emails": False},
        "labels": [],
        "print_address": None,
        "subscriptions": [],
    }
    assert list(check.iter_errors(reader)) == []
    assert list(check.iter_errors({**reader, "consent": {"newsletter": "yes"}}))
    assert list(check.iter_errors({key: v for key, v in reader.items() if key != "email"}))


def test_articles_carry_blocks_as_json_and_html_with_their_teaser_break(demo, readers):
    with zipfile.ZipFile(export()) as archive:
        articles = {
            record["path"]: record
            for record in map(json.loads, archive.read("articles.jsonl").decode().splitlines())
        }
    vote = articles["/politics/harbour-vote/"]
    assert vote["authors"] == ["ana-pena", "jose-alvarez"]
    assert vote["section"] == "politics" and vote["live"]
    assert vote["teaser_break"] is None
    desk = articles["/finance/bond-desk/"]
    assert [block["type"] for block in desk["body"]][desk["teaser_break"]] == "teaser_break"
    figures = [block for block in vote["body"] if block["type"] == "figure"]
    assert figures and all(block["value"]["image"].startswith("image-") for block in figures)
    assert "<p>" in vote["body_html"] and "<figure" in vote["body_html"]
    assert desk["effective_access_level"] == "subscribers"


def test_readers_carry_consent_address_and_subscription_references(demo, readers):
    with zipfile.ZipFile(export()) as archive:
        records = {
            record["email"]: record
            for record in map(json.loads, archive.read("readers.jsonl").decode().splitlines())
        }
    assert "editor@meridian.example" not in records  # staff stay with the install
    ada = records["ada@example.com"]
    assert ada["consent"] == {"newsletter": True, "issue_emails": True}
    assert ada["print_address"]["postal_code"] == "04101"
    [paid] = ada["subscriptions"]
    assert (paid["kind"], paid["plan"], paid["stripe_subscription_id"]) == (
        "stripe",
        "digital-print",
        "sub_ada",
    )
    assert paid["current_period_end"] == "2027-03-01T09:00:00+00:00"
    [comp] = records["bo@example.com"]["subscriptions"]
    assert (comp["kind"], comp["granted_by"], comp["note"]) == (
        "complimentary",
        "editor@meridian.example",
        "Reviewer",
    )
    [gift] = records["di@example.com"]["subscriptions"]
    assert gift["kind"] == "gift" and gift["gift"].startswith("gift-")


def test_import_refuses_an_install_that_has_articles(demo, readers):
    archive = export()
    with pytest.raises(ArchiveError, match="empty"):
        import_archive(archive)


def test_import_refuses_a_newer_format(demo):
    def newer(data):
        return json.dumps({**json.loads(data), "format_version": 99}).encode()

    archive = rewritten(export(), "manifest.json", newer)
    with pytest.raises(ArchiveError, match="version 99"):
        import_archive(archive)


def test_import_refuses_a_picture_that_does_not_match_its_checksum(demo, tmp_path):
    buffer = export()
    with zipfile.ZipFile(buffer) as archive:
        first = json.loads(archive.read("images.jsonl").decode().splitlines()[0])
    damaged = rewritten(buffer, first["file"], lambda data: data[:-10])
    path = tmp_path / "damaged.zip"
    path.write_bytes(damaged.getvalue())
    # An empty install: the demo's rows go, the archive stays.
    from masthead.newsroom.models import ArticlePage

    for page in ArticlePage.objects.all():
        page.delete()
    with pytest.raises(CommandError, match="checksum"):
        call_command("import_masthead", str(path))
    assert not ArticlePage.objects.exists()


def test_members_csv_in_ghosts_columns(readers):
    handle = io.StringIO()
    assert write_members_csv(handle) == 5
    handle.seek(0)
    reader = csv.DictReader(handle)
    assert tuple(reader.fieldnames) == COLUMNS
    rows = {row["email"]: row for row in reader}
    assert rows["ada@example.com"] == {
        "id": "",
        "email": "ada@example.com",
        "name": "Ada Reader",
        "note": "",
        "subscribed_to_emails": "true",
        "complimentary_plan": "false",
        "stripe_customer_id": "cus_ada",
        "created_at": rows["ada@example.com"]["created_at"],
        "deleted_at": "",
        "labels": "",
        "tiers": "Digital + Print",
    }
    assert rows["ada@example.com"]["created_at"].endswith(".000Z")
    assert (rows["bo@example.com"]["complimentary_plan"], rows["bo@example.com"]["note"]) == (
        "true",
        "Reviewer",
    )
    assert rows["di@example.com"]["complimentary_plan"] == "true"
    assert (rows["ed@example.com"]["tiers"], rows["ed@example.com"]["stripe_customer_id"]) == (
        "",
        "",
    )


def test_a_lapsed_subscriber_goes_to_ghost_as_a_free_member(readers):
    Subscription.objects.filter(stripe_subscription_id="sub_ada").update(status="canceled")
    handle = io.StringIO()
    write_members_csv(handle)
    handle.seek(0)
    ada = next(row for row in csv.DictReader(handle) if row["email"] == "ada@example.com")
    assert (ada["stripe_customer_id"], ada["complimentary_plan"], ada["tiers"]) == (
        "",
        "false",
        "",
    )


def test_export_members_ghost_command_writes_the_file(readers, tmp_path):
    out = tmp_path / "members.csv"
    call_command("export_members_ghost", str(out), stdout=io.StringIO())
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
