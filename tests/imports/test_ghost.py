"""Importing a Ghost site: its posts, authors, tags, members, on a fresh database."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from masthead.billing.models import Subscription
from masthead.imports.ghost import GhostParser
from masthead.imports.models import ImportedObject, ImportRun
from masthead.imports.writer import ImportOptions, plan_import, write_import
from masthead.newsroom.models import ArticlePage, Author, CreditedImage, SectionPage
from tests.imports.ghost_export import build_export, write_export, write_images

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(tmp_path):
    return write_export(tmp_path / "saltmere.ghost.json")


@pytest.fixture
def images(tmp_path):
    return write_images(tmp_path / "ghost-content")


def run_import(path, images_dir=None, **options):
    parser = GhostParser(path)
    opts = ImportOptions(images_dir=str(images_dir or ""), fetch_images=False, **options)
    report = plan_import(parser, opts)
    run = ImportRun.objects.create(importer="ghost", report=report.as_dict())
    return write_import(parser, run, opts)


def body_types(page):
    return [block.block_type for block in page.body]


def test_dry_run_writes_nothing_and_reports_counts_mappings_and_problems(export, capsys):
    call_command("import_ghost", str(export), "--dry-run")
    out = capsys.readouterr().out
    assert ArticlePage.objects.count() == 0
    assert Author.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert not ImportedObject.objects.exists()
    assert "Dry run: nothing was written." in out
    assert "posts              7 created        0 updated        0 skipped" in out
    assert "readers            3 created        0 updated        2 skipped" in out
    assert "Coast (t1) → coast  [2 posts]" in out
    assert "price_supporter_month → digital" in out
    assert "record p7, field type: a Ghost page (not a post) is not imported" in out
    assert "record m4, field email: not a valid email address: 'not-an-email'" in out
    assert "free.reader@example.com appears more than once" in out


def test_an_import_on_an_empty_database_makes_a_working_site(export, images, client):
    report = run_import(export, images)
    assert report.counts["post"] == {"created": 7, "updated": 0, "skipped": 0}
    assert report.counts["reader"] == {"created": 3, "updated": 0, "skipped": 2}
    assert SectionPage.objects.filter(slug="coast").exists()
    harbour = ArticlePage.objects.get(slug="harbour-master")
    assert harbour.get_parent().slug == "coast"
    response = client.get(harbour.url)
    assert response.status_code == 200
    assert "The tide tables were wrong all spring" in response.content.decode()
    assert client.get("/").status_code == 200


def test_title_dek_authors_in_order_tags_meta_and_feature_image(export, images):
    run_import(export, images)
    page = ArticlePage.objects.get(slug="harbour-master")
    assert page.title == "The Harbour Master's Tide Tables"
    assert page.dek == "Why the spring tides caught a town out."
    assert [author.name for author in page.authors] == ["Tomasz Reed", "Mara Quill"]
    assert sorted(page.tags.names()) == ["Tides"]
    assert page.seo_title == "Tide tables, wrong all spring"
    assert page.search_description == "The harbour master's errors, gauge by gauge."
    assert page.lead_image.title == "Boats at low tide"
    assert page.lead_image_caption == "Saltmere harbour"
    assert page.first_published_at.isoformat() == "2024-05-02T09:30:00+00:00"
    mara = Author.objects.get(slug="mara")
    assert mara.bio == "Covers the coast."
    assert mara.photo is not None


def test_articles_written_in_bulk_are_whole_wagtail_pages(
    export, images, django_capture_on_commit_callbacks
):
    """The tree positions, first revisions, creation log and indexes that
    the bulk write makes by itself are what Wagtail would have made."""
    from wagtail.models import Page, PageLogEntry, ReferenceIndex

    from masthead.access.models import Teaser

    with django_capture_on_commit_callbacks(execute=True):
        run_import(export, images)
    assert Page.find_problems() == ([], [], [], [], [])
    coast = SectionPage.objects.get(slug="coast")
    added = coast.add_child(instance=ArticlePage(title="Added by an editor", slug="added"))
    assert added.get_parent().specific == coast
    harbour = ArticlePage.objects.get(slug="harbour-master")
    assert harbour.url_path == "/home/coast/harbour-master/"
    assert harbour.live_revision == harbour.latest_revision
    revised = harbour.live_revision.as_object()
    assert revised.pk == harbour.pk
    assert [byline.pk for byline in revised.bylines.all()] == [
        byline.pk for byline in harbour.bylines.all()
    ]
    assert [author.name for author in revised.authors] == ["Tomasz Reed", "Mara Quill"]
    assert PageLogEntry.objects.filter(page=harbour, action="wagtail.create").count() == 1
    # Indexed by the task each batch enqueues once committed.
    assert Teaser.objects.filter(article=harbour).exists()
    assert ReferenceIndex.get_references_for_object(harbour).exists()


def test_html_becomes_blocks_with_nothing_dropped(export, images):
    run_import(export, images)
    page = ArticlePage.objects.get(slug="harbour-master")
    assert body_types(page) == [
        "paragraph",
        "figure",
        "heading",
        "paragraph",
        "block_quote",
        "paragraph",
        "horizontal_rule",
        "code",
        "embed",
        "html",
    ]
    blocks = list(page.body)
    assert blocks[1].value["caption"] == "Low water at Saltmere, April."
    assert blocks[1].value["image"].title == "Boats at low tide"
    assert blocks[5].value.source == "<ul><li>Three gauges</li><li>Two harbours</li></ul>"
    assert blocks[7].value["language"] == "python"
    assert blocks[8].value["url"] == "https://www.youtube.com/embed/abc123"
    assert "<td>12 cm</td>" in blocks[9].value
    # One picture file for the feature image and the in-body figure.
    assert CreditedImage.objects.filter(title="Boats at low tide").count() == 1


def test_links_to_other_imported_posts_are_rewritten_and_old_urls_redirect(export, images, client):
    run_import(export, images)
    page = ArticlePage.objects.get(slug="harbour-master")
    paragraph = list(page.body)[3].value.source
    assert '<a href="/coast/the-river-ledger/">river ledger</a>' in paragraph
    assert '<a href="https://example.org/tides">' in paragraph
    response = client.get("/harbour-master/")
    assert response.status_code == 301
    assert response["Location"].endswith("/coast/harbour-master/")


@pytest.mark.parametrize(
    "slug, level, teaser",
    [
        ("harbour-master", "public", None),
        ("the-river-ledger", "subscribers", ["paragraph"]),
        ("orchard-accounts", "members", ["paragraph", "paragraph"]),
        ("ferry-timetables", "plans", ["paragraph"]),
    ],
)
def test_each_visibility_and_its_teaser_break(export, images, slug, level, teaser):
    run_import(export, images)
    page = ArticlePage.objects.get(slug=slug)
    assert page.access_level == level
    types = body_types(page)
    if teaser is None:
        assert "teaser_break" not in types
    else:
        assert types[: types.index("teaser_break")] == teaser


def test_lexical_and_mobiledoc_bodies(export, images):
    run_import(export, images)
    river = ArticlePage.objects.get(slug="the-river-ledger")
    assert body_types(river) == ["paragraph", "teaser_break", "heading", "paragraph", "figure"]
    assert list(river.body)[0].value.source == "<p>The ledger begins in 1911, <i>in pencil</i>.</p>"
    assert list(river.body)[4].value["caption"] == "The 1923 page"
    orchard = ArticlePage.objects.get(slug="orchard-accounts")
    assert body_types(orchard) == [
        "paragraph",
        "paragraph",
        "teaser_break",
        "paragraph",
        "horizontal_rule",
    ]
    assert list(orchard.body)[1].value.source == "<p><b>Members</b> read past this line.</p>"


def test_per_tier_posts_name_the_mapped_plan(export, images):
    run_import(export, images)
    ferry = ArticlePage.objects.get(slug="ferry-timetables")
    assert [plan.code for plan in ferry.required_plans.all()] == ["digital"]


def test_drafts_stay_unpublished_and_scheduled_posts_are_scheduled(export, images):
    run_import(export, images)
    draft = ArticlePage.objects.get(slug="draft-ferries")
    assert not draft.live
    assert draft.latest_revision is not None
    weir = ArticlePage.objects.get(slug="weir-story")
    assert not weir.live
    assert weir.go_live_at.isoformat() == "2031-03-01T08:00:00+00:00"
    assert weir.scheduled_revision is not None


def test_scripts_event_handlers_and_javascript_links_never_get_in(export, images, client):
    run_import(export, images)
    page = ArticlePage.objects.get(slug="bad-markup")
    stored = json.dumps(list(page.body.raw_data))
    for bad in ("<script", "onclick", "javascript:", "steal()", "alert("):
        assert bad not in stored
    html = client.get(page.url).content.decode()
    assert "Clean words." in html
    assert "steal()" not in html and "javascript:alert" not in html


def test_readers_with_labels_newsletters_and_a_comp_with_expiry(export, images):
    run_import(export, images)
    User = get_user_model()
    free = User.objects.get(email="free.reader@example.com")
    assert free.full_name == "Fenna Free"
    assert free.date_joined.isoformat() == "2023-01-15T10:00:00+00:00"
    assert not free.has_usable_password()
    assert free.wants_newsletter
    data = ImportedObject.objects.get(source="ghost", kind="reader", source_id="m1").data
    assert data["labels"] == ["VIP", "Fair 2023"]
    assert data["note"] == "Met at the fair"
    assert data["newsletters"] == ["n2"]
    comp = Subscription.objects.get(member__email="comp@example.com")
    assert comp.status == Subscription.Status.COMPLIMENTARY
    assert comp.ends_at.isoformat() == "2030-06-30T00:00:00+00:00"
    assert comp.plan.code == "digital"
    # Invalid and duplicate emails are skipped and reported.
    assert not User.objects.filter(email="not-an-email").exists()
    assert User.objects.filter(email__iexact="free.reader@example.com").count() == 1


def test_each_readers_choice_per_newsletter_comes_across(export, images, tmp_path):
    from masthead.mailings.models import ConsentEvent, Newsletter, NewsletterSubscription

    run_import(export, images)
    weekly = Newsletter.objects.get(slug="weekly")
    storms = Newsletter.objects.get(name="Storm Warnings")
    assert not weekly.default_on and not storms.default_on

    def choices(email):
        return {
            choice.newsletter.slug: choice.subscribed
            for choice in NewsletterSubscription.objects.filter(member__email=email)
        }

    assert choices("free.reader@example.com") == {"weekly": False, "storms": True}
    assert choices("paid@example.com") == {"weekly": True, "storms": False}
    assert set(NewsletterSubscription.objects.values_list("source", flat=True).distinct()) == {
        NewsletterSubscription.Source.IMPORT
    }
    events = ConsentEvent.objects.count()
    assert events == NewsletterSubscription.objects.count()

    # The same export again changes nothing; a reader who changed their
    # choices at the old site since then gets the new ones, with an audit row.
    newsletters = Newsletter.objects.count()
    run_import(export, images)
    assert Newsletter.objects.count() == newsletters
    assert ConsentEvent.objects.count() == events
    data = build_export()
    joins = data["db"][0]["data"]["members_newsletters"]
    joins[:] = [row for row in joins if row["member_id"] != "m1"] + [
        {"id": "mn9", "member_id": "m1", "newsletter_id": "n1"}
    ]
    changed = tmp_path / "changed.ghost.json"
    changed.write_text(json.dumps(data))
    run_import(changed, images)
    assert choices("free.reader@example.com") == {"weekly": True, "storms": False}
    assert ConsentEvent.objects.count() == events + 2


def test_staff_with_admin_access_get_an_account_without_a_password(export, images):
    run_import(export, images)
    User = get_user_model()
    mara = User.objects.get(email="mara@saltmere.example")
    assert mara.is_staff
    assert not mara.has_usable_password()
    assert not User.objects.filter(email="tomasz@saltmere.example").exists()


def test_without_stripe_keys_a_paid_member_is_reported_not_linked(export, images, settings):
    settings.STRIPE_SECRET_KEY = ""
    report = run_import(export, images)
    assert not Subscription.objects.filter(member__email="paid@example.com").exists()
    assert any(
        p["record"] == "m2" and "Stripe is not configured" in p["message"] for p in report.problems
    )


def test_a_rerun_creates_no_duplicates_and_a_changed_post_gets_a_new_revision(tmp_path, images):
    path = write_export(tmp_path / "export.json")
    run_import(path, images)
    page = ArticlePage.objects.get(slug="harbour-master")
    revisions = page.revisions.count()
    counts = (
        ArticlePage.objects.count(),
        Author.objects.count(),
        get_user_model().objects.count(),
        CreditedImage.objects.count(),
        Subscription.objects.count(),
    )

    again = run_import(path, images)
    assert again.counts["post"] == {"created": 0, "updated": 0, "skipped": 7}
    # The invalid and the repeated email are skipped each time.
    assert again.counts["reader"] == {"created": 0, "updated": 0, "skipped": 5}

    write_export(path, harbour_title="The Harbour Master's Tide Tables, Corrected")
    changed = run_import(path, images)
    assert changed.counts["post"] == {"created": 0, "updated": 1, "skipped": 6}
    page.refresh_from_db()
    assert page.title == "The Harbour Master's Tide Tables, Corrected"
    assert page.revisions.count() == revisions + 1
    assert (
        ArticlePage.objects.count(),
        Author.objects.count(),
        get_user_model().objects.count(),
        CreditedImage.objects.count(),
        Subscription.objects.count(),
    ) == counts


def test_missing_images_are_listed_not_fatal(export):
    report = run_import(export)  # no images folder, no fetching
    assert ArticlePage.objects.filter(slug="harbour-master").exists()
    missing = {src for _, src, _ in report.missing_images}
    assert "/content/images/2024/05/harbour.png" in missing
    assert "/content/images/2024/05/ledger.png" in missing
    page = ArticlePage.objects.get(slug="harbour-master")
    # The caption of a missing picture is kept as text.
    assert "<p><i>Low water at Saltmere, April.</i></p>" in [
        b.value.source for b in page.body if b.block_type == "paragraph"
    ]


# Malformed files ------------------------------------------------------------------


def assert_stops(path, expected, members=None):
    with pytest.raises(CommandError) as error:
        args = [str(path)] + (["--members", str(members)] if members else [])
        call_command("import_ghost", *args)
    message = str(error.value)
    assert message.startswith("Nothing was imported.")
    assert expected in message
    assert not ArticlePage.objects.exists()
    assert not ImportedObject.objects.exists()
    assert not get_user_model().objects.exists()


def test_bad_json_stops_before_anything_is_written(tmp_path):
    path = tmp_path / "broken.json"
    text = json.dumps(build_export())
    path.write_text(text[: len(text) // 2])  # cut off mid-file, after some posts
    assert_stops(path, "broken.json: not valid JSON")


def test_an_unknown_version_stops(tmp_path):
    path = write_export(tmp_path / "old.json", version="1.2.0")
    assert_stops(path, "field meta.version: Ghost version 1.2.0 is not one this importer reads")


def test_a_file_that_is_not_a_ghost_export_stops(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"posts": []}))
    assert_stops(path, "not a Ghost export: no db[0].data")


def test_a_broken_lexical_body_names_the_record_and_field(tmp_path):
    data = build_export()
    data["db"][0]["data"]["posts"][1]["lexical"] = '{"root": '
    path = tmp_path / "lexical.json"
    path.write_text(json.dumps(data))
    assert_stops(path, "record p2, field lexical: lexical body cannot be read")


def test_a_members_csv_with_wrong_columns_stops(export, tmp_path):
    members = tmp_path / "members.csv"
    members.write_text("name,address\nAda,1 Main St\n")
    assert_stops(
        export,
        "members.csv, line 1, field email: not a Ghost members CSV: no email column",
        members,
    )


def test_a_members_csv_row_with_extra_values_stops(export, tmp_path):
    members = tmp_path / "members.csv"
    members.write_text("email,name\nada@example.com,Ada\nbob@example.com,Bob,extra\n")
    assert_stops(
        export, "members.csv, line 3, record bob@example.com: more values than columns", members
    )


def test_a_failure_mid_import_keeps_whole_batches_and_the_run_resumes(export, images, monkeypatch):
    from masthead.imports.writer import Writer

    parser = GhostParser(export)
    options = ImportOptions(images_dir=str(images), fetch_images=False, batch_size=2)
    run = ImportRun.objects.create(importer="ghost", report=plan_import(parser, options).as_dict())
    fill_page = Writer.fill_page

    def crash_on_ferries(self, page, record):
        if record.slug == "ferry-timetables":
            raise RuntimeError("disk full")
        return fill_page(self, page, record)

    monkeypatch.setattr(Writer, "fill_page", crash_on_ferries)
    with pytest.raises(RuntimeError):
        write_import(parser, run, options)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.FAILED
    assert run.error == "RuntimeError: disk full"
    # Records 1-8 (section, authors, newsletters, plan, p1, p2) committed;
    # the batch with p3 and p4 rolled back whole.
    assert run.position == 8
    assert run.report["stopped_at"].startswith("after record 8 of ")
    assert set(ArticlePage.objects.values_list("slug", flat=True)) == {
        "harbour-master",
        "the-river-ledger",
    }

    monkeypatch.setattr(Writer, "fill_page", fill_page)
    resumed = write_import(
        GhostParser(export),
        run,
        ImportOptions(images_dir=str(images), fetch_images=False, batch_size=2),
    )
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert resumed.counts["post"] == {"created": 5, "updated": 0, "skipped": 0}
    assert ArticlePage.objects.count() == 7
    assert [a.name for a in ArticlePage.objects.get(slug="orchard-accounts").authors] == [
        "Mara Quill"
    ]


def test_members_come_from_the_members_csv_when_given(export, images, tmp_path):
    from tests.imports.ghost_export import members_csv

    members = tmp_path / "members.csv"
    members.write_text(
        members_csv(
            [
                {
                    "id": "m1",
                    "email": "csv.reader@example.com",
                    "name": "Cass Vee",
                    "subscribed_to_emails": "true",
                    "labels": "VIP, Print",
                    "created_at": "2022-07-01T00:00:00.000Z",
                },
                {
                    "id": "m3",
                    "email": "comp@example.com",
                    "name": "Cora Comp",
                    "complimentary_plan": "true",
                    "tiers": "Supporter",
                },
                {"id": "m9", "email": "gone@example.com", "deleted_at": "2024-01-01T00:00:00.000Z"},
            ]
        )
    )
    parser = GhostParser(export, members=members)
    options = ImportOptions(images_dir=str(images), fetch_images=False)
    run = ImportRun.objects.create(importer="ghost", report=plan_import(parser, options).as_dict())
    write_import(parser, run, options)
    User = get_user_model()
    assert set(User.objects.filter(is_staff=False).values_list("email", flat=True)) == {
        "csv.reader@example.com",
        "comp@example.com",
    }
    reader = User.objects.get(email="csv.reader@example.com")
    assert reader.wants_newsletter
    data = ImportedObject.objects.get(kind="reader", source_id="m1").data
    assert data["labels"] == ["VIP", "Print"]
    # The JSON's members_products gives the comp its expiry.
    comp = Subscription.objects.get(member__email="comp@example.com")
    assert comp.ends_at.isoformat() == "2030-06-30T00:00:00+00:00"
