"""Substack's export archive read into import records.

The archive is built from tests/imports/data/substack, laid out as Substack
sends it: posts.csv, posts/<post_id>.html and email_list.<publication>.csv,
in a folder inside the zip.
"""

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from masthead.imports.html import html_to_blocks
from masthead.imports.records import (
    Access,
    ImportedAuthor,
    ImportedNewsletter,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    ImportFormatError,
    PostStatus,
    ReaderStatus,
)
from masthead.imports.substack import SubstackParser, original_image_url

DATA = Path(__file__).parent / "data" / "substack"


def build_export(path, replace=None, drop=(), extra=None):
    """The test export as a zip; `replace` maps a member to new text."""
    replace = replace or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(DATA.rglob("*")):
            name = str(file.relative_to(DATA))
            if file.is_file() and name not in drop:
                text = replace.get(name, file.read_text())
                archive.writestr(f"tidewater-export/{name}", text)
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return path


@pytest.fixture
def export(tmp_path):
    return build_export(tmp_path / "tidewater.zip")


def read(path):
    parser = SubstackParser(path)
    parser.check()
    return parser, list(parser.records())


def of(records, kind):
    return [record for record in records if isinstance(record, kind)]


def posts_by_id(records):
    return {post.source_id: post for post in of(records, ImportedPost)}


def test_posts_come_across_with_status_dates_and_old_urls(export):
    parser, records = read(export)
    posts = posts_by_id(records)
    # Threads and pages are not articles.
    assert sorted(posts) == [str(n) for n in range(140001, 140008)]

    first = posts["140001"]
    assert (first.title, first.slug, first.dek) == (
        "Tidewater notes, no. 1",
        "tidewater-notes-1",
        "What the estuary gave us this winter",
    )
    assert first.status == PostStatus.PUBLISHED
    assert first.published_at == datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    assert first.old_url == "/p/tidewater-notes-1"

    assert posts["140006"].status == PostStatus.DRAFT
    assert posts["140006"].old_url == ""
    scheduled = posts["140007"]
    assert scheduled.status == PostStatus.SCHEDULED
    assert scheduled.published_at == datetime(2031, 3, 20, 6, 0, tzinfo=UTC)

    [author] = of(records, ImportedAuthor)
    assert author.name == "Tidewater"  # the publication, from the email list's name
    assert {tuple(post.author_ids) for post in posts.values()} == {(author.source_id,)}
    [newsletter] = of(records, ImportedNewsletter)
    assert newsletter.name == "Tidewater"
    assert parser.site_hosts == ("tidewater.substack.com",)
    messages = [str(problem) for problem in parser.problems]
    assert (
        "posts.csv: Not imported (only newsletters and podcasts become articles): 1 threads."
        in messages
    )


@pytest.mark.parametrize(
    "post_id, audience, access, plan_ids, teaser",
    [
        ("140001", "everyone", Access.PUBLIC, [], None),
        ("140002", "only_paid", Access.SUBSCRIBERS, [], "We started counting in January."),
        ("140003", "only_free", Access.MEMBERS, [], "It does, twice."),
        ("140004", "founding", Access.PLANS, ["founding"], "came out to Saltcote in March."),
    ],
)
def test_audience_and_paywall_marker_become_access_and_teaser_break(
    export, post_id, audience, access, plan_ids, teaser
):
    _, records = read(export)
    post = posts_by_id(records)[post_id]
    assert (post.access, post.plan_ids) == (access, plan_ids), audience
    if teaser is None:
        assert post.teaser_break_at is None
    else:
        before = post.body_html[: post.teaser_break_at]
        assert before.endswith(f"{teaser}</p>")
        assert "paywall-jump" not in post.body_html
    plans = {plan.source_id for plan in of(records, ImportedPlan)}
    assert set(plan_ids) <= plans


