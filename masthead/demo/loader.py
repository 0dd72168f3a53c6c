"""Put the demo magazine into the database, as an editor would have built it.

Pages are created in the page tree and published through revisions; only the
dates are then set back to the ones the articles carry, so the demo looks like
a magazine with a history. The whole load is one transaction: a failure leaves
the database as it was.

Saving pages one by one would queue a search-index task and a reference-index
task per save (several per article); instead both indexes are muted during the
load and each object is indexed once at the end.

Publishing a page here fires Wagtail's page_published signal (which queues each
article's narration) but not the admin's after_publish_page hook, which is what
queues an issue's editions when an editor publishes it; so the loader queues the
published issues' EPUB and PDF builds itself, to run in the task worker after
the load commits.
"""

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import partial
from pathlib import Path
from time import monotonic

from django.core.files.images import ImageFile
from django.db import transaction
from django.db.models import Q
from wagtail.models import Collection, Page, Site

from masthead.core.indexing import index_objects, quiet_indexing
from masthead.core.models import MagazineSettings
from masthead.editions.actions import schedule_edition_builds
from masthead.issues.models import IssueArticle, IssueIndexPage, IssuePage
from masthead.newsroom.models import (
    ArticleByline,
    ArticlePage,
    Author,
    CreditedImage,
    SectionPage,
)
from masthead.newsroom.site_tree import ensure_site_tree

from . import images
from .catalogue import (
    AUTHORS,
    COLLECTION_NAME,
    ISSUES,
    MAGAZINE_NAME,
    PUBLISHER,
    SECTION_ORDER,
    TAGLINE,
    VOLUME,
    DemoIssue,
)
from .parser import DemoArticle, collection_problems, parse_articles_dir, rule_problems

DEFAULT_ARTICLES_DIR = Path(__file__).resolve().parent / "articles"
PUBLISH_TIME = time(9, 0, tzinfo=UTC)
STUDIO_CREDIT = "Illustration: Meridian Review Studio"


class DemoLoadError(Exception):
    """The demo cannot be loaded as asked (no files, or content in the way)."""


@dataclass
class LoadSummary:
    articles: int = 0
    issues: int = 0
    authors: int = 0
    images: int = 0
    warnings: list[str] = field(default_factory=list)

    def __str__(self):
        return (
            f"{self.articles} articles, {self.issues} issues, "
            f"{self.authors} authors, {self.images} images"
        )


def at_publish_time(day):
    return datetime.combine(day, PUBLISH_TIME)


def long_date(day):
    return f"{day:%B} {day.day}, {day.year}"


def demo_collection():
    collection = Collection.objects.filter(name=COLLECTION_NAME).first()
    if collection is None:
        collection = Collection.get_first_root_node().add_child(name=COLLECTION_NAME)
    return collection


def reset_demo():
    """Delete the demo's issues, articles, authors and images; keep the site tree.

    Demo content is recognised by what only the demo makes: articles bylined by
    a demo author or illustrated from the demo collection, the demo's issue
    numbers, the demo authors' slugs, and the images in the demo collection.
    """
    author_slugs = [author.slug for author in AUTHORS]
    collection = Collection.objects.filter(name=COLLECTION_NAME).first()
    demo_articles = Q(bylines__author__slug__in=author_slugs)
    if collection is not None:
        demo_articles |= Q(lead_image__collection=collection)
    issue_numbers = [issue.number for issue in ISSUES]
    issues = IssuePage.objects.filter(volume=VOLUME, number__in=issue_numbers)
    for page in [*issues, *ArticlePage.objects.filter(demo_articles).distinct()]:
        page.delete()
    Author.objects.filter(slug__in=author_slugs).delete()
    if collection is not None:
        CreditedImage.objects.filter(collection=collection).delete()


def load_demo(articles_dir=DEFAULT_ARTICLES_DIR, *, reset=False, log=None):
    """Load the demo from `articles_dir`. Raises ArticleFormatError or DemoLoadError."""
    log = log or (lambda message: None)
    articles = parse_articles_dir(articles_dir)
    if not articles:
        raise DemoLoadError(f"No article files (*.txt) in {articles_dir}.")
    warnings = [problem for article in articles for problem in rule_problems(article)]
    warnings += collection_problems(articles, sorted({a.issue for a in articles}))
    if not reset and ArticlePage.objects.exists():
        raise DemoLoadError(_IN_THE_WAY)
    issues = plan_issues(articles)
    # Drawing takes about half the time and needs no database, so it runs before the
    # transaction opens, on a few threads (Pillow releases the GIL while it works).
    started = monotonic()
    pictures = render_pictures(picture_jobs(articles, issues))
    log(f"Drew {len(pictures)} pictures in {monotonic() - started:.1f}s.")
    with transaction.atomic(), quiet_indexing():
        if reset:
            reset_demo()
            log("Removed the previous demo content.")
        elif ArticlePage.objects.exists():
            raise DemoLoadError(_IN_THE_WAY)
        builder = _DemoBuilder(pictures, log)
        builder.build(articles, issues)
        index_objects(builder.to_index())
        for issue in builder.published_issues:
            schedule_edition_builds(issue)
    builder.summary.warnings = warnings
    return builder.summary


