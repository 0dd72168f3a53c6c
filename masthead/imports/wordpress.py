"""WordPress's export (WXR 1.0 to 1.2) and Leaky Paywall's subscriber export,
read into import records.

The WXR file is streamed (`defusedxml`'s iterparse: no DTDs, no entities, no
network) and read twice per `records()`: a first pass gathers what items
refer to (attachments, categories, authors and Co-Authors Plus bylines) and a
second yields the posts, so memory grows with the number of attachments and
terms, never with the bodies.

What comes across, per post (`wp:post_type` "post"; pages, revisions, menu
items and attachments are not articles):
- status publish/draft/pending/future/private, with its GMT date;
- authors: `dc:creator`, or the Co-Authors Plus bylines in their order;
- the primary category (Yoast's, else the first) becomes the section, the
  other categories and the tags become tags;
- the featured image (`_thumbnail_id`) with its alt, caption and credit;
- the body: Gutenberg's block comments, `[caption]` and `[embed]` shortcodes
  and the classic editor's bare paragraphs turned into plain HTML the block
  converter reads; `<!--more-->` becomes the teaser break;
- Leaky Paywall's per-post visibility (`_issuem_leaky_paywall_visibility`)
  becomes the access level; posts left to Leaky Paywall's site-wide
  restrictions get `default_access`;
- its permalink, so the old URL redirects.

Leaky Paywall's subscriber export (the Reporting Tool's CSV, or the older
"Email, First Name, ..." one) becomes readers, with each paid level a plan.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.text import slugify

from .records import (
    Access,
    ImportedAuthor,
    ImportedImage,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    ImportedSection,
    Parser,
    PostStatus,
    ReaderStatus,
    split_at_marker,
)

SOURCE = "wordpress"
WXR_VERSIONS = ("1.0", "1.1", "1.2")
WP_NAMESPACE = re.compile(r"^http://wordpress\.org/export/(\d+\.\d+)/$")
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
EXCERPT_NS = re.compile(r"^http://wordpress\.org/export/\d+\.\d+/excerpt/$")

STATUSES = {
    "publish": PostStatus.PUBLISHED,
    "future": PostStatus.SCHEDULED,
    "draft": PostStatus.DRAFT,
    "pending": PostStatus.DRAFT,
    "private": PostStatus.DRAFT,
}
# Not articles, or not kept: counted in the report, not imported.
SKIPPED_STATUSES = {"trash", "auto-draft", "inherit"}

LEAKY_PAYWALL_VISIBILITY = "_issuem_leaky_paywall_visibility"
MORE_MARKER = re.compile(r"<!--\s*more\b.*?-->", re.S)
TEASER_MARK = "<!--masthead-teaser-break-->"
BLOCK_COMMENT = re.compile(r"<!--\s*(/?)wp:([a-z0-9/-]+)(\s+\{.*?\})?\s*(/?)-->", re.S)
SHORTCODE_CAPTION = re.compile(r"\[caption([^\]]*)\](.*?)\[/caption\]", re.S)
SHORTCODE_EMBED = re.compile(r"\[embed[^\]]*\](.*?)\[/embed\]", re.S)
OTHER_SHORTCODE = re.compile(r"\[(/?)([a-zA-Z][\w-]*)([^\]]*)\]")
BLOCK_TAGS = (
    "p|div|h[1-6]|ul|ol|li|blockquote|pre|figure|figcaption|table|thead|tbody|tr|td|th|hr|"
    "iframe|section|dl|dd|dt|address|form|fieldset|style|script|img"
)
STARTS_WITH_BLOCK = re.compile(rf"^\s*<(?:{BLOCK_TAGS})\b", re.I)
STANDALONE_URL = re.compile(r"^\s*(https?://[^\s<>\"]+)\s*$")


class WordPressParser(Parser):
    """WXR and, with `subscribers=`, Leaky Paywall's subscriber CSV."""

    source = SOURCE
    side_file_names = ("uploads", "subscribers")

    def __init__(self, path, *, default_access=None, **side_files):
        super().__init__(path, **side_files)
        self._default_access = default_access
        self.uploads = self.side_files.get("uploads")
        self.subscribers = self.side_files.get("subscribers")
        self.wxr_version = ""
        self.site_url = ""

    @property
    def site_hosts(self):
        """Hosts whose links are links to this site (the writer rewrites
        those that point to imported posts)."""
        host = urlsplit(self.site_url).netloc
        return (host, f"www.{host}") if host else ()

    # -- the export as a whole -------------------------------------------------

    def check(self):
        if not self.path.is_file():
            self.fail("The export file does not exist.")
        for _ in self._top_level():
            if self.wxr_version:
                break
        if not self.wxr_version:
            self.fail(
                "Not a WordPress export: no wp:wxr_version before the first item.",
                field="wp:wxr_version",
            )
        if self._default_access not in (
            None,
            "",
            Access.PUBLIC,
            Access.MEMBERS,
            Access.SUBSCRIBERS,
        ):
            self.fail(
                f"Unknown access level {self._default_access!r}: choose public, members or "
                "subscribers.",
                field="default_access",
            )
        if self.uploads is not None and not self.uploads.is_dir():
            self.fail("The uploads folder does not exist.", file=self.uploads)
        if self.subscribers is not None:
            for _ in self._subscriber_rows(check_only=True):
                pass

    def records(self):
        self.problems = []
        index = self._index()
        levels = self._levels() if self.subscribers is not None else {}
        self.default_access = self._choose_default_access(index)

        yield from index["sections"].values()
        yield from index["authors"].values()
        for level_id, level in levels.items():
            if not level["free"]:
                yield ImportedPlan(
                    source=SOURCE,
                    source_id=_level_plan_id(level_id),
                    name=level["name"],
                    stripe_price_ids=sorted(level["stripe_price_ids"]),
                )

        skipped = {}
        for element in self._items():
            post = self._post(element, index, levels, skipped)
            if post is not None:
                yield post
        for kind, count in sorted(skipped.items()):
            self.problem(f"Not imported (only posts become articles): {count} {kind}.")

        if self.subscribers is not None:
            yield from self._readers(levels)

    # -- streaming the XML -----------------------------------------------------

    def _top_level(self):
        """Each child of <channel>, once complete, then dropped from memory."""
        self.wxr_version = ""
        stack = []
        channel = None
        try:
            for event, element in iterparse(str(self.path), events=("start", "end")):
                if event == "start":
                    stack.append(element)
                    if len(stack) == 1 and _local(element.tag) != "rss":
                        self.fail(
                            f"Not a WordPress export: the root element is <{_local(element.tag)}>, "
                            "not <rss>."
                        )
                    if len(stack) == 2 and _local(element.tag) == "channel":
                        channel = element
                    if len(stack) == 3 and _local(element.tag) == "item" and not self.wxr_version:
                        self.fail(
                            "Not a WordPress export: no wp:wxr_version before the first item.",
                            field="wp:wxr_version",
                        )
                    continue
                stack.pop()
                if len(stack) == 2 and stack[1] is channel:
                    if _local(element.tag) == "wxr_version":
                        self._read_version(element)
                    elif _local(element.tag) == "base_site_url" or (
                        _local(element.tag) == "link" and not self.site_url
                    ):
                        self.site_url = (element.text or "").strip().rstrip("/")
                    yield element
                    channel.remove(element)
        except ParseError as error:
            line, column = error.position
            self.fail(f"Not well-formed XML (column {column}): {_parse_message(error)}", line=line)
        except DefusedXmlException as error:
            self.fail(f"Refused: the file declares {type(error).__name__} ({error}).")

    def _read_version(self, element):
        version = (element.text or "").strip()
        namespace = _namespace(element.tag)
        match = WP_NAMESPACE.match(namespace)
        if version not in WXR_VERSIONS or not match:
            self.fail(
                f"Unknown WXR version {version!r}: this importer reads WXR "
                f"{', '.join(WXR_VERSIONS)}.",
                field="wp:wxr_version",
            )
        self.wxr_version = version

    def _items(self):
        for element in self._top_level():
            if _local(element.tag) == "item":
                yield element

    # -- first pass: what items refer to ------------------------------------

    def _index(self):
        sections = OrderedDict()
        authors = OrderedDict()
        term_slugs = {}  # term_id -> category nicename, for Yoast's primary category
        attachments = {}
        guest_bylines = OrderedDict()  # Co-Authors Plus term nicename -> display name
        guest_authors = {}  # Co-Authors Plus guest authors (their own post type), by login
        uses_leaky_paywall = False
        for element in self._top_level():
            name = _local(element.tag)
            if name == "author":
                author = self._author(element)
                if author is not None:
                    authors[author.source_id] = author
            elif name == "category":
                slug = _child_text(element, "category_nicename")
                if slug:
                    term_slugs[_child_text(element, "term_id")] = slug
                    sections[slug] = ImportedSection(
                        source=SOURCE,
                        source_id=slug,
                        name=html.unescape(_child_text(element, "cat_name")) or slug,
                        slug=slug,
                        description=_child_text(element, "category_description"),
                    )
            elif name == "term" and _child_text(element, "term_taxonomy") == "category":
                slug = _child_text(element, "term_slug")
                if slug:
                    term_slugs[_child_text(element, "term_id")] = slug
                    sections.setdefault(
                        slug,
                        ImportedSection(
                            source=SOURCE,
                            source_id=slug,
                            name=html.unescape(_child_text(element, "term_name")) or slug,
                            slug=slug,
                        ),
                    )
            elif name == "item":
                post_type = _child_text(element, "post_type")
                if post_type == "attachment":
                    attachment_id = _child_text(element, "post_id")
                    attachments[attachment_id] = self._attachment(element)
                elif post_type == "guest-author":
                    guest = self._guest_author(element)
                    if guest is not None:
                        guest_authors[guest.slug] = guest
                elif post_type == "post":
                    for domain, slug, label in _terms(element):
                        if domain == "category" and slug and slug not in sections:
                            sections[slug] = ImportedSection(
                                source=SOURCE, source_id=slug, name=label or slug, slug=slug
                            )
                        elif domain == "author" and slug:
                            guest_bylines.setdefault(slug, label)
                    if _meta(element).get(LEAKY_PAYWALL_VISIBILITY):
                        uses_leaky_paywall = True
        # Co-Authors Plus bylines name WordPress users ("cap-<login>") or
        # guest authors, who are not users and so not in wp:author.
        byline_logins = {}
        for slug, label in guest_bylines.items():
            login = slug.removeprefix("cap-")
            match = next(
                (
                    a
                    for a in authors.values()
                    if a.source_id == login or slugify(a.source_id) == login
                ),
                None,
            )
            if match is None:
                match = guest_authors.get(slugify(login)) or ImportedAuthor(
                    source=SOURCE,
                    source_id=f"guest:{login}",
                    name=label or login,
                    slug=slugify(login),
                )
                authors[match.source_id] = match
            byline_logins[slug] = match.source_id
            byline_logins[label] = match.source_id
        return {
            "sections": sections,
            "authors": authors,
            "term_slugs": term_slugs,
            "attachments": attachments,
            "bylines": byline_logins,
            "uses_leaky_paywall": uses_leaky_paywall,
        }

    def _author(self, element):
        login = _child_text(element, "author_login")
        if not login:
            self.problem("An author without a login is skipped.", field="wp:author_login")
            return None
        first = _child_text(element, "author_first_name")
        last = _child_text(element, "author_last_name")
        name = (
            html.unescape(_child_text(element, "author_display_name")) or f"{first} {last}".strip()
        )
        return ImportedAuthor(
            source=SOURCE,
            source_id=login,
            name=name or login,
            slug=slugify(login) or slugify(name),
            email=_child_text(element, "author_email").strip().lower(),
        )

    def _guest_author(self, element):
        meta = _meta(element)
        login = meta.get("cap-user_login") or _child_text(element, "post_name")
        if not login:
            return None
        return ImportedAuthor(
            source=SOURCE,
            source_id=f"guest:{slugify(login)}",
            name=html.unescape(meta.get("cap-display_name") or _child_text(element, "title"))
            or login,
            slug=slugify(login),
            email=meta.get("cap-user_email", "").strip().lower(),
            bio=_plain(meta.get("cap-description", "")),
        )

    def _attachment(self, element):
        meta = _meta(element)
        url = _child_text(element, "attachment_url")
        path = ""
        relative = meta.get("_wp_attached_file", "")
        if self.uploads is not None and relative:
            candidate = (self.uploads / relative).resolve()
            if candidate.is_file() and self.uploads.resolve() in candidate.parents:
                path = str(candidate)
        credit = ""
        details = php_unserialize_or_none(meta.get("_wp_attachment_metadata", ""))
        if isinstance(details, dict) and isinstance(details.get("image_meta"), dict):
            credit = str(details["image_meta"].get("credit") or "")
        return {
            "url": url,
            "path": path,
            "relative": relative,
            "alt": meta.get("_wp_attachment_image_alt", ""),
            "caption": _plain(_child_text(element, "encoded", EXCERPT_NS)),
            "credit": credit,
        }

    # -- second pass: posts ---------------------------------------------------

    def _post(self, element, index, levels, skipped):
        post_type = _child_text(element, "post_type") or "post"
        wp_status = _child_text(element, "status")
        post_id = _child_text(element, "post_id")
        if post_type != "post":
            if post_type not in ("attachment", "guest-author"):
                kind = {"page": "pages", "revision": "revisions"}.get(
                    post_type, f"{post_type} items"
                )
                skipped[kind] = skipped.get(kind, 0) + 1
            return None
        if wp_status in SKIPPED_STATUSES:
            skipped[f"{wp_status} posts"] = skipped.get(f"{wp_status} posts", 0) + 1
            return None
        record = f"post {post_id}"
        if not post_id:
            self.fail(
                "An item has no wp:post_id.",
                field="wp:post_id",
                record=_child_text(element, "title"),
            )
        if wp_status not in STATUSES:
            self.fail(f"Unknown post status {wp_status!r}.", record=record, field="wp:status")
        title = html.unescape(_child_text(element, "title")).strip()
        if not title:
            self.problem("A post without a title is skipped.", record=record, field="title")
            return None
        status = STATUSES[wp_status]
        if wp_status == "private":
            self.problem("A private post is imported as a draft.", record=record, field="wp:status")
        published_at = self._date(element, record)
        if status == PostStatus.SCHEDULED and published_at is None:
            self.fail("A scheduled post has no date.", record=record, field="wp:post_date_gmt")

        meta = _meta(element)
        categories, tags, bylines = [], [], []
        for domain, slug, label in _terms(element):
            if domain == "category":
                categories.append((slug, label))
            elif domain == "post_tag":
                tags.append(label or slug)
            elif domain == "author":
                author_id = index["bylines"].get(slug) or index["bylines"].get(label)
                if author_id and author_id not in bylines:
                    bylines.append(author_id)
        creator = _child_text(element, "creator", DC_NS)
        if creator and creator not in index["authors"]:
            self.problem(
                f"The author {creator!r} is not among the export's authors.",
                record=record,
                field="dc:creator",
            )
            creator = ""
        if not bylines and creator:
            bylines = [creator]
        elif creator and creator not in bylines:
            # Co-Authors Plus lists the post's author among its bylines; an
            # export where it does not still credits them, first.
            bylines.insert(0, creator)

        section, other_categories = self._section(categories, meta, index)
        tags = [label for _, label in other_categories] + tags

        body, teaser_break_at, body_problems = wordpress_html(
            _child_text(element, "encoded", CONTENT_NS), index["attachments"]
        )
        for message in body_problems:
            self.problem(message, record=record, field="content:encoded")

        access, plan_ids = self._access(meta, levels, record)
        if _child_text(element, "post_password"):
            self.problem(
                "A password-protected post is imported for subscribers only.",
                record=record,
                field="wp:post_password",
            )
            if access in (Access.PUBLIC, Access.MEMBERS):
                access, plan_ids = Access.SUBSCRIBERS, []

        return ImportedPost(
            source=SOURCE,
            source_id=post_id,
            title=title,
            slug=_child_text(element, "post_name") or slugify(title),
            body_html=body,
            dek=_plain(_child_text(element, "encoded", EXCERPT_NS)),
            status=status,
            published_at=published_at,
            author_ids=bylines,
            section=section,
            tags=_unique(tags),
            feature_image=self._feature_image(meta, index["attachments"], record),
            meta_title=meta.get("_yoast_wpseo_title", ""),
            meta_description=meta.get("_yoast_wpseo_metadesc", ""),
            access=access,
            plan_ids=plan_ids,
            teaser_break_at=teaser_break_at,
            old_url=self._old_url(element, wp_status),
        )

    def _date(self, element, record):
        for field_name in ("post_date_gmt", "post_date"):
            value = _child_text(element, field_name)
            if not value or value.startswith("0000-00-00"):
                continue
            try:
                moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                self.fail(
                    f"{value!r} is not a date (YYYY-MM-DD HH:MM:SS).",
                    record=record,
                    field=f"wp:{field_name}",
                )
            # Drafts carry no GMT date; their local date is taken as UTC.
            return moment.replace(tzinfo=UTC)
        return None

    def _section(self, categories, meta, index):
        if not categories:
            return "", []
        primary = index["term_slugs"].get(meta.get("_yoast_wpseo_primary_category", ""))
        slugs = [slug for slug, _ in categories]
        if primary not in slugs:
            primary = slugs[0]
        others = [(slug, label) for slug, label in categories if slug != primary]
        return primary, others

    def _feature_image(self, meta, attachments, record):
        thumbnail = meta.get("_thumbnail_id", "")
        if not thumbnail:
            return None
        attachment = attachments.get(thumbnail)
        if attachment is None:
            self.problem(
                f"The featured image (attachment {thumbnail}) is not in the export.",
                record=record,
                field="_thumbnail_id",
            )
            return None
        return ImportedImage(
            # By its address, as the body's pictures are, so a picture used
            # in both is imported once; the writer finds it in the uploads.
            url=attachment["url"],
            path="" if attachment["url"] else attachment["path"],
            alt=attachment["alt"],
            caption=attachment["caption"],
            credit=attachment["credit"],
        )

    def _old_url(self, element, wp_status):
        if wp_status != "publish":
            return ""
        link = _child_text(element, "link")
        if not link:
            return ""
        parts = urlsplit(link)
        path = parts.path or "/"
        return f"{path}?{parts.query}" if parts.query else path

    # -- Leaky Paywall -------------------------------------------------------

    def _choose_default_access(self, index):
        if self._default_access:
            return self._default_access
        # Leaky Paywall restricts posts site-wide unless a post says otherwise;
        # where it is in use, a post left to that default is for subscribers.
        if index["uses_leaky_paywall"] or self.subscribers is not None:
            return Access.SUBSCRIBERS
        return Access.PUBLIC

    def _access(self, meta, levels, record):
        raw = meta.get(LEAKY_PAYWALL_VISIBILITY, "")
        if not raw:
            return self.default_access, []
        visibility = php_unserialize_or_none(raw)
        if not isinstance(visibility, dict):
            self.problem(
                "Leaky Paywall's visibility cannot be read; the post is for subscribers only.",
                record=record,
                field=LEAKY_PAYWALL_VISIBILITY,
            )
            return Access.SUBSCRIBERS, []
        kind = str(visibility.get("visibility_type") or "default")
        if kind in ("default", "always"):
            # "always" lets the named levels past the meter; Masthead has no
            # meter, so everyone else keeps the site's default.
            return self.default_access, []
        if kind not in ("only", "onlyalways"):
            self.problem(
                f"Unknown Leaky Paywall visibility {kind!r}; the post is for subscribers only.",
                record=record,
                field=LEAKY_PAYWALL_VISIBILITY,
            )
            return Access.SUBSCRIBERS, []
        chosen = visibility.get("only_visible" if kind == "only" else "only_always_visible")
        chosen = {str(v) for v in (chosen.values() if isinstance(chosen, dict) else chosen or [])}
        if not chosen:
            return Access.SUBSCRIBERS, []
        if any(levels.get(level_id, {}).get("free") for level_id in chosen):
            # A free level among those allowed: any signed-in member.
            return Access.MEMBERS, []
        paid = {level_id for level_id, level in levels.items() if not level["free"]}
        if not paid or paid <= chosen:
            return Access.SUBSCRIBERS, []
        unknown = sorted(chosen - paid)
        if unknown:
            self.problem(
                f"Leaky Paywall levels {', '.join(unknown)} have no subscribers in the export.",
                record=record,
                field=LEAKY_PAYWALL_VISIBILITY,
            )
        return Access.PLANS, [_level_plan_id(level_id) for level_id in sorted(chosen & paid)]

    def _subscriber_rows(self, check_only=False):
        """(line, row) of the subscriber CSV, its columns checked first."""
        path = self.subscribers
        if not path.is_file():
            self.fail("The subscriber file does not exist.", file=path)
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as error:
                self.fail(f"Not a CSV file: {error}", file=path, line=1)
            if not header:
                self.fail("The subscriber file is empty.", file=path, line=1)
            columns = [LEAKY_PAYWALL_COLUMNS.get(_column(c), _column(c)) for c in header]
            missing = [c for c in LEAKY_PAYWALL_REQUIRED if c not in columns]
            if "level_id" not in columns and "level" not in columns:
                missing.append("level_id")
            if missing:
                self.fail(
                    f"Not Leaky Paywall's subscriber export: no {', '.join(missing)} column "
                    f"(found: {', '.join(header)}).",
                    file=path,
                    line=1,
                    field=missing[0],
                )
            if check_only:
                return
            try:
                for row in reader:
                    line = reader.line_num
                    if not any(cell.strip() for cell in row):
                        continue
                    if len(row) != len(columns):
                        self.fail(
                            f"{len(row)} values where the header names {len(columns)}.",
                            file=path,
                            line=line,
                        )
                    yield line, {c: _cell(v) for c, v in zip(columns, row, strict=True)}
            except (csv.Error, UnicodeDecodeError) as error:
                self.fail(f"Not a CSV file: {error}", file=path, line=reader.line_num)

    def _levels(self):
        """Leaky Paywall's levels, as the subscriber export shows them."""
        levels = {}
        for _line, row in self._subscriber_rows():
            level_id = row.get("level_id") or slugify(row.get("level", "")) or "0"
            level = levels.setdefault(
                level_id,
                {"name": "", "free": True, "stripe_price_ids": set()},
            )
            name = row.get("description") or row.get("level") or ""
            if name and not level["name"]:
                level["name"] = name
            if _amount(row.get("price", "")) > 0 or row.get("payment_gateway", "") not in (
                "",
                "free_registration",
            ):
                level["free"] = False
            price_id = row.get("plan", "")
            if price_id and row.get("payment_gateway", "").startswith("stripe"):
                level["stripe_price_ids"].add(price_id)
        for level_id, level in levels.items():
            level["name"] = level["name"] or f"Leaky Paywall level {level_id}"
        return levels

    def _readers(self, levels):
        now = timezone.now()
        seen = set()
        path = self.subscribers
        for line, row in self._subscriber_rows():
            email = row.get("user_email", "").strip().lower()
            try:
                validate_email(email)
            except ValidationError:
                self.problem(
                    f"{email or 'An empty address'!r} is not an email address; skipped.",
                    file=path,
                    line=line,
                    field="user_email",
                )
                continue
            if email in seen:
                self.problem(
                    f"{email} appears again; the first row is kept.",
                    file=path,
                    line=line,
                    field="user_email",
                )
                continue
            seen.add(email)
            level_id = row.get("level_id") or slugify(row.get("level", "")) or "0"
            level = levels.get(level_id, {"free": True, "name": ""})
            expires_at = self._subscriber_date(row, "expires", path, line)
            created_at = self._subscriber_date(row, "created", path, line)
            payment_status = row.get("payment_status", "").lower()
            gateway = row.get("payment_gateway", "").lower()
            reader = ImportedReader(
                source=SOURCE,
                source_id=row.get("user_id") or email,
                email=email,
                name=f"{row.get('first_name', '')} {row.get('last_name', '')}".strip(),
                created_at=created_at,
                line=line,
            )
            current = payment_status in ("active", "trial", "trialing") and (
                expires_at is None or expires_at > now
            )
            if level["free"] or not current:
                reader.status = ReaderStatus.FREE
                if not level["free"]:
                    reader.labels = [f"Lapsed: {level['name']}"]
                    reader.note = (
                        f"Leaky Paywall: {level['name']}, {payment_status or 'no status'}."
                    )
                    reader.stripe_customer_id = _stripe_id(row.get("subscriber_id", ""), "cus_")
            elif gateway.startswith("stripe"):
                reader.status = ReaderStatus.PAID
                reader.plan_id = _level_plan_id(level_id)
                reader.stripe_customer_id = _stripe_id(row.get("subscriber_id", ""), "cus_")
                reader.stripe_subscription_id = _stripe_id(row.get("subscription_id", ""), "sub_")
                reader.stripe_price_id = row.get("plan", "")
                if not reader.stripe_customer_id and not reader.stripe_subscription_id:
                    self.problem(
                        "A Stripe subscriber without a Stripe customer id; imported as "
                        "complimentary until the expiry date.",
                        file=path,
                        line=line,
                        field="subscriber_id",
                    )
                    reader.status = ReaderStatus.COMP
                    reader.expires_at = expires_at
            else:
                # Manual grants and payments Masthead cannot take over (PayPal,
                # offline) keep their access until the date they were paid to.
                reader.status = ReaderStatus.COMP
                reader.plan_id = _level_plan_id(level_id)
                reader.expires_at = expires_at
                if gateway not in ("manual", "free_registration", ""):
                    reader.note = f"Paid through {gateway} on Leaky Paywall."
            yield reader

    def _subscriber_date(self, row, column, path, line):
        value = row.get(column, "").strip()
        if not value or value.lower() == "never" or value.startswith("0000-00-00"):
            return None
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%B %d, %Y"):
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        self.fail(f"{value!r} is not a date.", file=path, line=line, field=column)


