"""Records from any parser written into Masthead, idempotently and in batches.

An import reads the export twice. The first pass (`plan_import`) validates
everything and works out what would be created, updated and skipped, the
section mapping and the Stripe price → plan mapping: that is the dry-run
report, and a malformed file stops there, before anything is written. The
second pass (`write_import`) writes, in batches that each commit whole; the
run remembers how many records are written, so a run that stopped resumes
after its last whole batch.

Each imported object remembers its source and source id (`ImportedObject`)
with a fingerprint of the record: a re-run skips what did not change and
updates what did (a changed post gets a new revision).

Paid readers are linked to the Stripe subscription they already have, read
through `billing.stripe_api`; nothing is created on Stripe and nobody is
charged.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from masthead.core.taskqueue import enqueue_on_commit

from .models import ImportedObject, ImportRun
from .records import (
    Access,
    ImportedAuthor,
    ImportedNewsletter,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    ImportedSection,
    ImportProblem,
    PostStatus,
    ReaderStatus,
    Record,
)

if TYPE_CHECKING:
    from masthead.billing.models import Plan
    from masthead.newsroom.models import ArticlePage, SectionPage

logger = logging.getLogger(__name__)

KIND_OF = {
    ImportedSection: ImportedObject.Kind.SECTION,
    ImportedAuthor: ImportedObject.Kind.AUTHOR,
    ImportedNewsletter: ImportedObject.Kind.NEWSLETTER,
    ImportedPlan: ImportedObject.Kind.PLAN,
    ImportedPost: ImportedObject.Kind.POST,
    ImportedReader: ImportedObject.Kind.READER,
}
DEFAULT_BATCH_SIZE = 200
# Posts with no section go to the first section (by tree order) unless mapped.
NO_SECTION = ""


def fingerprint(record: Record) -> str:
    """A hash of everything the record says. Its repr names every field in
    declaration order, nested records and times included: a tenth of the
    cost of a JSON dump of `asdict`, which a re-run pays for every record."""
    return hashlib.sha1(repr(record).encode()).hexdigest()


def normalise_path(url):
    """The path of an old URL, as Wagtail's redirects keep it: no host, no
    trailing slash."""
    path = urlsplit(url).path or "/"
    return "/" + path.strip("/") if path.strip("/") else "/"


@dataclass
class Report:
    """What an import did, or would do: the dry-run report."""

    importer: str = ""
    dry_run: bool = True
    counts: dict = field(default_factory=dict)  # kind -> {created, updated, skipped}
    problems: list = field(default_factory=list)  # ImportProblem as dicts
    # section source id -> {"name", "slug" (Masthead section), "posts"}
    sections: dict = field(default_factory=dict)
    # Stripe price id -> {"plan": Masthead plan code or "", "readers": n}
    prices: dict = field(default_factory=dict)
    # imported plan (tier) source id -> {"name", "plan": Masthead plan code}
    plans: dict = field(default_factory=dict)
    missing_images: list = field(default_factory=list)  # [post source id, src, reason]
    total: int = 0
    written: int = 0
    stopped_at: str = ""  # where a failed run stopped
    error: str = ""

    def count(self, kind, outcome):
        self.counts.setdefault(kind, {"created": 0, "updated": 0, "skipped": 0})[outcome] += 1

    def add_problem(self, problem: ImportProblem):
        self.problems.append(problem.as_dict())

    def as_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in (data or {}).items() if key in names})

    def problem_lines(self):
        return [str(ImportProblem(**problem)) for problem in self.problems]


@dataclass
class ImportOptions:
    images_dir: str = ""
    fetch_images: bool = True
    batch_size: int = DEFAULT_BATCH_SIZE
    # The publisher's edits to the report's mappings.
    section_mapping: dict = field(default_factory=dict)  # source id -> section slug
    price_mapping: dict = field(default_factory=dict)  # Stripe price id -> plan code
    plan_mapping: dict = field(default_factory=dict)  # imported plan id -> plan code
    image_fetcher: Callable | None = None  # for tests: url -> (bytes, content type)
    # Pictures named by a path on this machine are read (command-line imports).
    local_files: bool = False


def _known(source):
    """{(kind, source_id): (fingerprint, object_id)} of what earlier runs imported."""
    return {
        (kind, source_id): (fp, object_id)
        for kind, source_id, fp, object_id in ImportedObject.objects.filter(
            source=source
        ).values_list("kind", "source_id", "fingerprint", "object_id")
    }


def default_plan_code(name, includes_print=False):
    from masthead.billing.models import Plan

    slug = slugify(name)
    if slug and Plan.objects.filter(code=slug).exists():
        return slug
    plans = Plan.objects.filter(includes_print=includes_print).order_by("sort_order")
    plan = plans.first() or Plan.objects.order_by("sort_order").first()
    if plan is not None:
        return plan.code
    # A fresh site gets the default plans when the import writes.
    return "digital-print" if includes_print else "digital"


def plan_import(parser, options: ImportOptions | None = None, *, progress=None) -> Report:
    """Read the whole export and report what an import would do. Writes
    nothing. Raises ImportFormatError for a malformed file."""
    from masthead.newsroom.models import SectionPage

    options = options or ImportOptions()
    parser.check()
    report = Report(importer=parser.source)
    known = _known(parser.source)
    emails: set[str] = set()
    section_slugs = dict(SectionPage.objects.values_list("slug", "title"))
    for record in parser.records():
        report.total += 1
        if progress:
            progress(report.total)
        kind = KIND_OF[type(record)]
        if isinstance(record, ImportedReader):
            problem = _reader_problem(parser, record, emails)
            if problem:
                report.add_problem(problem)
                report.count(kind, "skipped")
                continue
            if record.stripe_price_id:
                entry = report.prices.setdefault(record.stripe_price_id, {"plan": "", "readers": 0})
                entry["readers"] += 1
        elif isinstance(record, ImportedSection):
            slug = options.section_mapping.get(record.source_id) or record.slug
            report.sections[record.source_id] = {
                "name": record.name,
                "slug": slug,
                "exists": slug in section_slugs,
                "posts": 0,
            }
        elif isinstance(record, ImportedPost):
            key = record.section or NO_SECTION
            if key not in report.sections:
                report.sections[key] = {
                    "name": "(no primary tag)" if key == NO_SECTION else key,
                    "slug": options.section_mapping.get(key, ""),
                    "exists": False,
                    "posts": 0,
                }
            report.sections[key]["posts"] += 1
        elif isinstance(record, ImportedPlan):
            code = options.plan_mapping.get(record.source_id) or default_plan_code(
                record.name, record.includes_print
            )
            report.plans[record.source_id] = {"name": record.name, "plan": code}
            for price_id in record.stripe_price_ids:
                report.prices.setdefault(price_id, {"plan": "", "readers": 0})["plan"] = code
        previous = known.get((kind, record.source_id))
        if previous is None:
            report.count(kind, "created")
        elif previous[0] == fingerprint(record):
            report.count(kind, "skipped")
        else:
            report.count(kind, "updated")
    for problem in parser.problems:
        report.add_problem(problem)
    _fill_price_mapping(report, options)
    if NO_SECTION in report.sections and not report.sections[NO_SECTION]["slug"]:
        first = SectionPage.objects.order_by("path").values_list("slug", flat=True).first()
        report.sections[NO_SECTION]["slug"] = first or "news"
    for price_id, entry in report.prices.items():
        if not entry["plan"]:
            report.add_problem(
                ImportProblem(
                    file=str(parser.path),
                    record=price_id,
                    field="stripe_price_id",
                    message=(
                        "Stripe price not mapped to a Masthead plan: choose one in the "
                        "report, or its readers are imported as free members."
                    ),
                )
            )
    return report


def _fill_price_mapping(report, options):
    from masthead.billing.models import Price

    ours = dict(
        Price.objects.exclude(stripe_price_id="").values_list("stripe_price_id", "plan__code")
    )
    for price_id, entry in report.prices.items():
        entry["plan"] = (
            options.price_mapping.get(price_id) or entry["plan"] or ours.get(price_id, "")
        )


def _reader_problem(parser, record: ImportedReader, seen: set[str]) -> ImportProblem | None:
    email = (record.email or "").strip()
    file = str(parser.side_files.get("members") or parser.path)

    def problem(field_name: str, message: str) -> ImportProblem:
        return ImportProblem(
            file=file,
            line=record.line,
            record=record.source_id,
            field=field_name,
            message=message,
        )

    try:
        validate_email(email)
    except ValidationError:
        return problem("email", f"not a valid email address: {email!r}")
    key = email.lower()
    if key in seen:
        return problem(
            "email",
            f"{email} appears more than once (emails are compared ignoring case); kept the first",
        )
    seen.add(key)
    if record.status not in ReaderStatus.ALL:
        return problem("status", f"unknown status {record.status!r}")
    return None


def write_import(parser, run: ImportRun, options: ImportOptions | None = None, *, progress=None):
    """Write the export. `run` carries the confirmed report (mappings) and
    the position to resume from. Returns the final Report."""
    options = options or ImportOptions()
    report = Report.from_dict(run.report) if run.report else plan_import(parser, options)
    report.dry_run = False
    for key, entry in report.sections.items():
        options.section_mapping.setdefault(key, entry["slug"])
    for price_id, entry in report.prices.items():
        if entry["plan"]:
            options.price_mapping.setdefault(price_id, entry["plan"])
    for key, entry in report.plans.items():
        options.plan_mapping.setdefault(key, entry["plan"])
    report.counts = {}
    report.missing_images = []
    report.problems = [p for p in report.problems if p.get("field") != "import"]
    writer = Writer(parser, options, report)
    resume_from = run.position
    run.status = ImportRun.Status.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.total = report.total
    run.error = ""
    run.save(update_fields=["status", "started_at", "total", "error"])
    writer.prepare_site()
    position = 0
    batch = []
    last = None
    try:
        seen_emails: set[str] = set()
        for record in parser.records():
            position += 1
            # Readers the plan skipped (invalid, or a repeated email) are
            # skipped again, before and after the resume point alike.
            invalid = isinstance(record, ImportedReader) and _reader_problem(
                parser, record, seen_emails
            )
            if position <= resume_from:
                continue
            if invalid:
                report.count(ImportedObject.Kind.READER, "skipped")
                continue
            batch.append(record)
            if len(batch) >= options.batch_size:
                last = batch[-1]
                writer.write_batch(batch)
                _save_progress(run, position, report)
                if progress:
                    progress(position, report.total)
                batch = []
        if batch:
            last = batch[-1]
            writer.write_batch(batch)
            _save_progress(run, position, report)
            if progress:
                progress(position, report.total)
        writer.finish()
    except Exception as error:
        logger.exception("Import %s stopped", run.pk)
        report.stopped_at = f"after record {run.position} of {report.total}" + (
            f" (last whole batch ended at {last.source_id})" if last and run.position else ""
        )
        report.error = f"{error.__class__.__name__}: {error}"
        run.status = ImportRun.Status.FAILED
        run.error = report.error
        run.report = report.as_dict()
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "report", "finished_at"])
        raise
    for problem in parser.problems:
        if problem.as_dict() not in report.problems:
            report.add_problem(problem)
    report.written = run.position
    run.status = ImportRun.Status.DONE
    run.report = report.as_dict()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "report", "finished_at"])
    return report


def _save_progress(run, position, report):
    run.position = position
    report.written = position
    run.report = report.as_dict()
    run.save(update_fields=["position", "report"])


@dataclass
class Pending:
    """A record of a batch that is new or changed since the last run."""

    kind: str
    record: Record
    fingerprint: str
    object_id: int | None  # what an earlier run made of it
    known: bool  # an earlier run imported it


# A written record: what it became (object id) and what is kept with its
# ImportedObject; (None, None) when it was skipped.
Written = tuple[Pending, int | None, dict[str, Any] | None]


class Writer:
    """Turns records into Masthead objects. One instance per run."""

    def __init__(self, parser, options: ImportOptions, report: Report):
        self.parser = parser
        self.source = parser.source
        self.options = options
        self.report = report
        self.known = _known(self.source)
        self.sections: dict[str, SectionPage] = {}  # by slug
        # source id -> Author pk, with those earlier runs (or batches before
        # a resume) wrote.
        self.authors = {
            source_id: object_id
            for (kind, source_id), (_, object_id) in self.known.items()
            if kind == ImportedObject.Kind.AUTHOR
        }
        self.plans: dict[str, Plan] = {}  # by code
        # Newsletters written by this run, by source id (the batch's readers
        # need them before the batch's ImportedObject rows are written).
        self.newsletter_pks: dict[str, int] = {}
        self._old_paths: dict[str, str] | None = None
        # Per section (pk): the slugs its children have, and the path of its
        # last child, so a batch of new articles takes no tree queries.
        self.taken_slugs: dict[int, set[str]] = {}
        self.last_child_path: dict[int, str | None] = {}
        self.images: dict[str, int] = {}  # picture address -> image pk, this run
        self.default_plan: str | None = None
        # What the batch being written did: pictures its articles show, old
        # addresses of its articles, sections given new articles.
        self.page_images: set[int] = set()
        self.redirects: dict[str, ArticlePage] = {}
        self.grown_sections: dict[int, SectionPage] = {}
        self.contents: dict[int, dict[str, Any]] = {}  # page pk -> its first revision

    # Site ------------------------------------------------------------------

    def prepare_site(self):
        """What a fresh database needs to be a working magazine: the page
        tree with its sections, and plans."""
        from masthead.billing.actions import ensure_default_plans
        from masthead.billing.models import Plan
        from masthead.newsroom.models import SectionPage
        from masthead.newsroom.site_tree import ensure_site_tree

        with transaction.atomic():
            self.home = ensure_site_tree()
            ensure_default_plans()
        self.plans = {plan.code: plan for plan in Plan.objects.all()}
        self.sections = {section.slug: section for section in SectionPage.objects.all()}

    @property
    def old_paths(self) -> dict[str, str]:
        """Old path -> new address of every post in the export, for link
        rewriting: read from the export when the first post is written (a
        re-run that changes no post never reads it), by a copy of the parser,
        whose own pass is under way."""
        if self._old_paths is None:
            self._old_paths = {}
            for record in copy.copy(self.parser).records():
                if isinstance(record, ImportedPost) and record.old_url:
                    section_slug = self.section_slug_for(record)
                    self._old_paths[normalise_path(record.old_url)] = (
                        f"/{section_slug}/{slugify(record.slug) or record.source_id}/"
                    )
        return self._old_paths

    def section_slug_for(self, record: ImportedPost):
        key = record.section or NO_SECTION
        return (
            self.options.section_mapping.get(key)
            or self.report.sections.get(key, {}).get("slug", "")
            or "news"
        )

    def section(self, slug, name=""):
        from masthead.newsroom.models import AccessLevel, SectionPage

        section = self.sections.get(slug)
        if section is None:
            section = SectionPage(
                title=name or slug.replace("-", " ").title(),
                slug=slug,
                default_access_level=AccessLevel.PUBLIC,
            )
            self.home.add_child(instance=section)
            section.save_revision().publish()
            self.sections[slug] = section
        return section

    # Batches -----------------------------------------------------------------

    def write_batch(self, records: list[Record]) -> None:
        """Write one batch in one transaction. Sections, authors, plans and
        newsletters (a few) are written one by one as they come; the batch's
        posts, then its readers, in bulk."""
        posts: list[Pending] = []
        readers: list[Pending] = []
        written: list[Written] = []
        with transaction.atomic():
            for record in records:
                kind = KIND_OF[type(record)]
                fp = fingerprint(record)
                previous = self.known.get((kind, record.source_id))
                if previous is not None and previous[0] == fp:
                    self.report.count(kind, "skipped")
                    if kind == ImportedObject.Kind.AUTHOR:
                        self.authors[record.source_id] = previous[1]
                    continue
                item = Pending(kind, record, fp, previous[1] if previous else None, bool(previous))
                if kind == ImportedObject.Kind.POST:
                    posts.append(item)
                elif kind == ImportedObject.Kind.READER:
                    readers.append(item)
                else:
                    handler = getattr(self, f"write_{kind}")
                    written.append((item, *handler(record, item.object_id)))
            if posts:
                written.extend(self.write_posts(posts))
            if readers:
                written.extend(self.write_readers(readers))
            self.remember(written)

    def remember(self, written: list[Written]) -> None:
        """Each written record's ImportedObject: new ones in one insert."""
        new = []
        for item, object_id, data in written:
            if object_id is None and data is None:
                self.report.count(item.kind, "skipped")
                continue
            if item.known:
                ImportedObject.objects.filter(
                    source=self.source, kind=item.kind, source_id=item.record.source_id
                ).update(
                    object_id=object_id,
                    fingerprint=item.fingerprint,
                    data=data or {},
                    updated_at=timezone.now(),
                )
            else:
                new.append(
                    ImportedObject(
                        source=self.source,
                        kind=item.kind,
                        source_id=item.record.source_id,
                        object_id=object_id,
                        fingerprint=item.fingerprint,
                        data=data or {},
                    )
                )
            self.known[(item.kind, item.record.source_id)] = (item.fingerprint, object_id)
            self.report.count(item.kind, "updated" if item.known else "created")
        ImportedObject.objects.bulk_create(new)

    def finish(self):
        pass

    # Records -------------------------------------------------------------------

    def write_section(self, record: ImportedSection, object_id):
        slug = self.options.section_mapping.get(record.source_id) or record.slug
        section = self.section(slug, record.name)
        if object_id is None and record.description and not section.intro:
            section.intro = record.description
            section.save_revision().publish()
        return section.pk, {}

    def write_newsletter(self, record: ImportedNewsletter, object_id):
        from masthead.mailings.actions import newsletter_for_import

        newsletter = newsletter_for_import(record.name, record.slug, object_id)
        self.newsletter_pks[record.source_id] = newsletter.pk
        return newsletter.pk, {"name": record.name, "slug": record.slug}

    def imported_newsletters(self) -> dict[str, Any]:
        """{source id: Newsletter} of the export's newsletters (written before
        its readers, in this run or an earlier one)."""
        from masthead.mailings.models import Newsletter

        pks = {
            source_id: object_id
            for (kind, source_id), (_fp, object_id) in self.known.items()
            if kind == ImportedObject.Kind.NEWSLETTER and object_id
        } | self.newsletter_pks
        by_pk = Newsletter.objects.in_bulk(pks.values())
        return {source_id: by_pk[pk] for source_id, pk in pks.items() if pk in by_pk}

    def write_plan(self, record: ImportedPlan, object_id):
        code = self.options.plan_mapping.get(record.source_id) or default_plan_code(
            record.name, record.includes_print
        )
        plan = self.plans.get(code)
        return (plan.pk if plan else None), {"name": record.name, "plan": code}

    def write_author(self, record: ImportedAuthor, object_id):
        from masthead.newsroom.models import Author

        author = Author.objects.filter(pk=object_id).first() if object_id else None
        if author is None:
            slug = slugify(record.slug or record.name) or f"author-{record.source_id}"
            author = Author.objects.filter(slug=slug).first() or Author(slug=slug)
        author.name = record.name[:200]
        author.bio = record.bio
        author.job_title = record.job_title[:200]
        if record.avatar is not None and record.avatar.location and author.photo_id is None:
            author.photo_id = self.image_for(record.avatar, f"author {record.source_id}")
        author.save()
        self.authors[record.source_id] = author.pk
        if record.is_staff and record.email:
            self.staff_account(record)
        return author.pk, {}

    def staff_account(self, record: ImportedAuthor):
        from django.contrib.auth.models import Group

        User = get_user_model()
        try:
            validate_email(record.email)
        except ValidationError:
            self.problem(record.source_id, "email", f"staff email not valid: {record.email!r}")
            return
        user = User.objects.filter(email__iexact=record.email).first()
        if user is None:
            user = User.objects.create_user(email=record.email.lower(), full_name=record.name)
            user.set_unusable_password()
        user.is_staff = True
        user.save()
        editors = Group.objects.filter(name="Editors").first()
        if editors is not None:
            user.groups.add(editors)

    def write_posts(self, items: list[Pending]) -> list[Written]:
        """New articles are inserted at a tree position worked out here (no
        treebeard lookups), published ones with their revision made in one
        insert for the batch; drafts, scheduled posts and changed posts go
        through Wagtail's revisions one by one. Search, reference and
        teaser indexing wait for one task per batch after the commit. New
        published articles send no page_published: their pictures are placed
        and cached pages made stale here, once per batch, and an archive
        brought in is not narrated as if it were news."""
        from wagtail.models import Page, PageLogEntry, Revision

        from masthead.access.pictures import place_pictures
        from masthead.core.indexing import quiet_indexing
        from masthead.core.signals import pages_changed
        from masthead.newsroom.models import ArticlePage

        from .tasks import index_imported_pages

        results: list[Written] = []
        inserted: list[ArticlePage] = []
        published: list[ArticlePage] = []
        touched: list[int] = []
        self.page_images = set()
        self.redirects = {}
        self.grown_sections = {}
        with quiet_indexing():
            existing = ArticlePage.objects.in_bulk(
                [item.object_id for item in items if item.object_id]
            )
            for item in items:
                record = item.record
                assert isinstance(record, ImportedPost)
                if not record.title.strip():
                    self.problem(record.source_id, "title", "post has no title; skipped")
                    results.append((item, None, None))
                    continue
                page = existing.get(item.object_id or 0)
                if page is None:
                    page = self.insert_post(record)
                    inserted.append(page)
                    if page.live:
                        published.append(page)
                    else:
                        self.revise_post(page, record)
                else:
                    self.fill_page(page, record)
                    self.revise_post(page, record)
                touched.append(page.pk)
                self.remember_redirect(record, page)
                results.append((item, page.pk, {}))
            now = timezone.now()
            revisions = Revision.objects.bulk_create(
                [
                    Revision(
                        content_object=page,
                        base_content_type=page.get_base_content_type(),
                        object_str=str(page),
                        content=self.contents.pop(page.pk),
                        created_at=now,
                    )
                    for page in published
                ]
            )
            PageLogEntry.objects.bulk_create(
                [
                    PageLogEntry(
                        page=page,
                        content_type_id=page.content_type_id,
                        label=page.get_admin_display_title(),
                        action="wagtail.create",
                        timestamp=now,
                    )
                    for page in inserted
                ]
            )
            for page, revision in zip(published, revisions, strict=True):
                page.latest_revision = page.live_revision = revision
                page.latest_revision_created_at = now
            Page.objects.bulk_update(
                published, ["latest_revision", "live_revision", "latest_revision_created_at"]
            )
            for section in self.grown_sections.values():
                # Not get_children(): treebeard answers none for a section
                # whose numchild says it has none.
                section.numchild = Page.objects.filter(
                    path__startswith=section.path, depth=section.depth + 1
                ).count()
                Page.objects.filter(pk=section.pk).update(numchild=section.numchild)
            self.write_redirects()
        # A picture shown in a paid article is moved to private storage now,
        # not when the indexing task runs.
        place_pictures(self.page_images)
        if published:
            transaction.on_commit(partial(pages_changed.send, sender=None))
        if touched:
            enqueue_on_commit(index_imported_pages, touched)
        return results

    def insert_post(self, record: ImportedPost):
        """A new article under its section, saved once: live with its
        publication times when published, else a draft to revise."""
        from modelcluster.models import get_all_child_relations

        from masthead.newsroom.models import ArticlePage

        section = self.section(self.section_slug_for(record))
        page = ArticlePage(slug=self.free_slug(section, record))
        self.fill_page(page, record)
        page.draft_title = page.title
        page.locale_id = section.locale_id
        page.depth = section.depth + 1
        page.path = self.next_path(section)
        page.numchild = 0
        page._cached_parent_obj = section
        page.set_url_path(section)
        if record.status != PostStatus.PUBLISHED:
            page.live = False
            page.has_unpublished_changes = True
            page.save(clean=False, log_action=None)
            return page
        when = record.published_at or timezone.now()
        page.live = True
        page.has_unpublished_changes = False
        page.first_published_at = when
        page.last_published_at = record.updated_at or when
        # The revision's content is read while the page's child rows
        # (bylines, tags) are still in memory: once saved, reading them
        # again would take a query each.
        content = page.serializable_data()
        children = {
            relation: list(getattr(page, relation.get_accessor_name()).all())
            for relation in get_all_child_relations(page)
        }
        page.save(clean=False, log_action=None)
        content["pk"] = page.pk
        for relation, rows in children.items():
            name = relation.get_accessor_name()
            for data, row in zip(content.get(name, []) if rows else [], rows, strict=True):
                data["pk"] = row.pk
                data[relation.field.name] = page.pk
        self.contents[page.pk] = content
        return page

    def revise_post(self, page, record: ImportedPost):
        """A new revision of `page` through Wagtail: published, scheduled
        (publishing with a future go-live time schedules it) or a draft."""
        revision = page.save_revision(clean=False, log_action=False)
        if record.status in (PostStatus.PUBLISHED, PostStatus.SCHEDULED):
            revision.publish(log_action=False, skip_permission_checks=True)

    def fill_page(self, page, record: ImportedPost):
        from masthead.newsroom.models import AccessLevel, ArticleByline

        from .html import html_to_blocks

        where = f"post {record.source_id}"
        page.title = record.title[:255]
        page.dek = record.dek[:400]
        page.seo_title = record.meta_title[:255]
        page.search_description = record.meta_description
        page.date = record.published_at or timezone.now()
        page.access_level = record.access if record.access in AccessLevel.values else ""

        def resolve_image(request):
            image_id = self.image_for(request, where)
            if image_id is not None:
                self.page_images.add(image_id)
            return image_id

        conversion = html_to_blocks(
            record.body_html,
            teaser_break_at=record.teaser_break_at,
            resolve_image=resolve_image,
            rewrite_link=self.rewrite_link,
        )
        for src, reason in conversion.missing_images:
            if not any(m[1] == src for m in self.report.missing_images):
                self.report.missing_images.append([record.source_id, src, reason])
        page.body = conversion.blocks
        if record.feature_image is not None and record.feature_image.location:
            page.lead_image_id = resolve_image(record.feature_image)
            page.lead_image_caption = record.feature_image.caption[:500]
        bylines = [self.authors.get(source_id) for source_id in record.author_ids]
        for source_id, author_pk in zip(record.author_ids, bylines, strict=True):
            if author_pk is None:
                self.problem(record.source_id, "authors", f"unknown author {source_id}")
        page.bylines.set(
            [
                ArticleByline(author_id=author_pk, sort_order=position)
                for position, author_pk in enumerate(pk for pk in bylines if pk is not None)
            ]
        )
        page.tags.set(list(dict.fromkeys(tag[:100] for tag in record.tags if tag)))
        if record.access == Access.PLANS:
            codes = {self.options.plan_mapping.get(plan_id) for plan_id in record.plan_ids}
            page.required_plans.set([self.plans[code] for code in codes if code in self.plans])
        if record.status == PostStatus.SCHEDULED and record.published_at:
            page.go_live_at = record.published_at

    def next_path(self, section):
        """The tree path of a new last child of `section`."""
        from wagtail.models import Page

        if section.pk not in self.last_child_path:
            self.last_child_path[section.pk] = (
                Page.objects.filter(path__startswith=section.path, depth=section.depth + 1)
                .order_by("-path")
                .values_list("path", flat=True)
                .first()
            )
        self.grown_sections[section.pk] = section
        last = self.last_child_path[section.pk]
        step = Page._str2int(last[-Page.steplen :]) + 1 if last else 1
        path = Page._get_path(section.path, section.depth + 1, step)
        self.last_child_path[section.pk] = path
        return path

    def remember_redirect(self, record: ImportedPost, page):
        from wagtail.contrib.redirects.models import Redirect

        if not record.old_url:
            return
        old_path = Redirect.normalise_path(record.old_url)
        # url_path starts with the site root's slug, which addresses leave out.
        new_path = Redirect.normalise_path(page.url_path.split("/", 2)[-1])
        if old_path not in ("", "/") and old_path != new_path:
            self.redirects[old_path] = page

    def write_redirects(self):
        """The batch's old addresses → their articles (301), in two writes."""
        from wagtail.contrib.redirects.models import Redirect

        if not self.redirects:
            return
        found = {
            redirect.old_path: redirect
            for redirect in Redirect.objects.filter(site=None, old_path__in=list(self.redirects))
        }
        for old_path, redirect in found.items():
            redirect.redirect_page = self.redirects[old_path]
            redirect.is_permanent = True
            redirect.redirect_page_route_path = ""
        Redirect.objects.bulk_update(
            list(found.values()), ["redirect_page", "is_permanent", "redirect_page_route_path"]
        )
        Redirect.objects.bulk_create(
            [
                Redirect(
                    old_path=old_path,
                    site=None,
                    redirect_page=page,
                    is_permanent=True,
                    redirect_page_route_path="",
                )
                for old_path, page in self.redirects.items()
                if old_path not in found
            ]
        )

    def free_slug(self, section, record):
        from wagtail.models import Page

        taken = self.taken_slugs.get(section.pk)
        if taken is None:
            taken = set(Page.objects.child_of(section).values_list("slug", flat=True))
            self.taken_slugs[section.pk] = taken
        base = slugify(record.slug or record.title)[:200] or f"post-{record.source_id}"
        slug = base
        number = 2
        while slug in taken:
            slug = f"{base}-{number}"
            number += 1
        if slug != base:
            self.problem(
                record.source_id, "slug", f"slug {base} is taken in the section; used {slug}"
            )
        taken.add(slug)
        return slug

    def rewrite_link(self, href):
        parts = urlsplit(href)
        if parts.scheme not in ("", "http", "https"):
            return None
        if parts.netloc and parts.netloc not in getattr(self.parser, "site_hosts", ()):
            return None
        new = self.old_paths.get(normalise_path(href))
        if new is None:
            return None
        return new + (f"#{parts.fragment}" if parts.fragment else "")

    def write_readers(self, items: list[Pending]) -> list[Written]:
        """The batch's readers: members found by their earlier import or
        their email in two queries, new ones in one insert, complimentary
        grants in one; paid readers are linked one by one (each reads
        Stripe)."""
        User = get_user_model()
        readers = []
        for item in items:
            record = item.record
            assert isinstance(record, ImportedReader)
            email = record.email.strip()
            try:
                validate_email(email)
            except ValidationError:
                continue
            readers.append((item, record, email))
        by_pk = User.objects.in_bulk([item.object_id for item, _, _ in readers if item.object_id])
        # Accounts' emails are stored lower-cased (accounts.models.UserManager).
        by_email = {
            member.email.lower(): member
            for member in User.objects.filter(email__in=[email.lower() for _, _, email in readers])
        }
        new, changed, members = [], [], []
        for item, record, email in readers:
            member = by_pk.get(item.object_id or 0) or by_email.get(email.lower())
            wants_newsletter = bool(record.newsletters)
            if member is None:
                member = User(
                    email=email.lower(),
                    full_name=record.name[:200],
                    wants_newsletter=wants_newsletter,
                )
                member.set_unusable_password()
                if record.created_at:
                    member.date_joined = record.created_at
                by_email[email.lower()] = member
                new.append(member)
            elif member.wants_newsletter != wants_newsletter or (
                record.name and not member.full_name
            ):
                member.full_name = member.full_name or record.name[:200]
                member.wants_newsletter = wants_newsletter
                changed.append(member)
            members.append(member)
        User.objects.bulk_create(new)
        User.objects.bulk_update(changed, ["full_name", "wants_newsletter"])
        self.set_newsletter_choices(members, [record for _, record, _ in readers])
        subscriptions = self.grant_many(
            [
                (member, record)
                for member, (_, record, _) in zip(members, readers, strict=True)
                if record.status in (ReaderStatus.COMP, ReaderStatus.GIFT)
            ]
        )
        results: list[Written] = []
        for member, (item, record, _) in zip(members, readers, strict=True):
            data: dict[str, Any] = {
                "labels": record.labels,
                "note": record.note,
                "newsletters": record.newsletters,
                "status": record.status,
            }
            self.ship_to(member, record)
            if record.status == ReaderStatus.PAID:
                data["subscription"] = self.link_paid_reader(member, record)
            elif record.status in (ReaderStatus.COMP, ReaderStatus.GIFT):
                data["subscription"] = subscriptions.get(member.pk)
            results.append((item, member.pk, data))
        return results

    def set_newsletter_choices(self, members, records: list[ImportedReader]) -> None:
        """Each reader's choice for each of the export's newsletters: in for
        those they received, out of the others."""
        from masthead.mailings.actions import set_newsletter_consents
        from masthead.mailings.models import NewsletterSubscription

        newsletters = self.imported_newsletters()
        if not newsletters:
            return
        set_newsletter_consents(
            [
                (member, newsletter, source_id in record.newsletters)
                for member, record in zip(members, records, strict=True)
                for source_id, newsletter in newsletters.items()
            ],
            NewsletterSubscription.Source.IMPORT,
        )

    def ship_to(self, member, record: ImportedReader):
        from masthead.accounts.models import ShippingAddress

        address = record.shipping_address
        if address is None or not (address.line1 and address.city and address.country):
            return
        ShippingAddress.objects.update_or_create(
            user=member,
            defaults={
                "name": address.name[:200],
                "line1": address.line1[:200],
                "line2": address.line2[:200],
                "city": address.city[:100],
                "region": address.region[:100],
                "postal_code": address.postal_code[:20],
                "country": address.country.upper()[:2],
            },
        )

    def plan_for_reader(self, record: ImportedReader):
        code = ""
        if record.stripe_price_id:
            code = self.options.price_mapping.get(record.stripe_price_id, "")
        if not code and record.plan_id:
            code = self.options.plan_mapping.get(record.plan_id, "")
        if not code:
            if self.default_plan is None:
                self.default_plan = default_plan_code("", False)
            code = self.default_plan
        return self.plans.get(code)

    def grant_many(self, readers) -> dict[int, int | None]:
        """Complimentary grants for (member, record) pairs: an earlier
        import's grant is brought up to date, the others made in bulk.
        Returns member pk -> subscription pk."""
        from masthead.billing.actions import grant_complimentary_many
        from masthead.billing.models import Subscription

        granted: dict[int, int | None] = {}
        if not readers:
            return granted
        notes = {status: f"Imported from {self.source} ({status})" for status in ReaderStatus.ALL}
        existing = {
            (subscription.member_id, subscription.note): subscription
            for subscription in Subscription.objects.filter(
                member__in=[member for member, _ in readers],
                status=Subscription.Status.COMPLIMENTARY,
                note__in=list(notes.values()),
            )
        }
        new: dict[str, list] = {}
        for member, record in readers:
            plan = self.plan_for_reader(record)
            if plan is None:
                self.problem(
                    record.source_id, "plan", "no Masthead plan for this complimentary reader"
                )
                granted[member.pk] = None
                continue
            note = notes[record.status]
            subscription = existing.get((member.pk, note))
            if subscription is None:
                new.setdefault(note, []).append((member, plan, record.expires_at))
                continue
            if subscription.ends_at != record.expires_at or subscription.plan_id != plan.pk:
                subscription.ends_at = record.expires_at
                subscription.current_period_end = record.expires_at
                subscription.plan = plan
                subscription.save(update_fields=["ends_at", "current_period_end", "plan"])
            granted[member.pk] = subscription.pk
        for note, grants in new.items():
            for (member, _plan, _ends_at), subscription in zip(
                grants, grant_complimentary_many(grants, note=note), strict=True
            ):
                granted[member.pk] = subscription.pk
        return granted

    def link_paid_reader(self, member, record: ImportedReader):
        """Link the reader to the subscription they already pay for on
        Stripe, reading its state from Stripe. Creates nothing there."""
        from masthead.billing import gateway, stripe_api
        from masthead.billing.actions import store_subscription
        from masthead.billing.models import Price
        from masthead.billing.remote import GatewayError

        if gateway.test_mode():
            self.problem(
                record.source_id,
                "stripe_customer_id",
                "paid reader not linked: Stripe is not configured (no STRIPE_SECRET_KEY); "
                "imported as a free member, run the import again with Stripe keys",
            )
            return None
        try:
            if record.stripe_subscription_id:
                remotes = [stripe_api.retrieve_subscription(record.stripe_subscription_id)]
            elif record.stripe_customer_id:
                remotes = stripe_api.list_customer_subscriptions(record.stripe_customer_id)
            else:
                remotes = []
        except GatewayError as error:
            self.problem(record.source_id, "stripe_subscription_id", f"Stripe: {error}")
            return None
        live = [remote for remote in remotes if remote.status in ("active", "trialing", "past_due")]
        remote = next(iter(live or remotes), None)
        if remote is None:
            self.problem(
                record.source_id,
                "stripe_customer_id",
                f"no subscription on Stripe for customer {record.stripe_customer_id or '-'}; "
                "imported as a free member",
            )
            return None
        if record.stripe_customer_id and remote.customer_id != record.stripe_customer_id:
            self.problem(
                record.source_id,
                "stripe_subscription_id",
                f"subscription {remote.id} belongs to another customer; not linked",
            )
            return None
        if not Price.objects.filter(stripe_price_id=remote.price_id).exists():
            code = self.options.price_mapping.get(remote.price_id)
            plan = self.plans.get(code or "")
            if plan is None:
                self.problem(
                    record.source_id,
                    "stripe_price_id",
                    f"Stripe price {remote.price_id} is not mapped to a plan; imported as a free member",
                )
                return None
            try:
                amount, currency, interval = stripe_api.retrieve_price(remote.price_id)
            except GatewayError as error:
                self.problem(record.source_id, "stripe_price_id", f"Stripe: {error}")
                return None
            # The old platform's price, kept so its subscribers map to the
            # plan; not offered to new subscribers.
            Price.objects.create(
                plan=plan,
                interval=interval if interval in ("month", "year") else "month",
                amount=amount,
                currency=currency,
                stripe_price_id=remote.price_id,
                active=False,
            )
        stored = store_subscription(remote, fetched_at=timezone.now(), member_hint=member.pk)
        return stored.subscription.pk if stored else None

    # Images ------------------------------------------------------------------

    def image_for(self, request, where):
        from .images import ImageUnavailable, fetch_image

        src = getattr(request, "src", None) or getattr(request, "location", "")
        if src in self.images:
            return self.images[src]
        try:
            image_id = fetch_image(
                src,
                images_dir=self.options.images_dir,
                alt=getattr(request, "alt", ""),
                caption=getattr(request, "caption", ""),
                credit=getattr(request, "credit", ""),
                fetcher=self.options.image_fetcher if self.options.fetch_images else False,
                local_files=self.options.local_files,
            )
        except ImageUnavailable as error:
            self.report.missing_images.append([where, src, str(error)])
            return None
        self.images[src] = image_id
        return image_id

    def problem(self, record, field_name, message):
        self.report.add_problem(
            ImportProblem(
                file=str(self.parser.path), record=str(record), field=field_name, message=message
            )
        )


