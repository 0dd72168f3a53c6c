"""WordPress (WXR) and Leaky Paywall exports read into import records.

The export in tests/imports/data/wordpress is a made-up magazine written in
WXR 1.2 as WordPress 6 writes it (Gutenberg and classic-editor posts,
attachments, Co-Authors Plus bylines and a guest author, Leaky Paywall
visibility meta), with Leaky Paywall's Reporting Tool subscriber CSV.
"""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from masthead.imports.html import html_to_blocks
from masthead.imports.records import (
    Access,
    ImportedAuthor,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    ImportedSection,
    ImportFormatError,
    PostStatus,
    ReaderStatus,
)
from masthead.imports.wordpress import WordPressParser, php_unserialize, wordpress_html

DATA = Path(__file__).parent / "data" / "wordpress"
EXPORT = DATA / "lantern.wxr.xml"
SUBSCRIBERS = DATA / "leaky-paywall-subscribers.csv"


def read(path=EXPORT, **options):
    parser = WordPressParser(path, **options)
    parser.check()
    records = list(parser.records())
    return parser, records


def of(records, kind):
    return [record for record in records if isinstance(record, kind)]


def posts_by_id(records):
    return {post.source_id: post for post in of(records, ImportedPost)}


def test_posts_come_across_with_status_dates_bylines_and_sections():
    parser, records = read(subscribers=SUBSCRIBERS)
    posts = posts_by_id(records)
    # Only posts: not the page, the trashed post, attachments or the guest author.
    assert sorted(posts) == ["101", "102", "103", "104", "105"]

    harbour = posts["101"]
    assert harbour.title == "The harbour at dawn"
    assert harbour.slug == "the-harbour-at-dawn"
    assert harbour.dek == "A morning with the pilots who bring the boats home."
    assert harbour.status == PostStatus.PUBLISHED
    assert harbour.published_at == datetime(2026, 3, 16, 7, 30, tzinfo=UTC)
    # Co-Authors Plus order, not dc:creator's.
    assert harbour.author_ids == ["theo", "mara"]
    # Yoast's primary category is the section; the other category is a tag.
    assert harbour.section == "dispatches"
    assert harbour.tags == ["Essays", "Harbours"]
    assert harbour.meta_title == "Harbour pilots at dawn | The Lantern"
    assert harbour.meta_description == "Before sunrise with the pilots of the north harbour."
    assert harbour.old_url == "/2026/03/the-harbour-at-dawn/"
    image = harbour.feature_image
    assert image.url == "https://lantern.example/wp-content/uploads/2026/03/harbour-dawn.jpg"
    assert image.alt == "Fishing boats leaving the harbour before sunrise"
    assert image.caption == "Boats leaving on the six o'clock tide"
    assert image.credit == "Sofia Brandt"

    draft = posts["102"]
    assert draft.status == PostStatus.DRAFT
    # A draft has no GMT date in WXR; its local date stands in.
    assert draft.published_at == datetime(2026, 1, 10, 18, 0, tzinfo=UTC)
    assert draft.slug == "a-night-train-north"  # WordPress leaves drafts' slugs empty
    assert draft.old_url == ""  # never had a public address

    scheduled = posts["103"]
    assert scheduled.status == PostStatus.SCHEDULED
    assert scheduled.published_at == datetime(2031, 3, 1, 9, 0, tzinfo=UTC)

    letters = posts["104"]
    assert letters.author_ids == ["theo", "guest:ines-varga"]

    sections = {s.source_id: s for s in of(records, ImportedSection)}
    assert sections["reviews"].name == "Reviews & Notes"
    assert sections["essays"].description == "Long reads, slowly written."
    authors = {a.source_id: a for a in of(records, ImportedAuthor)}
    assert authors["mara"].name == "Mara Okafor"
    assert authors["mara"].email == "mara@lantern.example"
    assert authors["guest:ines-varga"].name == "Inès Varga"
    assert authors["guest:ines-varga"].bio == "Inès Varga keeps the letters page."
    assert parser.site_hosts == ("lantern.example", "www.lantern.example")

    # Sections, authors and plans come before the first post that names them.
    kinds = [type(record) for record in records]
    first_post = kinds.index(ImportedPost)
    assert set(kinds[:first_post]) == {ImportedSection, ImportedAuthor, ImportedPlan}

    messages = [str(problem) for problem in parser.problems]
    assert "lantern.wxr.xml: Not imported (only posts become articles): 1 pages." in messages
    assert "lantern.wxr.xml: Not imported (only posts become articles): 1 trash posts." in messages