# The Reporting Tool's columns, with the older export's names mapped onto them.
LEAKY_PAYWALL_COLUMNS = {
    "email": "user_email",
    "username": "user_login",
    "gateway": "payment_gateway",
}
LEAKY_PAYWALL_REQUIRED = ("user_email", "payment_status", "expires")


def _level_plan_id(level_id):
    return f"level-{level_id}"


def _column(name):
    return re.sub(r"\s+", "_", name.strip().lower())


def _cell(value):
    # The Reporting Tool writes ids with leading zeros as ="0123" for spreadsheets.
    value = value.strip()
    if value.startswith('="') and value.endswith('"'):
        return value[2:-1]
    return value


def _amount(value):
    try:
        return float(value.replace(",", "") or 0)
    except ValueError:
        return 0.0


def _stripe_id(value, prefix):
    return value if value.startswith(prefix) else ""


def _unique(values):
    return list(OrderedDict.fromkeys(v for v in values if v))


# -- XML helpers -------------------------------------------------------------


def _local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _namespace(tag):
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _parse_message(error):
    return str(error).split(":")[0]


def _child_text(element, name, namespace=None):
    for child in element:
        if _local(child.tag) != name:
            continue
        if namespace is not None:
            child_namespace = _namespace(child.tag)
            matches = (
                namespace.match(child_namespace)
                if isinstance(namespace, re.Pattern)
                else child_namespace == namespace
            )
            if not matches:
                continue
        return child.text or ""
    return ""


