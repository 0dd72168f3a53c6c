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
