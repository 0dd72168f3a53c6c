"""An issue with everything an edition prints: sections, several bylines,
headings, quotes, figures with captions and credits, lists and links."""

from datetime import date

from masthead.newsroom.models import SectionPage
from tests.factories import make_article, make_author, make_image, make_issue, paragraph


def rich_body(n, link_target=None):
    figure = make_image(f"Figure {n}", caption=f"Caption of figure {n}", credit=f"Agency {n}")
    bare = make_image(f"Bare figure {n}", caption="The image's own caption", credit="Own Credit")
    link = (
        f'<a linktype="page" id="{link_target.pk}">an earlier piece</a>'
        if link_target
        else '<a href="https://example.org/a b?x=1&y=2">a source</a>'
    )
    return [
        paragraph(
            f"<p>Opening paragraph of story {n}, with <b>bold</b> &amp; <i>italic</i> words "
            f"and {link}. Ça va — “quoted” text.</p>"
        ),
        paragraph("<p>Second paragraph, before the teaser break.</p>"),
        ("teaser_break", None),
        ("heading", f"A heading in story {n} <with> & marks"),
        paragraph("<ul><li>First point</li><li>Second point with <sup>2</sup></li></ul>"),
        ("block_quote", {"text": "A line quoted\nover two lines", "attribution": "A source"}),
        ("figure", {"image": figure, "caption": "", "credit": ""}),
        paragraph("<p>" + " ".join(["Body text runs on."] * 120) + "</p>"),
        ("pull_quote", {"text": f"The pull quote of story {n}", "attribution": "Someone"}),
        ("figure", {"image": bare, "caption": "A caption chosen in the body", "credit": ""}),
        paragraph("<ol><li>One</li><li>Two</li></ol><p>Closing paragraph.</p>"),
    ]


def build_rich_issue(publish=True, number=7):
    sections = {s.slug: s for s in SectionPage.objects.all()}
    ana = make_author("Ana Peña")
    jose = make_author("José Ortiz")
    lee = make_author("Lee Chang")
    first = make_article(
        sections["politics"],
        title="Border talks resume",
        authors=[ana, jose],
        body=rich_body(1),
    )
    second = make_article(
        sections["finance"],
        title="The bond market blinks",
        authors=[jose],
        body=rich_body(2, link_target=first),
    )
    third = make_article(
        sections["politics"],
        title="A short note & a long title about the state of things",
        authors=[lee, ana, jose],
        body=[paragraph("<p>A short piece.</p>")],
        image=False,
    )
    issue = make_issue(
        [first, second, third],
        number=number,
        cover_date=date(2026, 6, 1),
        publish=publish,
        title="The summer issue",
    )
    return {"issue": issue, "articles": [first, second, third], "authors": [ana, jose, lee]}