@pytest.mark.parametrize(
    "post_id, visibility, access, plan_ids",
    [
        ("101", "only the two paid levels", Access.SUBSCRIBERS, []),
        ("102", "none (the site's restrictions)", Access.SUBSCRIBERS, []),
        ("103", "always for level 1 (a meter exception)", Access.SUBSCRIBERS, []),
        ("104", "only the free level", Access.MEMBERS, []),
        ("105", "only and always the print level", Access.PLANS, ["level-2"]),
    ],
)
def test_leaky_paywall_visibility_becomes_the_access_level(post_id, visibility, access, plan_ids):
    _, records = read(subscribers=SUBSCRIBERS)
    post = posts_by_id(records)[post_id]
    assert (post.access, post.plan_ids) == (access, plan_ids), visibility


def test_without_leaky_paywall_posts_are_public_unless_the_publisher_says_otherwise(tmp_path):
    plain = tmp_path / "plain.xml"
    plain.write_text(
        EXPORT.read_text().replace("_issuem_leaky_paywall_visibility", "_some_other_plugin")
    )
    _, records = read(plain)
    assert {post.access for post in of(records, ImportedPost)} == {Access.PUBLIC}
    _, records = read(plain, default_access=Access.MEMBERS)
    assert {post.access for post in of(records, ImportedPost)} == {Access.MEMBERS}


def test_the_more_tag_is_the_teaser_break():
    _, records = read(subscribers=SUBSCRIBERS)
    posts = posts_by_id(records)
    harbour = posts["101"]
    before = harbour.body_html[: harbour.teaser_break_at]
    after = harbour.body_html[harbour.teaser_break_at :]
    assert "What the pilots know" in before and "read a face" not in before
    assert "read a face" in after
    assert "more" not in harbour.body_html.replace("wp-block", "")
    # The classic editor's <!--more Custom text--> too.
    train = posts["102"]
    assert "tea whether you asked" in train.body_html[: train.teaser_break_at]
    assert "vimeo.com" in train.body_html[train.teaser_break_at :]
    assert posts["103"].teaser_break_at is None


def blocks_of(post):
    pictures = []

    def resolve(request):
        pictures.append(request)
        return 7

    conversion = html_to_blocks(
        post.body_html, teaser_break_at=post.teaser_break_at, resolve_image=resolve
    )
    return conversion.blocks, pictures


def test_gutenberg_blocks_become_body_blocks():
    _, records = read(subscribers=SUBSCRIBERS)
    blocks, pictures = blocks_of(posts_by_id(records)["101"])
    assert [block["type"] for block in blocks] == [
        "paragraph",
        "heading",
        "figure",
        "teaser_break",
        "block_quote",
        "paragraph",  # the list
        "horizontal_rule",
        "code",
        "embed",
        "paragraph",
    ]
    assert blocks[1]["value"] == "What the pilots know"
    assert blocks[2]["value"]["caption"] == "The six o'clock tide, seen from the lighthouse steps"
    # The credit WordPress keeps in the picture's metadata.
    assert blocks[2]["value"]["credit"] == "Sofia Brandt"
    # The resized copy in the post is swapped for the attachment's original.
    assert pictures[0].src == "https://lantern.example/wp-content/uploads/2026/03/harbour-dawn.jpg"
    assert blocks[4]["value"] == {
        "text": "You read the water the way other people read a face.",
        "attribution": "Jonas Hale, harbour pilot",
    }
    assert blocks[5]["value"] == (
        "<ul><li>Tide tables, pinned by the door</li><li>A thermos, always</li></ul>"
    )
    assert blocks[7]["value"]["code"] == "HW 06:12  4.8m\nLW 12:31  0.9m"
    assert blocks[8]["value"]["url"] == "https://www.youtube.com/watch?v=lantern001"
    assert "<!--" not in str(blocks)