def test_substack_bodies_become_blocks(export):
    _, records = read(export)
    pictures = []

    def resolve(request):
        pictures.append(request)
        return 3

    post = posts_by_id(records)["140001"]
    blocks = html_to_blocks(post.body_html, resolve_image=resolve).blocks
    assert [block["type"] for block in blocks] == [
        "paragraph",
        "figure",
        "heading",
        "paragraph",
        "block_quote",
        "paragraph",
    ]
    # The picture itself, not Substack's resizing proxy; the subscribe button is gone.
    assert pictures[0].src == (
        "https://substack-post-media.s3.amazonaws.com/public/images/a1b2c3d4-mudflats_2400x1600.jpeg"
    )
    assert pictures[0].alt == "Mudflats at low tide"
    assert blocks[1]["value"]["caption"] == "The mudflats at Saltcote, an hour after low water"
    assert "Subscribe now" not in str(blocks)

    paid = posts_by_id(records)["140002"]
    blocks = html_to_blocks(paid.body_html, teaser_break_at=paid.teaser_break_at).blocks
    assert [block["type"] for block in blocks] == [
        "paragraph",
        "paragraph",
        "teaser_break",
        "paragraph",
        "paragraph",
        "paragraph",
    ]
    assert blocks[-1]["value"] == "<p><a>See the full table</a></p>"

    podcast = posts_by_id(records)["140005"]
    blocks = html_to_blocks(podcast.body_html).blocks
    assert blocks[0] == {
        "type": "embed",
        "value": {"url": "https://lantern-audio.example/heron-hour.mp3", "caption": ""},
    }


def test_the_email_list_becomes_readers(export):
    parser, records = read(export)
    readers = {reader.email: reader for reader in of(records, ImportedReader)}
    assert sorted(readers) == [
        "avocet@readers.example",
        "comp.reader@readers.example",
        "former@readers.example",
        "founder@readers.example",
        "gift.reader@readers.example",
        "heron@readers.example",
        "quiet@readers.example",
    ]
    free = readers["heron@readers.example"]
    assert (free.status, free.newsletters) == (ReaderStatus.FREE, ["newsletter"])
    assert free.created_at == datetime(2025, 11, 2, 10, 0, tzinfo=UTC)
    # email_disabled: no newsletter.
    assert readers["quiet@readers.example"].newsletters == []

    paid = readers["avocet@readers.example"]  # lower-cased
    assert (paid.status, paid.plan_id) == (ReaderStatus.PAID, "paid")
    assert (paid.stripe_customer_id, paid.stripe_subscription_id) == ("cus_LINKED", "sub_LINKED")

    comp = readers["comp.reader@readers.example"]
    assert (comp.status, comp.expires_at) == (
        ReaderStatus.COMP,
        datetime(2030, 1, 31, tzinfo=UTC),
    )
    gift = readers["gift.reader@readers.example"]
    assert (gift.status, gift.expires_at) == (
        ReaderStatus.GIFT,
        datetime(2029, 12, 31, tzinfo=UTC),
    )
    # A founding member whose Stripe ids were not exported keeps access to
    # the date paid up to, and the report says why.
    founder = readers["founder@readers.example"]
    assert (founder.status, founder.plan_id, founder.expires_at) == (
        ReaderStatus.COMP,
        "founding",
        datetime(2027, 3, 1, tzinfo=UTC),
    )
    assert readers["former@readers.example"].labels == ["Former paid subscriber"]

    problems = [str(problem) for problem in parser.problems]
    assert (
        "email_list.tidewater.csv, line 8, field stripe_subscription_id: A paid reader "
        "without Stripe ids; imported as complimentary until the expiry date."
    ) in problems
    assert (
        "email_list.tidewater.csv, line 9, field email: 'not an email' is not an email "
        "address; skipped."
    ) in problems
    assert (
        "email_list.tidewater.csv, line 10, field email: avocet@readers.example appears "
        "again; the first row is kept."
    ) in problems


def test_reading_twice_gives_the_same_records(export):
    parser, first = read(export)
    problems = list(parser.problems)
    assert list(parser.records()) == first
    assert parser.problems == problems


def test_a_missing_body_is_reported_not_fatal(tmp_path):
    path = build_export(tmp_path / "e.zip", drop={"posts/140003.members-mailbag.html"})
    parser, records = read(path)
    assert posts_by_id(records)["140003"].body_html == ""
    assert any(
        problem.record == "140003.members-mailbag" and problem.line == 4
        for problem in parser.problems
    )


def test_resized_image_urls_lead_to_the_original():
    assert original_image_url(
        "https://substackcdn.com/image/fetch/w_1456,c_limit/https%3A%2F%2Fsubstack-post-media"
        ".s3.amazonaws.com%2Fpublic%2Fimages%2Fabc.png"
    ) == ("https://substack-post-media.s3.amazonaws.com/public/images/abc.png")