_IN_THE_WAY = (
    "The database already has articles; use --reset to replace the demo "
    "or --if-empty to leave it alone."
)


@dataclass
class IssuePlan:
    """An issue as it will be built: title, contents in order, cover story, cover lines."""

    demo: DemoIssue
    title: str
    articles: list[DemoArticle]
    lead: DemoArticle | None
    cover_lines: list[str]

    @property
    def label(self):
        return f"Vol. {VOLUME}, No. {self.demo.number}"


def plan_issues(articles):
    """The catalogue's issues that have articles, plus the draft ones (which have none)."""
    plans = []
    for demo in ISSUES:
        in_issue = [a for a in articles if a.issue == demo.number]
        if demo.published and not in_issue:
            continue
        in_issue.sort(key=lambda a: (SECTION_ORDER.index(a.section), a.order))
        lead = min(in_issue, key=lambda a: a.order) if in_issue else None
        if lead is None or demo.lead == lead.slug:
            title = demo.title or f"Vol. {VOLUME}, No. {demo.number}"
        else:
            title = lead.title
        plans.append(IssuePlan(demo, title, in_issue, lead, cover_lines(in_issue, lead)))
    return plans


def cover_lines(articles, lead, most=4):
    """Headlines for the cover: one per section where possible, the cover story aside."""
    others = [a for a in articles if a is not lead]
    chosen, seen = [], set()
    for article in others:
        if article.section not in seen:
            chosen.append(article)
            seen.add(article.section)
    chosen += [a for a in others if a not in chosen]
    chosen = sorted(chosen[:most], key=lambda a: (SECTION_ORDER.index(a.section), a.order))
    return [article.title for article in chosen]


def picture_jobs(articles, issues):
    """Every picture the demo needs, keyed by what it illustrates, as a callable."""
    jobs = {}
    for author in AUTHORS:
        jobs["author", author.slug] = partial(images.portrait_picture, author.name, author.colour)
    for article in articles:
        lead = article.image
        seed = images.seed_for(article.slug, "lead", lead.description)
        jobs["lead", article.path] = partial(
            images.lead_picture, seed, article.section, lead.description
        )
        for number, figure in enumerate(article.figures(), start=1):
            seed = images.seed_for(article.slug, "figure", number, figure.description)
            jobs["figure", article.path, number] = partial(
                images.figure_picture, seed, article.section, figure.description
            )
    for plan in issues:
        if plan.lead is None:
            continue
        jobs["cover", plan.demo.number] = partial(
            images.cover_picture,
            seed=images.seed_for("cover", VOLUME, plan.demo.number),
            section=plan.lead.section,
            description=plan.lead.image.description,
            magazine=MAGAZINE_NAME,
            label=plan.label,
            date_text=long_date(plan.demo.cover_date),
            title=plan.title,
            cover_lines=plan.cover_lines,
        )
    return jobs