def test_classic_posts_get_their_paragraphs_captions_and_embeds():
    parser, records = read(subscribers=SUBSCRIBERS)
    blocks, pictures = blocks_of(posts_by_id(records)["102"])
    assert [block["type"] for block in blocks] == [
        "paragraph",
        "figure",
        "paragraph",
        "teaser_break",
        "embed",
        "paragraph",
        "paragraph",
    ]
    assert blocks[0]["value"] == (
        "<p>The sleeper leaves at ten past nine, and by Perth the corridor smells of "
        "<i>toast</i> and diesel.</p>"
    )
    assert blocks[1]["value"]["caption"] == "Berth 14, made up for the night"
    assert pictures[0].alt == "A folded-down berth with a tartan blanket"
    assert blocks[2]["value"] == (
        "<p>The attendant knocks twice.<br>\nHe brings tea whether you asked or not.</p>"
    )
    assert blocks[4]["value"]["url"] == "https://vimeo.com/lantern002"
    # A plugin's shortcode is kept where the editor will see it, and reported.
    assert blocks[5]["value"] == '<p>[contact-form-7 id="12" title="Letters"]</p>'
    # No script, no javascript: link.
    assert blocks[6]["value"] == "<p><a>Write to us</a> about your own journey.</p>"
    assert any(
        problem.record == "post 102" and "[contact-form-7]" in problem.message
        for problem in parser.problems
    )


