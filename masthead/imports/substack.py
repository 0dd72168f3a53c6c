"""Substack's export archive, read into import records.

The zip Substack sends holds `posts.csv` (one row per post: post_id as
"<id>.<slug>", post_date, is_published, email_sent_at, inbox_sent_at, type,
audience, title, subtitle, podcast_url), `posts/<post_id>.html` (the body),
and the email list, `email_list.<publication>.csv` (email,
active_subscription, expiry, plan, email_disabled, created_at,
first_payment_at, and Stripe ids where the publication's Stripe account
exported them). Members of the archive are read as streams; nothing is
unpacked to disk.

- type newsletter and podcast become articles (a podcast's audio as an embed
  at the top); threads and pages are not articles.
- audience everyone/only_free/only_paid/founding becomes public, members,
  subscribers, or the founding plan's subscribers; the paywall marker
  (`<div class="paywall-jump">`) becomes the teaser break.
- Substack's image containers become figures with their captions, its
  subscribe buttons and widgets are dropped.
- The old URL `/p/<slug>` redirects.
- Readers: plan monthly/annual/founding with an active subscription are
  paid (linked to Stripe by the ids in the list); comp and gift are
  complimentary and gift grants until their expiry; `email_disabled` means
  no newsletter.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import PurePosixPath
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.text import slugify

from .records import (
    Access,
    ImportedAuthor,
    ImportedNewsletter,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    Parser,
    PostStatus,
    ReaderStatus,
    split_at_marker,
)

SOURCE = "substack"
POSTS_REQUIRED = ("post_id", "post_date", "is_published", "type", "audience", "title")
EMAIL_LIST_REQUIRED = ("email",)
ARTICLE_TYPES = ("newsletter", "podcast")
AUDIENCES = {
    "everyone": (Access.PUBLIC, []),
    "only_free": (Access.MEMBERS, []),
    "only_paid": (Access.SUBSCRIBERS, []),
    "founding": (Access.PLANS, ["founding"]),
}
# Substack's plan column: what each value says about the reader.
PAID_PLANS = {"monthly": "paid", "yearly": "paid", "annual": "paid", "founding": "founding"}
STRIPE_COLUMNS = {
    "stripe_customer_id": ("stripe_customer_id", "customer_id", "stripe_customer"),
    "stripe_subscription_id": ("stripe_subscription_id", "subscription_id", "stripe_subscription"),
    "stripe_price_id": ("stripe_price_id", "price_id", "stripe_plan_id"),
}
NEWSLETTER_ID = "newsletter"
PAYWALL_MARKER = re.compile(
    r"<div\b[^>]*class=\"[^\"]*\bpaywall-jump\b[^\"]*\"[^>]*>\s*</div>", re.S
)
TEASER_MARK = "<!--masthead-teaser-break-->"


class SubstackParser(Parser):
    """A Substack export zip: posts, their bodies, and the email list."""

    source = SOURCE
    side_file_names = ()

    def __init__(self, path, *, author_name="", **side_files):
        super().__init__(path, **side_files)
        self.author_name = author_name or ""

    @property
    def site_hosts(self):
        """Hosts whose links are links to this publication."""
        with self._open() as archive:
            self._members(archive)
        publication = self._publication()
        return (f"{publication}.substack.com",) if publication else ()

    def check(self):
        archive = self._open()
        with archive:
            self._members(archive)
            posts = self._posts_name
            with archive.open(posts) as handle:
                self._header(handle, posts, POSTS_REQUIRED)
            if self._email_list_name:
                with archive.open(self._email_list_name) as handle:
                    self._header(handle, self._email_list_name, EMAIL_LIST_REQUIRED)

    def records(self):
        self.problems = []
        with self._open() as archive:
            self._members(archive)
            publication = self._publication()
            author = ImportedAuthor(
                source=SOURCE,
                source_id=slugify(self.author_name) or publication or "author",
                name=self.author_name or _title_case(publication) or "Author",
                slug=slugify(self.author_name or publication) or "author",
            )
            yield author
            yield ImportedNewsletter(
                source=SOURCE,
                source_id=NEWSLETTER_ID,
                name=_title_case(publication) or "Newsletter",
                slug=publication or NEWSLETTER_ID,
            )
            yield ImportedPlan(source=SOURCE, source_id="paid", name="Paid subscription")
            yield ImportedPlan(source=SOURCE, source_id="founding", name="Founding member")

            skipped = {}
            for line, row in self._rows(archive, self._posts_name, POSTS_REQUIRED):
                post = self._post(archive, line, row, author, skipped)
                if post is not None:
                    yield post
            for kind, count in sorted(skipped.items()):
                self.problem(
                    f"Not imported (only newsletters and podcasts become articles): {count} {kind}.",
                    file=self._posts_name,
                )
            if self._email_list_name:
                yield from self._readers(archive)
            else:
                self.problem(
                    "The archive has no email list (email_list.*.csv); no readers imported."
                )

    # -- the archive ------------------------------------------------------------

    def _open(self):
        if not self.path.is_file():
            self.fail("The export file does not exist.")
        try:
            return zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            self.fail("Not a Substack export: the file is not a zip archive.")

    def _members(self, archive):
        names = [n for n in archive.namelist() if not n.endswith("/") and "__MACOSX" not in n]
        posts = [n for n in names if PurePosixPath(n).name == "posts.csv"]
        if not posts:
            self.fail("Not a Substack export: the archive has no posts.csv.", field="posts.csv")
        self._posts_name = min(posts, key=len)
        base = str(PurePosixPath(self._posts_name).parent)
        base = "" if base == "." else base + "/"
        self._base = base
        lists = [
            n
            for n in names
            if PurePosixPath(n).name.startswith("email_list") and n.endswith(".csv")
        ]
        self._email_list_name = min(lists, key=len) if lists else ""
        self._bodies = {
            PurePosixPath(n).name.removesuffix(".html"): n
            for n in names
            if n.startswith(f"{base}posts/") and n.endswith(".html")
        }

    def _publication(self):
        """The publication's subdomain, from the email list's name."""
        if not self._email_list_name:
            return ""
        name = PurePosixPath(self._email_list_name).name
        middle = name.removeprefix("email_list").removesuffix(".csv").strip("._-")
        return slugify(middle)

    def _header(self, handle, name, required):
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        try:
            header = next(csv.reader(text), None)
        except (csv.Error, UnicodeDecodeError) as error:
            self.fail(f"Not a CSV file: {error}", file=name, line=1)
        if not header:
            self.fail("The file is empty.", file=name, line=1)
        columns = [_column(c) for c in header]
        missing = [c for c in required if c not in columns]
        if missing:
            self.fail(
                f"Missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                f"(found: {', '.join(header)}).",
                file=name,
                line=1,
                field=missing[0],
            )
        return columns

    def _rows(self, archive, name, required):
        with archive.open(name) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            try:
                header = next(reader, None)
                if not header:
                    self.fail("The file is empty.", file=name, line=1)
                columns = [_column(c) for c in header]
                missing = [c for c in required if c not in columns]
                if missing:
                    self.fail(
                        f"Missing column {', '.join(missing)} (found: {', '.join(header)}).",
                        file=name,
                        line=1,
                        field=missing[0],
                    )
                for row in reader:
                    if not any(cell.strip() for cell in row):
                        continue
                    if len(row) != len(columns):
                        self.fail(
                            f"{len(row)} values where the header names {len(columns)}.",
                            file=name,
                            line=reader.line_num,
                        )
                    yield reader.line_num, dict(zip(columns, (c.strip() for c in row), strict=True))
            except (csv.Error, UnicodeDecodeError) as error:
                self.fail(f"Not a CSV file: {error}", file=name, line=reader.line_num)

    # -- posts ----------------------------------------------------------------------

    def _post(self, archive, line, row, author, skipped):
        name = self._posts_name
        raw_id = row["post_id"]
        if not raw_id:
            self.fail("A post without a post_id.", file=name, line=line, field="post_id")
        post_id, _, slug = raw_id.partition(".")
        kind = row["type"].lower()
        if kind not in ARTICLE_TYPES:
            label = {"thread": "threads", "page": "pages"}.get(kind, f"{kind or 'untyped'} posts")
            skipped[label] = skipped.get(label, 0) + 1
            return None
        title = html.unescape(row["title"]).strip()
        if not title:
            self.problem(
                "A post without a title is skipped.",
                file=name,
                line=line,
                field="title",
                record=raw_id,
            )
            return None
        audience = row["audience"].lower()
        if audience not in AUDIENCES:
            self.problem(
                f"Unknown audience {audience!r}; the post is for subscribers only.",
                file=name,
                line=line,
                field="audience",
                record=raw_id,
            )
            access, plan_ids = Access.SUBSCRIBERS, []
        else:
            access, plan_ids = AUDIENCES[audience]
        published = _boolean(row["is_published"], self, name, line, "is_published")
        post_date = _date(row["post_date"], self, name, line, "post_date")
        if published:
            status = PostStatus.PUBLISHED
        elif post_date is not None and post_date > timezone.now():
            status = PostStatus.SCHEDULED
        else:
            status = PostStatus.DRAFT

        body_name = self._bodies.get(raw_id)
        if body_name is None:
            self.problem(
                f"posts/{raw_id}.html is missing; the post is imported without a body.",
                file=name,
                line=line,
                record=raw_id,
            )
            body = ""
        else:
            with archive.open(body_name) as handle:
                try:
                    body = handle.read().decode("utf-8")
                except UnicodeDecodeError as error:
                    self.fail(f"Not UTF-8 text: {error}", file=body_name)
        body, teaser_break_at = substack_html(body, podcast_url=row.get("podcast_url", ""))
        slug = slug or slugify(title)
        return ImportedPost(
            source=SOURCE,
            source_id=post_id,
            title=title,
            slug=slug,
            body_html=body,
            dek=row.get("subtitle", ""),
            status=status,
            published_at=post_date,
            author_ids=[author.source_id],
            access=access,
            plan_ids=list(plan_ids),
            teaser_break_at=teaser_break_at,
            old_url=f"/p/{slug}" if published else "",
        )

    # -- readers --------------------------------------------------------------------

    def _readers(self, archive):
        name = self._email_list_name
        seen = set()
        now = timezone.now()
        for line, row in self._rows(archive, name, EMAIL_LIST_REQUIRED):
            email = row["email"].strip().lower()
            try:
                validate_email(email)
            except ValidationError:
                self.problem(
                    f"{email or 'An empty address'!r} is not an email address; skipped.",
                    file=name,
                    line=line,
                    field="email",
                )
                continue
            if email in seen:
                self.problem(
                    f"{email} appears again; the first row is kept.",
                    file=name,
                    line=line,
                    field="email",
                )
                continue
            seen.add(email)
            plan = row.get("plan", "").lower()
            active = _boolean(
                row.get("active_subscription", ""), self, name, line, "active_subscription"
            )
            expiry = _date(row.get("expiry", ""), self, name, line, "expiry")
            disabled = _boolean(row.get("email_disabled", ""), self, name, line, "email_disabled")
            reader = ImportedReader(
                source=SOURCE,
                source_id=email,
                email=email,
                name=row.get("name", ""),
                created_at=_date(row.get("created_at", ""), self, name, line, "created_at"),
                newsletters=[] if disabled else [NEWSLETTER_ID],
                line=line,
            )
            for attribute, columns in STRIPE_COLUMNS.items():
                value = next((row[c] for c in columns if row.get(c)), "")
                setattr(reader, attribute, value)
            current = expiry is None or expiry > now
            if plan in ("comp", "complimentary") and current:
                reader.status = ReaderStatus.COMP
                reader.plan_id = "paid"
                reader.expires_at = expiry
            elif plan == "gift" and current:
                reader.status = ReaderStatus.GIFT
                reader.plan_id = "paid"
                reader.expires_at = expiry
            elif plan in PAID_PLANS and active:
                reader.status = ReaderStatus.PAID
                reader.plan_id = PAID_PLANS[plan]
                if not (reader.stripe_customer_id or reader.stripe_subscription_id):
                    # Substack's own Stripe ids were not exported: the reader
                    # keeps access to the date they paid up to.
                    self.problem(
                        "A paid reader without Stripe ids; imported as complimentary until "
                        "the expiry date.",
                        file=name,
                        line=line,
                        field="stripe_subscription_id",
                    )
                    reader.status = ReaderStatus.COMP
                    reader.expires_at = expiry
            else:
                reader.status = ReaderStatus.FREE
                if row.get("first_payment_at"):
                    reader.labels = ["Former paid subscriber"]
            yield reader


def substack_html(body, *, podcast_url=""):
    """Substack's post HTML as plain HTML for the block converter, and the
    teaser break's offset (its paywall marker), or None."""
    body = body or ""
    body = PAYWALL_MARKER.sub(TEASER_MARK, body, count=1)
    body = PAYWALL_MARKER.sub("", body)
    body = re.sub(
        r"<div\b[^>]*class=\"[^\"]*\bcaptioned-image-container\b[^\"]*\"[^>]*>\s*"
        r"(<figure\b.*?</figure>)\s*</div>",
        lambda m: _figure(m.group(1)),
        body,
        flags=re.S,
    )
    # Subscribe and share buttons and widgets belong to Substack's pages.
    body = re.sub(
        r"<p\b[^>]*class=\"[^\"]*\bbutton-wrapper\b[^\"]*\"[^>]*>.*?</p>", "", body, flags=re.S
    )
    body = re.sub(
        r"<div\b[^>]*class=\"[^\"]*\bsubscription-widget-wrap[^\"]*\"[^>]*>.*?</form>\s*</div>\s*</div>",
        "",
        body,
        flags=re.S,
    )
    if podcast_url:
        body = f'<iframe src="{html.escape(podcast_url, quote=True)}"></iframe>\n{body}'
    return split_at_marker(body, [TEASER_MARK])