def _terms(element):
    """(domain, nicename, label) of an item's categories, tags and bylines."""
    for child in element:
        if _local(child.tag) == "category" and not _namespace(child.tag):
            yield (
                child.get("domain", ""),
                child.get("nicename", ""),
                html.unescape((child.text or "").strip()),
            )


def _meta(element):
    meta = {}
    for child in element:
        if _local(child.tag) == "postmeta":
            key = _child_text(child, "meta_key")
            if key and key not in meta:
                meta[key] = _child_text(child, "meta_value")
    return meta


def _plain(fragment):
    text = re.sub(r"<[^>]+>", " ", fragment or "")
    return " ".join(html.unescape(text).split())


# -- bodies ----------------------------------------------------------------------


def wordpress_html(content, attachments=None):
    """WordPress's stored post content as plain HTML for the block converter.

    Returns (html, teaser_break_at, problems). Gutenberg's block comments are
    read (embeds, the "more" block) and dropped; the classic editor's
    paragraphs, which WordPress only adds on display (wpautop), are added;
    `[caption]` and `[embed]` shortcodes become figures and embeds. Other
    shortcodes are plugins' output that exists only on the old site: they
    are listed as problems and left as text, so the editor sees them.
    """
    attachments = attachments or {}
    problems = []
    text = (content or "").replace("\r\n", "\n")
    text = MORE_MARKER.sub(f"\n\n{TEASER_MARK}\n\n", text, count=1)
    text = MORE_MARKER.sub("", text)
    text = text.replace("<!--noteaser-->", "")
    gutenberg = bool(BLOCK_COMMENT.search(text))
    if gutenberg:
        text = _gutenberg(text, problems)
    text = SHORTCODE_CAPTION.sub(lambda m: _caption(m, attachments), text)
    text = re.sub(r"<img\b[^>]*>", lambda m: _original_image(m.group(0), attachments), text)
    text = re.sub(
        r"<figure\b.*?</figure>", lambda m: _credited(m.group(0), attachments), text, flags=re.S
    )
    text = SHORTCODE_EMBED.sub(lambda m: _embed(m.group(1).strip()), text)
    if not gutenberg:
        text = _autop(text)
    found = sorted(
        {m.group(2) for m in OTHER_SHORTCODE.finditer(_outside_code(text)) if not m.group(1)}
    )
    if found:
        problems.append(
            "Shortcodes kept as text (they have no Masthead equivalent): "
            + ", ".join(f"[{name}]" for name in found)
        )
    text = re.sub(rf"<p>\s*{re.escape(TEASER_MARK)}\s*</p>", TEASER_MARK, text)
    body, at = split_at_marker(text.strip(), [TEASER_MARK])
    return body, at, problems