def test_leaky_paywall_subscribers_become_readers_and_levels_plans():
    parser, records = read(subscribers=SUBSCRIBERS)
    plans = {plan.source_id: plan for plan in of(records, ImportedPlan)}
    assert sorted(plans) == ["level-1", "level-2"]  # level 0 is free
    assert plans["level-1"].name == "Digital"
    assert plans["level-1"].stripe_price_ids == ["price_LINKED"]

    readers = {reader.email: reader for reader in of(records, ImportedReader)}
    assert sorted(readers) == [
        "gulls@readers.example",
        "kofi@readers.example",
        "lapsed@readers.example",
        "pilotfan@readers.example",
        "wren.castillo@readers.example",
    ]
    free = readers["pilotfan@readers.example"]
    assert (free.status, free.name, free.plan_id) == (ReaderStatus.FREE, "Ada Marsh", "")
    assert free.created_at == datetime(2025, 2, 3, 10, 11, 12, tzinfo=UTC)

    paid = readers["wren.castillo@readers.example"]
    assert paid.status == ReaderStatus.PAID
    assert (paid.stripe_customer_id, paid.stripe_subscription_id) == ("cus_LINKED", "sub_LINKED")
    assert (paid.plan_id, paid.stripe_price_id) == ("level-1", "price_LINKED")

    comp = readers["kofi@readers.example"]
    assert comp.status == ReaderStatus.COMP
    assert comp.expires_at == datetime(2030, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert comp.plan_id == "level-1"

    lapsed = readers["lapsed@readers.example"]
    assert lapsed.status == ReaderStatus.FREE
    assert lapsed.labels == ["Lapsed: Digital + Print"]

    # Paid through PayPal: Masthead cannot take the payments over, so the
    # reader keeps access to the date they paid for.
    paypal = readers["gulls@readers.example"]
    assert (paypal.status, paypal.plan_id) == (ReaderStatus.COMP, "level-2")
    assert paypal.expires_at == datetime(2030, 12, 31, tzinfo=UTC)

    problems = [str(problem) for problem in parser.problems]
    assert (
        "leaky-paywall-subscribers.csv, line 6, field user_email: "
        "'not-an-address' is not an email address; skipped."
    ) in problems
    assert (
        "leaky-paywall-subscribers.csv, line 7, field user_email: "
        "wren.castillo@readers.example appears again; the first row is kept."
    ) in problems


def test_the_older_subscriber_export_is_read_too(tmp_path):
    older = tmp_path / "export.csv"
    older.write_text(
        "Email,First Name,Last Name,Username,Level,Subscriber ID,Plan,Gateway,"
        "Payment Status,Created,Expires\n"
        "tern@readers.example,Tern,Reed,tern,Digital,cus_OLDER,price_OLDER,stripe,active,"
        "2025-01-02,2030-01-02\n"
    )
    _, records = read(subscribers=older)
    [reader] = of(records, ImportedReader)
    assert (reader.email, reader.status, reader.stripe_customer_id) == (
        "tern@readers.example",
        ReaderStatus.PAID,
        "cus_OLDER",
    )
    [plan] = of(records, ImportedPlan)
    assert (plan.name, plan.stripe_price_ids) == ("Digital", ["price_OLDER"])


def test_reading_twice_gives_the_same_records():
    parser, first = read(subscribers=SUBSCRIBERS)
    first_problems = list(parser.problems)
    assert list(parser.records()) == first
    assert parser.problems == first_problems


def test_php_serialized_meta():
    value = php_unserialize(
        'a:3:{s:4:"type";s:4:"only";s:6:"levels";a:2:{i:0;s:1:"1";i:1;i:2;}s:5:"price";d:8.5;}'
    )
    assert value == {"type": "only", "levels": {"0": "1", "1": 2}, "price": 8.5}
    assert php_unserialize('s:5:"Inès";') == "Inès"  # lengths count bytes
    with pytest.raises(ValueError):
        php_unserialize('O:8:"stdClass":0:{}')


def test_wordpress_html_keeps_code_untouched():
    body, at, problems = wordpress_html('<pre><code>[gallery ids="1,2"]</code></pre>')
    assert body == '<pre><code>[gallery ids="1,2"]</code></pre>'
    assert (at, problems) == (None, [])


# Malformed files: a clear error naming the file, the line or record and the
# field, raised by check() or records() before the writer writes anything.


def failure(path=EXPORT, **options):
    parser = WordPressParser(path, **options)
    with pytest.raises(ImportFormatError) as caught:
        parser.check()
        list(parser.records())
    return caught.value.problem


def test_bad_xml_names_the_line(tmp_path):
    broken = tmp_path / "broken.xml"
    lines = EXPORT.read_text().splitlines()
    at = lines.index("\t\t<title><![CDATA[A night train north]]></title>")
    lines[at] = lines[at].replace("</title>", "</titel>")
    broken.write_text("\n".join(lines))
    problem = failure(broken)
    assert problem.line == at + 1
    assert str(problem).startswith(f"broken.xml, line {at + 1}: Not well-formed XML")


def test_an_unknown_wxr_version_is_refused(tmp_path):
    future = tmp_path / "future.xml"
    future.write_text(EXPORT.read_text().replace("<wp:wxr_version>1.2<", "<wp:wxr_version>2.0<"))
    problem = failure(future)
    assert problem.field == "wp:wxr_version"
    assert "Unknown WXR version '2.0'" in problem.message


def test_an_rss_feed_that_is_not_an_export_is_refused(tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>A feed</title>'
        "<item><title>Post</title></item></channel></rss>"
    )
    problem = failure(feed)
    assert problem.field == "wp:wxr_version"
    assert "Not a WordPress export" in problem.message


def test_entities_are_refused(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">]>'
        "<rss><channel><title>&a;</title></channel></rss>"
    )
    problem = failure(bomb)
    assert "Refused" in problem.message


def test_a_bad_post_date_names_the_post_and_field(tmp_path):
    bad = tmp_path / "bad-date.xml"
    bad.write_text(
        EXPORT.read_text().replace(
            "<wp:post_date_gmt><![CDATA[2031-03-01 09:00:00]]>",
            "<wp:post_date_gmt><![CDATA[first of March]]>",
        )
    )
    problem = failure(bad)
    assert (problem.record, problem.field) == ("post 103", "wp:post_date_gmt")


def test_a_subscriber_file_with_the_wrong_columns_is_refused(tmp_path):
    wrong = tmp_path / "members.csv"
    wrong.write_text("email,name,note\na@b.example,A,\n")
    problem = failure(subscribers=wrong)
    assert (Path(problem.file).name, problem.line, problem.field) == (
        "members.csv",
        1,
        "payment_status",
    )
    assert "Not Leaky Paywall's subscriber export" in problem.message


def test_a_subscriber_row_with_a_bad_date_names_line_and_field(tmp_path):
    bad = tmp_path / "subscribers.csv"
    bad.write_text(SUBSCRIBERS.read_text().replace("2030-06-30 23:59:59", "end of June"))
    problem = failure(subscribers=bad)
    assert (problem.line, problem.field) == (4, "expires")


def test_a_short_subscriber_row_names_its_line(tmp_path):
    bad = tmp_path / "subscribers.csv"
    bad.write_text(SUBSCRIBERS.read_text() + "18,short,short@readers.example\n")
    problem = failure(subscribers=bad)
    assert problem.line == 9
    assert "3 values where the header names 17" in problem.message


# The import itself: records written into Masthead by the shared writer.


def write_uploads(folder):
    """The site's wp-content/uploads folder, with the originals the export names."""
    from PIL import Image

    for relative, colour in (
        ("2026/03/harbour-dawn.jpg", (30, 50, 90)),
        ("2026/01/sleeper-berth.jpg", (120, 30, 40)),
    ):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 32), colour).save(target)
    return folder


