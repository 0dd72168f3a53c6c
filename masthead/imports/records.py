"""The neutral records every importer's parser yields, and the parser interface.

A parser turns one platform's export (Ghost JSON, WordPress WXR, a Substack
zip) into these records and knows nothing of Masthead's models; the writer
(`masthead.imports.writer`) turns records into Masthead objects and knows
nothing of the platforms. So a new importer is a parser plus an entry in
`masthead.imports.registry`.

Contract for a parser (Ghost here; WordPress/Leaky Paywall and Substack
follow it the same way):

1. It is a subclass of `Parser`, constructed with the export's path and the
   side files as keyword arguments (`members=`, `images=`, `uploads=`,
   `subscribers=`: paths or None).
2. `check()` reads just enough to tell the format and version and raises
   `ImportFormatError` for an unknown one; it writes nothing.
3. `records()` is a generator, streamed (never load a 100,000-row export
   whole), and may be called more than once: the writer reads the export
   twice, first to validate and plan (so a malformed file stops before
   anything is written), then to write. Each call starts afresh and clears
   `problems`.
4. Order: every `ImportedSection`, `ImportedAuthor`, `ImportedNewsletter`
   and `ImportedPlan` before the first `ImportedPost` that names it;
   readers may come at any point after the plans and newsletters.
5. A malformed file (bad JSON/XML/CSV, a missing required column, a value of
   the wrong type where nothing sensible can be made of it) raises
   `ImportFormatError` with an `ImportProblem` naming the file, the line or
   record, and the field. A bad record that can be skipped (a member with an
   invalid email, a post without a title) is appended to `problems` and not
   yielded; the report lists it.
6. Bodies are HTML (`ImportedPost.body_html`), in whatever dialect the
   platform wrote; the writer sanitises it and turns it into blocks
   (`masthead.imports.html.html_to_blocks`). The teaser break is a character
   offset into `body_html` (`teaser_break_at`), found and removed by the
   parser (`split_at_marker` helps): Ghost's paywall card, WordPress's
   `<!--more-->`, Substack's paywall marker.
7. Source ids are strings, stable across exports of the same site (Ghost's
   object ids, WordPress post ids, Substack post ids; an email for a reader
   without one). The writer keys idempotency on (source, kind, source_id).
8. Times are aware datetimes (UTC where the export gives no zone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


class PostStatus:
    PUBLISHED = "published"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    ALL = (PUBLISHED, DRAFT, SCHEDULED)


class Access:
    """Who may read a post in full, in Masthead's words
    (`newsroom.models.AccessLevel` values)."""

    PUBLIC = "public"
    MEMBERS = "members"
    SUBSCRIBERS = "subscribers"
    PLANS = "plans"
    ALL = (PUBLIC, MEMBERS, SUBSCRIBERS, PLANS)


class ReaderStatus:
    FREE = "free"
    PAID = "paid"
    COMP = "comp"
    GIFT = "gift"
    ALL = (FREE, PAID, COMP, GIFT)


@dataclass
class ImportProblem:
    """Something the report shows: where it is, which field, what is wrong."""

    file: str
    message: str
    record: str = ""
    field: str = ""
    line: int | None = None

    def __str__(self):
        where = Path(self.file).name if self.file else ""
        if self.line is not None:
            where += f", line {self.line}"
        if self.record:
            where += f", record {self.record}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self):
        return dataclasses.asdict(self)


class ImportFormatError(Exception):
    """The export cannot be read: raised before anything is written."""

    def __init__(self, problem: ImportProblem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class ImportedImage:
    """A picture: `url` to fetch or `path` to a local file (one of them)."""

    url: str = ""
    path: str = ""
    alt: str = ""
    caption: str = ""
    credit: str = ""

    @property
    def location(self):
        return self.path or self.url


@dataclass
class ImportedSection:
    source: str
    source_id: str
    name: str
    slug: str
    description: str = ""


@dataclass
class ImportedAuthor:
    source: str
    source_id: str
    name: str
    slug: str = ""
    email: str = ""
    bio: str = ""
    avatar: ImportedImage | None = None
    job_title: str = ""
    # Staff with admin access on the old platform get a Masthead staff
    # account without a password (they sign in by link).
    is_staff: bool = False


@dataclass
class ImportedNewsletter:
    source: str
    source_id: str
    name: str
    slug: str = ""


@dataclass
class ImportedPlan:
    """A paid tier/level on the old platform; its Stripe prices map onto
    Masthead plans (editable in the dry-run report)."""

    source: str
    source_id: str
    name: str
    stripe_price_ids: list[str] = field(default_factory=list)
    monthly_amount: int | None = None  # smallest currency unit
    yearly_amount: int | None = None
    currency: str = ""
    includes_print: bool = False


@dataclass
class ImportedPost:
    source: str
    source_id: str
    title: str
    slug: str
    body_html: str = ""
    dek: str = ""
    status: str = PostStatus.PUBLISHED
    # The publication time; for a scheduled post, when it goes live.
    published_at: datetime | None = None
    updated_at: datetime | None = None
    author_ids: list[str] = field(default_factory=list)  # in byline order
    section: str = ""  # an ImportedSection's source_id, or ""
    tags: list[str] = field(default_factory=list)  # names
    feature_image: ImportedImage | None = None
    meta_title: str = ""
    meta_description: str = ""
    access: str = Access.PUBLIC
    plan_ids: list[str] = field(default_factory=list)  # with Access.PLANS
    teaser_break_at: int | None = None  # offset into body_html
    old_url: str = ""  # a path such as /my-post/ or /p/my-post


@dataclass
class ImportedAddress:
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2


@dataclass
class ImportedReader:
    source: str
    source_id: str
    email: str
    name: str = ""
    created_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    note: str = ""
    # Source ids of the newsletters the reader agreed to receive.
    newsletters: list[str] = field(default_factory=list)
    status: str = ReaderStatus.FREE
    stripe_customer_id: str = ""
    stripe_subscription_id: str = ""
    plan_id: str = ""  # an ImportedPlan's source_id
    stripe_price_id: str = ""
    expires_at: datetime | None = None  # comps and gifts
    shipping_address: ImportedAddress | None = None
    line: int | None = None  # where it came from, for problems


Record = (
    ImportedSection
    | ImportedAuthor
    | ImportedNewsletter
    | ImportedPlan
    | ImportedPost
    | ImportedReader
)


class Parser:
    """Reads one platform's export. See the module docstring for the contract."""

    #: the `source` every record carries, e.g. "ghost"
    source = ""
    #: what the admin's upload form and the command call the side files
    side_file_names: tuple[str, ...] = ()

    def __init__(self, path: str | Path, **side_files: str | Path | None) -> None:
        self.path = Path(path)
        self.side_files = {
            name: (Path(value) if value else None) for name, value in side_files.items()
        }
        self.problems: list[ImportProblem] = []

    def check(self) -> None:
        """Raise ImportFormatError if the export is not one this parser reads."""

    def records(self) -> Iterator[Record]:
        raise NotImplementedError

    def problem(self, message, *, record="", field="", line=None, file=None):
        self.problems.append(
            ImportProblem(
                file=str(file or self.path),
                message=message,
                record=str(record),
                field=field,
                line=line,
            )
        )

    def fail(self, message, *, record="", field="", line=None, file=None):
        raise ImportFormatError(
            ImportProblem(
                file=str(file or self.path),
                message=message,
                record=str(record),
                field=field,
                line=line,
            )
        )


def split_at_marker(html: str, markers) -> tuple[str, int | None]:
    """Remove the first of `markers` found in `html` (the earliest one) and
    return the HTML with the offset where it was, or (html, None)."""
    best = None
    for marker in markers:
        at = html.find(marker)
        if at != -1 and (best is None or at < best[0]):
            best = (at, marker)
    if best is None:
        return html, None
    at, marker = best
    return html[:at] + html[at + len(marker) :], at