# Malformed archives: a clear error naming the file, the line and the field.


def failure(path):
    parser = SubstackParser(path)
    with pytest.raises(ImportFormatError) as caught:
        parser.check()
        list(parser.records())
    return caught.value.problem


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "export.zip"
    path.write_text("post_id,post_date\n")
    problem = failure(path)
    assert str(problem) == "export.zip: Not a Substack export: the file is not a zip archive."


def test_an_archive_without_posts_csv_is_refused(tmp_path):
    path = build_export(tmp_path / "e.zip", drop={"posts.csv"})
    problem = failure(path)
    assert problem.field == "posts.csv"
    assert "no posts.csv" in problem.message


def test_posts_csv_with_the_wrong_columns_is_refused(tmp_path):
    path = build_export(
        tmp_path / "e.zip",
        replace={"posts.csv": "id,date,title\n1,2026-01-01,Hello\n"},
    )
    problem = failure(path)
    assert (Path(problem.file).name, problem.line, problem.field) == ("posts.csv", 1, "post_id")


def test_an_email_list_with_the_wrong_columns_is_refused(tmp_path):
    path = build_export(
        tmp_path / "e.zip",
        replace={"email_list.tidewater.csv": "address,plan\nx@y.example,other\n"},
    )
    problem = failure(path)
    assert (Path(problem.file).name, problem.line, problem.field) == (
        "email_list.tidewater.csv",
        1,
        "email",
    )


def test_a_bad_value_names_line_and_field(tmp_path):
    posts = (
        (DATA / "posts.csv")
        .read_text()
        .replace("2026-02-16T08:00:00.000Z,true", "2026-02-16T08:00:00.000Z,perhaps")
    )
    problem = failure(build_export(tmp_path / "e.zip", replace={"posts.csv": posts}))
    assert (Path(problem.file).name, problem.line, problem.field) == (
        "posts.csv",
        3,
        "is_published",
    )
    emails = (
        (DATA / "email_list.tidewater.csv")
        .read_text()
        .replace("2030-01-31T00:00:00.000Z", "next January")
    )
    problem = failure(
        build_export(tmp_path / "f.zip", replace={"email_list.tidewater.csv": emails})
    )
    assert (problem.line, problem.field) == (4, "expiry")


def test_a_row_with_too_few_values_names_its_line(tmp_path):
    posts = (DATA / "posts.csv").read_text() + "140010.short,2026-05-01\n"
    problem = failure(build_export(tmp_path / "e.zip", replace={"posts.csv": posts}))
    assert problem.line == 11
    assert "2 values where the header names 10" in problem.message


# The import itself, through the shared writer.


def run_import(path, **options):
    from masthead.imports.models import ImportRun
    from masthead.imports.writer import ImportOptions, plan_import, write_import

    parser = SubstackParser(path)
    opts = ImportOptions(fetch_images=False, **options)
    report = plan_import(parser, opts)
    run = ImportRun.objects.create(importer="substack", report=report.as_dict())
    return write_import(parser, run, opts)


def article(slug):
    from masthead.newsroom.models import ArticlePage

    return ArticlePage.objects.get(slug=slug)


@pytest.mark.django_db
def test_an_import_on_an_empty_database_makes_a_working_site(export, client):
    report = run_import(export)
    assert report.counts["post"] == {"created": 7, "updated": 0, "skipped": 0}
    ledger = article("the-salt-marsh-ledger")
    assert ledger.live
    assert ledger.access_level == "subscribers"
    assert [author.name for author in ledger.authors] == ["Tidewater"]
    assert "teaser_break" in [block.block_type for block in ledger.body]
    assert article("members-mailbag").access_level == "members"
    assert article("founders-field-trip").access_level == "plans"
    assert not article("unfinished-draft").live
    assert article("spring-equinox-letter").go_live_at == datetime(2031, 3, 20, 6, 0, tzinfo=UTC)

    text = client.get(ledger.url).content.decode()
    assert "We started counting in January." in text
    assert "forty-two bottle caps" not in text
    assert "document.cookie" not in text and "steal()" not in text
    # Substack's /p/<slug> redirects, and links between posts are rewritten.
    old = client.get("/p/the-salt-marsh-ledger")
    assert old.status_code == 301
    assert old["Location"].endswith(ledger.url)
    first = article("tidewater-notes-1")
    assert f'<a href="{ledger.url}">the salt-marsh ledger</a>' in list(first.body)[-1].value.source