@pytest.fixture
def uploads(tmp_path):
    return write_uploads(tmp_path / "uploads")


def run_import(path=EXPORT, uploads=None, subscribers=SUBSCRIBERS, **options):
    from masthead.imports.models import ImportRun
    from masthead.imports.writer import ImportOptions, plan_import, write_import

    parser = WordPressParser(path, uploads=uploads, subscribers=subscribers)
    opts = ImportOptions(images_dir=str(uploads or ""), fetch_images=False, **options)
    report = plan_import(parser, opts)
    run = ImportRun.objects.create(importer="wordpress", report=report.as_dict())
    return write_import(parser, run, opts)


def article(slug):
    from masthead.newsroom.models import ArticlePage

    return ArticlePage.objects.get(slug=slug)


@pytest.mark.django_db
def test_an_import_on_an_empty_database_makes_a_working_site(uploads, client):
    report = run_import(uploads=uploads)
    assert report.counts["post"] == {"created": 5, "updated": 0, "skipped": 0}
    assert report.missing_images == []

    harbour = article("the-harbour-at-dawn")
    assert harbour.live
    assert harbour.get_parent().slug == "dispatches"
    assert [author.name for author in harbour.authors] == ["Theo Lindqvist", "Mara Okafor"]
    assert sorted(harbour.tags.names()) == ["Essays", "Harbours"]
    assert harbour.lead_image.credit == "Sofia Brandt"
    assert harbour.lead_image_caption == "Boats leaving on the six o'clock tide"
    assert harbour.seo_title == "Harbour pilots at dawn | The Lantern"
    assert harbour.access_level == "subscribers"
    assert [block.block_type for block in harbour.body][:4] == [
        "paragraph",
        "heading",
        "figure",
        "teaser_break",
    ]
    # The inline picture is the same image as the featured one, imported once.
    assert list(harbour.body)[2].value["image"].pk == harbour.lead_image_id
    # A link to another imported post points at its new address.
    last = list(harbour.body)[-1].value.source
    assert '<a href="/reviews/letters-spring/">letters about the pilots</a>' in last

    page = client.get(harbour.url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What the pilots know" in text
    assert "read a face" not in text  # behind the teaser break
    # The old permalink redirects for good.
    old = client.get("/2026/03/the-harbour-at-dawn/")
    assert old.status_code == 301
    assert old["Location"].endswith("/dispatches/the-harbour-at-dawn/")
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_drafts_stay_unpublished_and_scheduled_posts_are_scheduled(uploads):
    run_import(uploads=uploads)
    draft = article("a-night-train-north")
    assert not draft.live
    assert draft.get_parent().slug == "essays"
    scheduled = article("spring-tides")
    assert not scheduled.live
    assert scheduled.go_live_at == datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_access_levels_and_plans_land_on_the_articles(uploads):
    run_import(uploads=uploads)
    assert article("letters-spring").access_level == "members"
    print_map = article("the-print-editions-map")
    assert print_map.access_level == "plans"
    assert [plan.code for plan in print_map.required_plans.all()] == ["digital-print"]
    letters = article("letters-spring")
    assert [author.name for author in letters.authors] == ["Theo Lindqvist", "Inès Varga"]


@pytest.mark.django_db
def test_readers_and_a_comp_with_its_expiry(uploads):
    from django.contrib.auth import get_user_model

    from masthead.billing.models import Subscription

    report = run_import(uploads=uploads)
    User = get_user_model()
    free = User.objects.get(email="pilotfan@readers.example")
    assert free.full_name == "Ada Marsh"
    assert not free.has_usable_password()
    comp = Subscription.objects.get(member__email="kofi@readers.example")
    assert comp.status == Subscription.Status.COMPLIMENTARY
    assert comp.ends_at == datetime(2030, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert comp.plan.code == "digital"
    lapsed = User.objects.get(email="lapsed@readers.example")
    assert not Subscription.objects.filter(member=lapsed).exists()
    # The paid reader needs Stripe; without keys the report says so.
    assert any(
        problem["record"] == "12" and "Stripe is not configured" in problem["message"]
        for problem in report.problems
    )
    assert not User.objects.filter(email="not-an-address").exists()
    assert User.objects.filter(email__iexact="wren.castillo@readers.example").count() == 1


@pytest.mark.django_db
def test_a_rerun_creates_no_duplicates_and_a_changed_post_gets_a_new_revision(uploads, tmp_path):
    from django.contrib.auth import get_user_model
    from wagtail.contrib.redirects.models import Redirect

    from masthead.billing.models import Subscription
    from masthead.newsroom.models import ArticlePage, Author, CreditedImage

    def counts():
        return (
            ArticlePage.objects.count(),
            Author.objects.count(),
            get_user_model().objects.count(),
            CreditedImage.objects.count(),
            Subscription.objects.count(),
            Redirect.objects.count(),
        )

    export = tmp_path / "export.xml"
    export.write_text(EXPORT.read_text())
    run_import(export, uploads=uploads)
    before = counts()
    revisions = article("the-harbour-at-dawn").revisions.count()

    again = run_import(export, uploads=uploads)
    assert again.counts["post"] == {"created": 0, "updated": 0, "skipped": 5}
    assert counts() == before

    export.write_text(
        EXPORT.read_text().replace(
            "<title><![CDATA[The harbour at dawn]]>",
            "<title><![CDATA[The harbour at first light]]>",
        )
    )
    changed = run_import(export, uploads=uploads)
    assert changed.counts["post"] == {"created": 0, "updated": 1, "skipped": 4}
    harbour = article("the-harbour-at-dawn")
    assert harbour.title == "The harbour at first light"
    assert harbour.revisions.count() == revisions + 1
    assert counts() == before


@pytest.mark.django_db
def test_the_command_dry_run_writes_nothing_and_reports(uploads, capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from masthead.imports.models import ImportedObject
    from masthead.newsroom.models import ArticlePage, Author

    call_command(
        "import_wordpress",
        str(EXPORT),
        "--uploads",
        str(uploads),
        "--subscribers",
        str(SUBSCRIBERS),
        "--dry-run",
    )
    out = capsys.readouterr().out
    assert ArticlePage.objects.count() == 0
    assert Author.objects.count() == 0
    assert get_user_model().objects.count() == 0
    assert not ImportedObject.objects.exists()
    assert "Dry run: nothing was written." in out
    assert "posts              5 created        0 updated        0 skipped" in out
    assert "readers            5 created        0 updated        0 skipped" in out
    assert "Dispatches (dispatches) → dispatches  [2 posts]" in out
    assert "price_LINKED → digital  [1 readers]" in out
    assert "'not-an-address' is not an email address; skipped." in out


@pytest.mark.django_db
def test_the_command_imports_and_a_malformed_file_stops_it(uploads, tmp_path, capsys):
    from django.core.management import CommandError, call_command

    from masthead.newsroom.models import ArticlePage

    broken = tmp_path / "broken.xml"
    broken.write_text(EXPORT.read_text().replace("</channel>", "</chanel>"))
    with pytest.raises(CommandError) as caught:
        call_command("import_wordpress", str(broken), "--uploads", str(uploads))
    assert str(caught.value).startswith("Nothing was imported. broken.xml, line ")
    assert "Not well-formed XML" in str(caught.value)
    assert ArticlePage.objects.count() == 0

    with pytest.raises(CommandError) as caught:
        call_command("import_wordpress", str(EXPORT), "--default-access", "everyone")
    assert "Unknown access level 'everyone'" in str(caught.value)

    call_command("import_wordpress", str(EXPORT), "--uploads", str(uploads))
    assert "Import finished." in capsys.readouterr().out
    assert ArticlePage.objects.count() == 5


CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def paying_customer(stripe, price_id, email):
    customer = stripe.post("/v1/customers", {"email": email})
    method = stripe.post("/v1/payment_methods", {"type": "card", "card": CARD})
    stripe.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": customer["id"]})
    stripe.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": method["id"]}},
    )
    subscription = stripe.post(
        "/v1/subscriptions", {"customer": customer["id"], "items": [{"price": price_id}]}
    )
    return customer["id"], subscription["id"]


def invoices_of(stripe, customer_id):
    return [i["id"] for i in stripe.get(f"/v1/invoices?customer={customer_id}")["data"]]


@pytest.mark.django_db
@pytest.mark.parametrize("with_subscription_id", [True, False])
def test_a_leaky_paywall_subscriber_keeps_the_stripe_subscription_and_reads_in_full(
    catalogue, stripe_live, uploads, tmp_path, with_subscription_id
):
    """Leaky Paywall's export names the Stripe customer; the subscription id is
    there only where the publisher added it to the Reporting Tool. Either way
    the reader is linked to what Stripe knows, and nothing is charged."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from masthead.access.rules import decide
    from masthead.billing.models import Subscription

    price = catalogue["digital/month"]
    customer_id, subscription_id = paying_customer(
        stripe_live, price.stripe_price_id, "wren.castillo@readers.example"
    )
    invoices = invoices_of(stripe_live, customer_id)
    subscribers = tmp_path / "subscribers.csv"
    subscribers.write_text(
        SUBSCRIBERS.read_text()
        .replace("cus_LINKED", customer_id)
        .replace("price_LINKED", price.stripe_price_id)
        .replace("sub_LINKED", subscription_id if with_subscription_id else "")
    )
    report = run_import(uploads=uploads, subscribers=subscribers)

    linked = Subscription.objects.get(member__email="wren.castillo@readers.example")
    assert (linked.stripe_customer_id, linked.stripe_subscription_id) == (
        customer_id,
        subscription_id,
    )
    assert linked.status == Subscription.Status.ACTIVE
    assert linked.plan.code == "digital"
    assert invoices_of(stripe_live, customer_id) == invoices  # no second charge
    assert not [p for p in report.problems if p["record"] == "12"]

    reader = get_user_model().objects.get(email="wren.castillo@readers.example")
    harbour = article("the-harbour-at-dawn")
    assert decide(reader, harbour)
    browser = Client()
    browser.force_login(reader)
    assert "read a face" in browser.get(harbour.url).content.decode()
    # A free reader still sees only the teaser.
    free = get_user_model().objects.get(email="pilotfan@readers.example")
    assert not decide(free, harbour)