def run_to_text(report: Report) -> str:
    """The report as the command prints it."""
    lines = []
    title = "Dry run: nothing was written." if report.dry_run else "Import finished."
    if report.error:
        title = f"Import stopped {report.stopped_at}: {report.error}"
    lines.append(title)
    for kind, counts in report.counts.items():
        lines.append(
            f"  {kind + 's':<12} {counts['created']:>7} created  {counts['updated']:>7} updated"
            f"  {counts['skipped']:>7} skipped"
        )
    if report.sections:
        lines.append("Sections (primary tag → Masthead section):")
        for key, entry in report.sections.items():
            lines.append(
                f"  {entry['name']} ({key or '-'}) → {entry['slug']}  [{entry['posts']} posts]"
            )
    if report.prices:
        lines.append("Stripe prices → Masthead plans:")
        for price_id, entry in report.prices.items():
            lines.append(
                f"  {price_id} → {entry['plan'] or '(not mapped)'}  [{entry['readers']} readers]"
            )
    if report.missing_images:
        lines.append(f"Missing images ({len(report.missing_images)}):")
        for where, src, reason in report.missing_images:
            lines.append(f"  {where}: {src} ({reason})")
    if report.problems:
        lines.append(f"Problems ({len(report.problems)}):")
        lines.extend(f"  {line}" for line in report.problem_lines())
    return "\n".join(lines)