@pytest.mark.django_db
def test_readers_newsletter_consent_comps_and_gifts(export):
    from django.contrib.auth import get_user_model

    from masthead.billing.models import Subscription

    run_import(export)
    User = get_user_model()
    assert User.objects.get(email="heron@readers.example").wants_newsletter
    assert not User.objects.get(email="quiet@readers.example").wants_newsletter
    comp = Subscription.objects.get(member__email="comp.reader@readers.example")
    assert comp.status == Subscription.Status.COMPLIMENTARY
    assert comp.ends_at == datetime(2030, 1, 31, tzinfo=UTC)
    gift = Subscription.objects.get(member__email="gift.reader@readers.example")
    assert gift.status == Subscription.Status.COMPLIMENTARY
    assert gift.ends_at == datetime(2029, 12, 31, tzinfo=UTC)
    assert not Subscription.objects.filter(member__email="heron@readers.example").exists()
    assert User.objects.filter(email__iexact="avocet@readers.example").count() == 1


@pytest.mark.django_db
def test_a_rerun_creates_no_duplicates(export):
    from django.contrib.auth import get_user_model
    from wagtail.contrib.redirects.models import Redirect

    from masthead.billing.models import Subscription
    from masthead.newsroom.models import ArticlePage, Author

    def counts():
        return (
            ArticlePage.objects.count(),
            Author.objects.count(),
            get_user_model().objects.count(),
            Subscription.objects.count(),
            Redirect.objects.count(),
        )

    run_import(export)
    before = counts()
    again = run_import(export)
    assert again.counts["post"] == {"created": 0, "updated": 0, "skipped": 7}
    assert counts() == before


@pytest.mark.django_db
def test_the_command_dry_run_writes_nothing(export, capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from masthead.newsroom.models import ArticlePage

    call_command("import_substack", str(export), "--dry-run", "--author", "Ruth Adair")
    out = capsys.readouterr().out
    assert ArticlePage.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert "Dry run: nothing was written." in out
    assert "posts              7 created        0 updated        0 skipped" in out
    assert "readers            7 created        0 updated        0 skipped" in out

    with pytest.raises(CommandError) as caught:
        call_command("import_substack", str(DATA / "posts.csv"))
    assert str(caught.value) == (
        "Nothing was imported. posts.csv: Not a Substack export: the file is not a zip archive."
    )

    call_command("import_substack", str(export), "--author", "Ruth Adair")
    assert [a.name for a in article("heron-hour").authors] == ["Ruth Adair"]


@pytest.mark.django_db
def test_a_paid_substack_reader_keeps_the_stripe_subscription_and_reads_in_full(
    catalogue, stripe_live, tmp_path
):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from masthead.access.rules import decide
    from masthead.billing.models import Subscription
    from tests.imports.test_wordpress import invoices_of, paying_customer

    price = catalogue["digital/year"]
    customer_id, subscription_id = paying_customer(
        stripe_live, price.stripe_price_id, "avocet@readers.example"
    )
    invoices = invoices_of(stripe_live, customer_id)
    emails = (
        (DATA / "email_list.tidewater.csv")
        .read_text()
        .replace("cus_LINKED", customer_id)
        .replace("sub_LINKED", subscription_id)
    )
    path = build_export(tmp_path / "e.zip", replace={"email_list.tidewater.csv": emails})
    report = run_import(path)

    linked = Subscription.objects.get(member__email="avocet@readers.example")
    assert (linked.stripe_customer_id, linked.stripe_subscription_id) == (
        customer_id,
        subscription_id,
    )
    assert linked.status == Subscription.Status.ACTIVE
    assert invoices_of(stripe_live, customer_id) == invoices  # no second charge
    assert not [p for p in report.problems if p["record"] == "avocet@readers.example"]
    reader = get_user_model().objects.get(email="avocet@readers.example")
    ledger = article("the-salt-marsh-ledger")
    assert decide(reader, ledger)
    browser = Client()
    browser.force_login(reader)
    assert "forty-two bottle caps" in browser.get(ledger.url).content.decode()
