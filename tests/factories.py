"""Builders for test content. Everything here is published through Wagtail's
revision workflow, as an editor would."""

import io
import itertools
from datetime import date, timedelta

from django.core.files.images import ImageFile
from django.utils import timezone
from PIL import Image as PILImage

from masthead.issues.models import IssueArticle, IssueIndexPage, IssuePage
from masthead.newsroom.models import (
    ArticleByline,
    ArticlePage,
    Author,
    CreditedImage,
    SectionPage,
)

_counter = itertools.count(1)


def make_image(title="A picture", caption="A caption", credit="Test Images", size=(640, 400)):
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (120, 90, 60)).save(buffer, "JPEG")
    n = next(_counter)
    return CreditedImage.objects.create(
        title=title,
        caption=caption,
        credit=credit,
        file=ImageFile(buffer, name=f"test-{n}.jpg"),
    )


def make_author(name=None, **fields):
    n = next(_counter)
    return Author.objects.create(name=name or f"Writer {n}", **fields)


def paragraph(html):
    return ("paragraph", html)


def make_article(
    section,
    title=None,
    authors=(),
    body=None,
    publish=True,
    image=True,
    **fields,
):
    n = next(_counter)
    article = ArticlePage(
        title=title or f"Article number {n}",
        slug=f"article-{n}",
        dek=fields.pop("dek", f"The dek of article {n}."),
        body=body
        if body is not None
        else [
            paragraph(f"<p>First paragraph of article {n}.</p>"),
            paragraph('<p>Second paragraph with <a href="https://example.org/">a link</a>.</p>'),
            paragraph(f"<p>Third paragraph of article {n}.</p>"),
        ],
        lead_image=make_image() if image else None,
        live=False,
        **fields,
    )
    for position, author in enumerate(authors or [make_author()]):
        article.bylines.add(ArticleByline(author=author, sort_order=position))
    section.add_child(instance=article)
    revision = article.save_revision()
    if publish:
        revision.publish()
        article.refresh_from_db()
    return article


def make_issue(articles, volume=12, number=None, cover_date=None, publish=True, **fields):
    index = IssueIndexPage.objects.get()
    number = number or next(_counter)
    issue = IssuePage(
        title=fields.pop("title", f"Issue {number}"),
        slug=f"vol-{volume}-no-{number}",
        volume=volume,
        number=number,
        cover_date=cover_date or timezone.localdate(),
        cover_image=make_image("Cover"),
        cover_lines="The first cover line\nThe second cover line",
        live=False,
        **fields,
    )
    for position, article in enumerate(articles):
        issue.contents.add(IssueArticle(article=article, sort_order=position))
    index.add_child(instance=issue)
    revision = issue.save_revision()
    if publish:
        revision.publish()
        issue.refresh_from_db()
    return issue


def build_magazine(home):
    sections = {s.slug: s for s in SectionPage.objects.all()}
    ana = make_author("Ana Peña", job_title="Politics editor", bio="Covers Congress.")
    jose = make_author("José Ortiz", job_title="Correspondent", bio="Reports from Mexico City.")
    free = make_article(
        sections["politics"],
        title="Border talks resume",
        authors=[ana, jose],
        date=timezone.now() - timedelta(hours=5),
    )
    gated = make_article(
        sections["finance"],
        title="The bond market blinks",
        authors=[jose],
        access_level="subscribers",
        date=timezone.now() - timedelta(days=3),
    )
    draft = make_article(sections["culture"], title="An unpublished draft", publish=False)
    current = make_issue([free, gated], number=22, cover_date=date.today() - timedelta(days=3))
    older = make_issue([gated], number=2, volume=11, cover_date=date.today() - timedelta(days=400))
    return {
        "home": home,
        "sections": sections,
        "authors": [ana, jose],
        "free": free,
        "gated": gated,
        "draft": draft,
        "issue": current,
        "older_issue": older,
    }