def _figure(inner):
    image = re.search(r"<img\b[^>]*>", inner, re.S)
    if image is None:
        return inner
    tag = image.group(0)
    src = _attribute(tag, "src")
    srcset = _attribute(tag, "srcset")
    if srcset:
        # The first candidate is the largest.
        src = srcset.split(",")[0].strip().split(" ")[0] or src
    src = original_image_url(src)
    alt = _attribute(tag, "alt") or ""
    attrs = _attribute(tag, "data-attrs")
    if not alt and attrs:
        try:
            alt = json.loads(html.unescape(attrs)).get("alt") or ""
        except ValueError:
            alt = ""
    caption = re.search(r"<figcaption\b[^>]*>(.*?)</figcaption>", inner, re.S)
    caption_html = f"<figcaption>{caption.group(1)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="{html.escape(src, quote=True)}" alt="{html.escape(alt, quote=True)}">'
        f"{caption_html}</figure>"
    )


def original_image_url(src):
    """The picture itself, not Substack's resizing proxy in front of it."""
    src = html.unescape(src or "")
    if "substackcdn.com/image/fetch/" in src:
        src = unquote(src.rsplit("/", 1)[-1]) if "%2F" in src.rsplit("/", 1)[-1] else src
    return src


def _attribute(tag, name):
    found = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return html.unescape(found.group(1)) if found else ""


def _column(name):
    return re.sub(r"\s+", "_", name.strip().lower())


def _title_case(slug):
    return " ".join(word.capitalize() for word in slug.replace("-", " ").split())


def _boolean(value, parser, file, line, field):
    value = (value or "").strip().lower()
    if value in ("true", "1", "yes", "t"):
        return True
    if value in ("false", "0", "no", "f", ""):
        return False
    parser.fail(f"{value!r} is not true or false.", file=file, line=line, field=field)


def _date(value, parser, file, line, field):
    value = (value or "").strip()
    if not value or value.lower() in ("null", "none"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parser.fail(f"{value!r} is not a date.", file=file, line=line, field=field)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