def render_pictures(jobs):
    """Draw every job and encode it as JPEG: {key: bytes}."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = {
            key: pool.submit(lambda job: images.jpeg_bytes(job()), job) for key, job in jobs.items()
        }
        return {key: future.result() for key, future in futures.items()}


class _DemoBuilder:
    def __init__(self, pictures, log):
        self.pictures = pictures
        self.log = log
        self.summary = LoadSummary()
        self.created = []
        self.published_issues = []

    def build(self, articles, issues):
        self.home = ensure_site_tree()
        self.configure_site()
        self.collection = demo_collection()
        self.sections = {section.slug: section for section in SectionPage.objects.all()}
        self.authors = {author.slug: self.create_author(author) for author in AUTHORS}
        pages = {article.path: self.create_article(article) for article in articles}
        self.log(f"Created {len(pages)} articles.")
        for plan in issues:
            self.create_issue(plan, pages)
        # The newsletters live in the mailings app (above core): imported here only.
        from masthead.mailings.demo import create_demo_newsletters

        self.log(f"Newsletters: {', '.join(n.name for n in create_demo_newsletters())}.")

    def configure_site(self):
        site = Site.objects.get(is_default_site=True)
        if site.site_name in ("", "Home"):
            site.site_name = MAGAZINE_NAME
            site.save()
        magazine = MagazineSettings.for_site(site)
        magazine.name = MAGAZINE_NAME
        magazine.publisher = PUBLISHER
        magazine.save()
        home = self.home
        if home.tagline != TAGLINE:
            home.tagline = TAGLINE
            home.save_revision().publish()

    def to_index(self):
        pages = Page.objects.descendant_of(self.home, inclusive=True).specific()
        return [*self.created, *pages]

    def save_image(self, key, file_name, title, caption, credit):
        data = self.pictures[key]
        image = CreditedImage(
            title=_clip(title, 255),
            caption=_clip(caption, 500),
            credit=_clip(credit, 200),
            collection=self.collection,
            file=ImageFile(io.BytesIO(data), name=f"demo-{file_name}.jpg"),
            file_size=len(data),
            file_hash=hashlib.sha1(data).hexdigest(),
        )
        image.save()
        self.created.append(image)
        self.summary.images += 1
        return image

    def create_author(self, demo):
        photo = self.save_image(
            ("author", demo.slug),
            f"author-{demo.slug}",
            f"Portrait illustration for {demo.name}",
            demo.name,
            STUDIO_CREDIT,
        )
        author = Author.objects.create(
            name=demo.name, slug=demo.slug, job_title=demo.job_title, bio=demo.bio, photo=photo
        )
        self.created.append(author)
        self.summary.authors += 1
        return author

    def body_blocks(self, article):
        blocks = []
        number = 0
        for kind, value in article.body:
            if kind == "figure":
                number += 1
                image = self.save_image(
                    ("figure", article.path, number),
                    f"{article.slug}-figure-{number}",
                    value.description,
                    value.caption,
                    value.credit,
                )
                value = {"image": image, "caption": value.caption, "credit": value.credit}
            blocks.append((kind, value))
        return blocks

    def create_article(self, article):
        lead = article.image
        lead_image = self.save_image(
            ("lead", article.path),
            f"{article.slug}-lead",
            lead.description,
            lead.caption,
            lead.credit,
        )
        published_at = at_publish_time(article.date)
        page = ArticlePage(
            title=article.title,
            slug=article.slug,
            dek=article.dek,
            date=published_at,
            lead_image=lead_image,
            body=self.body_blocks(article),
            access_level=article.access,
            correction=article.correction,
            live=False,
        )
        for position, slug in enumerate(article.authors):
            page.bylines.add(ArticleByline(author=self.authors[slug], sort_order=position))
        page.tags.add(*article.tags)
        self.sections[article.section].add_child(instance=page)
        revision = page.save_revision()
        revision.publish()
        dates = {
            "date": published_at,
            "first_published_at": published_at,
            "last_published_at": published_at,
            "latest_revision_created_at": published_at,
        }
        if article.correction:
            # A correction comes after publication and republishes the page.
            corrected_at = datetime.combine(
                article.date + timedelta(days=2), time(15, 0, tzinfo=UTC)
            )
            dates.update(corrected_at=corrected_at, last_published_at=corrected_at)
        ArticlePage.objects.filter(pk=page.pk).update(**dates)
        type(revision).objects.filter(pk=revision.pk).update(created_at=published_at)
        self.summary.articles += 1
        return page

    def create_issue(self, plan, pages):
        demo = plan.demo
        cover = None
        if ("cover", demo.number) in self.pictures:
            cover = self.save_image(
                ("cover", demo.number),
                f"cover-vol-{VOLUME}-no-{demo.number}",
                f"Cover of {MAGAZINE_NAME}, {plan.label}: {plan.title}",
                f"{plan.label}, {long_date(demo.cover_date)}",
                STUDIO_CREDIT,
            )
        issue = IssuePage(
            title=plan.title,
            slug=f"vol-{VOLUME}-no-{demo.number}",
            volume=VOLUME,
            number=demo.number,
            cover_date=demo.cover_date,
            cover_image=cover,
            cover_lines="\n".join(plan.cover_lines),
            live=False,
        )
        for position, article in enumerate(plan.articles):
            issue.contents.add(IssueArticle(article=pages[article.path], sort_order=position))
        IssueIndexPage.objects.get().add_child(instance=issue)
        revision = issue.save_revision()
        if not demo.published:
            self.log(f"Drafted {plan.label}: {plan.title}.")
            return issue
        revision.publish()
        published_at = at_publish_time(demo.cover_date)
        IssuePage.objects.filter(pk=issue.pk).update(
            first_published_at=published_at,
            last_published_at=published_at,
            latest_revision_created_at=published_at,
        )
        type(revision).objects.filter(pk=revision.pk).update(created_at=published_at)
        self.summary.issues += 1
        self.published_issues.append(issue)
        self.log(f"Published {plan.label}: {plan.title} ({len(plan.articles)} articles).")
        return issue


def _clip(text, length):
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0] + "…"