def _gutenberg(text, problems):
    def replace(match):
        closing, name, attributes, _self_closing = match.groups()
        if closing:
            return ""
        if name in ("embed", "core-embed/youtube", "core-embed/vimeo", "core-embed/twitter") or (
            name.startswith("core-embed/")
        ):
            try:
                url = json.loads(attributes or "{}").get("url", "")
            except ValueError:
                url = ""
            if url:
                return f"\n{_embed(url)}\n<!--masthead-skip-->"
        return ""

    text = BLOCK_COMMENT.sub(replace, text)
    # The embed's own markup (a wrapper with the URL as text) follows the
    # comment; the iframe above stands for it.
    text = re.sub(
        r"<!--masthead-skip-->\s*<figure[^>]*wp-block-embed.*?</figure>", "", text, flags=re.S
    )
    return text.replace("<!--masthead-skip-->", "")


def _caption(match, attachments):
    attributes, inner = match.group(1), match.group(2)
    image = re.search(r"<img\b[^>]*>", inner, re.S)
    if image is None:
        return inner
    linked = re.search(r"<a\b[^>]*>\s*<img\b[^>]*>\s*</a>", inner, re.S)
    figure_image = image.group(0)
    caption = inner.replace(linked.group(0) if linked else figure_image, "", 1).strip()
    if not caption:
        found = re.search(r'caption="([^"]*)"', attributes)
        caption = found.group(1) if found else ""
    return f"\n\n<figure>{figure_image}<figcaption>{caption}</figcaption></figure>\n\n"


def _original_image(tag, attachments):
    """Point an image at its attachment's original file, not the resized copy
    WordPress put in the post (`-1024x683.jpg`): the uploads folder and the
    attachment list hold the original."""
    found = re.search(r"\bwp-image-(\d+)\b", tag)
    attachment = attachments.get(found.group(1)) if found else None
    if attachment is None or not attachment["url"]:
        return tag
    return re.sub(
        r'\ssrc="[^"]*"', f' src="{html.escape(attachment["url"], quote=True)}"', tag, count=1
    )


def _credited(figure, attachments):
    """A figure of an attachment with a credit (WordPress keeps it in the
    picture's metadata, not in the post) gets it, as the converter reads it."""
    found = re.search(r"\bwp-image-(\d+)\b", figure)
    attachment = attachments.get(found.group(1)) if found else None
    if attachment is None or not attachment["credit"] or "credit" in figure:
        return figure
    credit = html.escape(attachment["credit"])
    return figure[: -len("</figure>")] + f'<small class="credit">{credit}</small></figure>'


def _embed(url):
    return f'<iframe src="{html.escape(url, quote=True)}"></iframe>'


def _autop(text):
    """WordPress's wpautop, as much as the block converter needs: blank lines
    separate paragraphs; a URL alone on a line is an embed."""
    pieces = []
    for chunk in re.split(r"\n\s*\n", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        url = STANDALONE_URL.match(chunk)
        if url:
            pieces.append(_embed(url.group(1)))
        elif chunk == TEASER_MARK or STARTS_WITH_BLOCK.match(chunk):
            pieces.append(chunk)
        else:
            pieces.append("<p>" + chunk.replace("\n", "<br>\n") + "</p>")
    return "\n\n".join(pieces)


def _outside_code(text):
    return re.sub(r"<(pre|code)\b.*?</\1>", "", text, flags=re.S | re.I)


# -- PHP's serialize(), which WordPress uses for structured post meta ------------


class PHPSerialError(ValueError):
    pass


def php_unserialize_or_none(value):
    if not value:
        return None
    try:
        return php_unserialize(value)
    except (ValueError, IndexError):
        return None


def php_unserialize(value: str):
    """Read PHP's serialize() output: null, booleans, numbers, strings and
    arrays (as dicts keyed as PHP keys them). Objects are refused."""
    data = value.encode("utf-8")
    result, end = _php_value(data, 0)
    if end != len(data):
        raise PHPSerialError("trailing data")
    return result


def _php_value(data, at):
    try:
        kind = chr(data[at])
    except IndexError as error:
        raise PHPSerialError("unexpected end") from error
    if kind == "N":
        return None, _expect(data, at + 1, b";")
    if kind in "bid":
        end = data.index(b";", at)
        raw = data[at + 2 : end].decode()
        try:
            if kind == "b":
                return raw == "1", end + 1
            if kind == "i":
                return int(raw), end + 1
            return float(raw), end + 1
        except ValueError as error:
            raise PHPSerialError(f"bad {kind}") from error
    if kind == "s":
        colon = data.index(b":", at + 2)
        length = int(data[at + 2 : colon])
        start = colon + 2
        text = data[start : start + length].decode("utf-8", errors="replace")
        return text, _expect(data, _expect(data, start + length, b'"'), b";")
    if kind == "a":
        colon = data.index(b":", at + 2)
        count = int(data[at + 2 : colon])
        position = _expect(data, colon + 1, b"{")
        result = {}
        for _ in range(count):
            key, position = _php_value(data, position)
            item, position = _php_value(data, position)
            result[str(key)] = item
        return result, _expect(data, position, b"}")
    raise PHPSerialError(f"unsupported type {kind!r}")


def _expect(data, at, token):
    if data[at : at + len(token)] != token:
        raise PHPSerialError(f"expected {token!r} at {at}")
    return at + len(token)


def read_wordpress(path: str | Path, **options) -> WordPressParser:
    """A parser for `path`, checked."""
    parser = WordPressParser(path, **options)
    parser.check()
    return parser
