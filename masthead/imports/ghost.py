"""Ghost's JSON export (Ghost 4, 5 and 6: `db[0].data`) and its members CSV,
read as neutral records.

The JSON is streamed with ijson, never loaded whole: a first pass keeps the
small tables (tags, users, roles, the joins, newsletters, tiers, prices,
members' labels, newsletters, Stripe customers and subscriptions), then the
posts and the members are read one at a time.

Bodies: the post's `html` when the export has it, else its Lexical (Ghost 5
and 6) or mobiledoc (Ghost 4 and earlier) rendered to HTML here. The paywall
card (`<!--members-only-->` in Ghost's HTML, a `paywall` card or node in the
editor formats) is the teaser break. Visibility public / members / paid /
tiers becomes the access level.
"""

from __future__ import annotations

import csv
import html as html_lib
import json
from collections import defaultdict
from datetime import UTC, datetime

import ijson

from .records import (
    Access,
    ImportedAuthor,
    ImportedImage,
    ImportedNewsletter,
    ImportedPlan,
    ImportedPost,
    ImportedReader,
    ImportedSection,
    Parser,
    PostStatus,
    ReaderStatus,
    split_at_marker,
)

SOURCE = "ghost"
SUPPORTED_MAJOR_VERSIONS = ("4", "5", "6")
PAYWALL_MARKERS = (
    "<!--members-only-->",
    "<!--kg-card-begin: paywall--><!--kg-card-end: paywall-->",
)
GHOST_URL = "__GHOST_URL__"
STAFF_ROLES = {"Owner", "Administrator", "Editor", "Super Editor"}
VISIBILITY = {
    "public": Access.PUBLIC,
    "members": Access.MEMBERS,
    "paid": Access.SUBSCRIBERS,
    "tiers": Access.PLANS,
}
STATUS = {
    "published": PostStatus.PUBLISHED,
    "sent": PostStatus.PUBLISHED,
    "draft": PostStatus.DRAFT,
    "scheduled": PostStatus.SCHEDULED,
}
MEMBER_STATUS = {"free": ReaderStatus.FREE, "paid": ReaderStatus.PAID, "comped": ReaderStatus.COMP}
SIDE_TABLES = {
    "tags",
    "users",
    "roles",
    "roles_users",
    "posts_authors",
    "posts_tags",
    "posts_meta",
    "posts_products",
    "posts_tiers",
    "newsletters",
    "products",
    "tiers",
    "stripe_prices",
    "stripe_products",
    "labels",
    "members_labels",
    "members_newsletters",
    "members_stripe_customers",
    "members_stripe_customers_subscriptions",
    "members_products",
    "settings",
}
MEMBERS_CSV_REQUIRED = ("email",)


def parse_time(value, *, parser=None, record="", field=""):
    """Ghost writes ISO 8601 (UTC) times; old exports, milliseconds."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        if parser is not None:
            parser.problem(f"not a date: {value!r}", record=record, field=field)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _local(url):
    """A Ghost URL with its `__GHOST_URL__` placeholder made a path."""
    return (url or "").replace(GHOST_URL, "")


class GhostParser(Parser):
    source = SOURCE
    side_file_names = ("members", "images")

    def __init__(self, path, members=None, images=None, **side_files):
        super().__init__(path, members=members, images=images, **side_files)
        self.version = ""
        self.site_hosts = ()

    # Reading the JSON ------------------------------------------------------

    def _stream(self, tables):
        """(table, row) for the rows of `tables`, in file order, one pass."""
        prefixes = {f"db.item.data.{table}.item": table for table in tables}
        builder = None
        table = None
        depth = 0
        try:
            with self.path.open("rb") as file:
                for prefix, event, value in ijson.parse(file, use_float=True):
                    if builder is None:
                        if prefix in prefixes and event in ("start_map", "start_array"):
                            table = prefixes[prefix]
                            builder = ijson.ObjectBuilder()
                            depth = 0
                        else:
                            continue
                    builder.event(event, value)
                    if event in ("start_map", "start_array"):
                        depth += 1
                    elif event in ("end_map", "end_array"):
                        depth -= 1
                    if depth == 0:
                        yield table, builder.value
                        builder = None
        except ijson.JSONError as error:
            self.fail(f"not valid JSON: {error}", field="")
        except UnicodeDecodeError as error:
            self.fail(f"not UTF-8 text: {error}")

    def check(self):
        if not self.path.is_file():
            self.fail("file not found")
        meta = None
        has_data = False
        try:
            with self.path.open("rb") as file:
                for prefix, event, value in ijson.parse(file):
                    if prefix == "db.item.meta.version":
                        meta = str(value)
                    if prefix == "db.item.data" and event == "start_map":
                        has_data = True
                    if meta is not None and has_data:
                        break
        except ijson.JSONError as error:
            self.fail(f"not valid JSON: {error}")
        if not has_data:
            self.fail("not a Ghost export: no db[0].data", field="db")
        if meta is None:
            self.fail("not a Ghost export: no db[0].meta.version", field="meta.version")
        if meta.split(".")[0] not in SUPPORTED_MAJOR_VERSIONS:
            self.fail(
                f"Ghost version {meta} is not one this importer reads "
                f"(Ghost {', '.join(SUPPORTED_MAJOR_VERSIONS)})",
                field="meta.version",
            )
        self.version = meta
        members = self.side_files.get("members")
        if members is not None:
            self._check_members_csv(members)

    def _side_tables(self):
        tables = defaultdict(list)
        for table, row in self._stream(SIDE_TABLES):
            if not isinstance(row, dict):
                self.fail(f"a row of {table} is not an object", record=table)
            tables[table].append(row)
        return tables

    def records(self):
        self.problems = []
        tables = self._side_tables()
        joins = _Joins(tables)
        yield from self._sections(tables, joins)
        yield from self._authors(tables, joins)
        for row in tables["newsletters"]:
            yield ImportedNewsletter(
                SOURCE,
                str(row["id"]),
                row.get("name") or row.get("slug") or "",
                row.get("slug") or "",
            )
        yield from self._plans(tables)
        for _table, row in self._stream({"posts"}):
            post = self._post(row, joins)
            if post is not None:
                yield post
        members = self.side_files.get("members")
        if members is not None:
            yield from self._members_csv(members, joins)
        else:
            for _, row in self._stream({"members"}):
                reader = self._member(row, joins)
                if reader is not None:
                    yield reader

    # Records ------------------------------------------------------------------

    def _sections(self, tables, joins):
        primary = set(joins.primary_tag.values())
        for tag in tables["tags"]:
            if str(tag["id"]) in primary:
                yield ImportedSection(
                    SOURCE,
                    str(tag["id"]),
                    tag.get("name") or tag.get("slug") or "",
                    tag.get("slug") or "",
                    tag.get("description") or "",
                )

    def _authors(self, tables, joins):
        for user in tables["users"]:
            user_id = str(user["id"])
            roles = joins.roles.get(user_id, set())
            avatar = user.get("profile_image")
            yield ImportedAuthor(
                SOURCE,
                user_id,
                user.get("name") or user.get("slug") or user_id,
                slug=user.get("slug") or "",
                email=user.get("email") or "",
                bio=user.get("bio") or "",
                avatar=ImportedImage(url=_local(avatar), alt=user.get("name") or "")
                if avatar
                else None,
                job_title="",
                is_staff=bool(roles & STAFF_ROLES) and user.get("status") != "inactive",
            )

    def _plans(self, tables):
        prices = {str(row["id"]): row for row in tables["stripe_prices"]}
        stripe_products = defaultdict(list)
        for row in tables["stripe_products"]:
            stripe_products[str(row.get("product_id"))].append(row.get("stripe_product_id"))
        for tier in tables["tiers"] or tables["products"]:
            if tier.get("type") == "free":
                continue
            tier_id = str(tier["id"])
            price_ids = []
            for key in ("monthly_price_id", "yearly_price_id"):
                price = prices.get(str(tier.get(key)))
                if price and price.get("stripe_price_id"):
                    price_ids.append(price["stripe_price_id"])
            for price in prices.values():
                if (
                    price.get("stripe_product_id") in stripe_products.get(tier_id, [])
                    and price.get("stripe_price_id") not in price_ids
                ):
                    price_ids.append(price["stripe_price_id"])
            yield ImportedPlan(
                SOURCE,
                tier_id,
                tier.get("name") or tier.get("slug") or tier_id,
                stripe_price_ids=price_ids,
                monthly_amount=tier.get("monthly_price"),
                yearly_amount=tier.get("yearly_price"),
                currency=(tier.get("currency") or "").lower(),
            )

    def _post(self, row, joins):
        post_id = str(row.get("id", ""))
        if not post_id:
            self.problem("post without an id; skipped", record="posts", field="id")
            return None
        if row.get("type", "post") == "page":
            self.problem("a Ghost page (not a post) is not imported", record=post_id, field="type")
            return None
        title = row.get("title") or ""
        if not title.strip():
            self.problem("post without a title; skipped", record=post_id, field="title")
            return None
        status = STATUS.get(row.get("status") or "")
        if status is None:
            self.problem(
                f"unknown status {row.get('status')!r}; imported as a draft",
                record=post_id,
                field="status",
            )
            status = PostStatus.DRAFT
        visibility = row.get("visibility") or "public"
        access = VISIBILITY.get(visibility)
        if access is None:
            # Ghost 5 also stores NQL filters ("tier:x,tier:y") for tiers.
            access = (
                Access.PLANS
                if "tier" in visibility or "product" in visibility
                else Access.SUBSCRIBERS
            )
            self.problem(
                f"visibility {visibility!r} read as {access}", record=post_id, field="visibility"
            )
        body = self._body(row, post_id)
        body, teaser_at = split_at_marker(body, PAYWALL_MARKERS)
        meta = joins.posts_meta.get(post_id, {})
        feature = row.get("feature_image")
        tags = joins.post_tags.get(post_id, [])
        primary = joins.primary_tag.get(post_id, "")
        return ImportedPost(
            SOURCE,
            post_id,
            title=title,
            slug=row.get("slug") or "",
            body_html=body,
            dek=row.get("custom_excerpt") or "",
            status=status,
            published_at=parse_time(
                row.get("published_at"), parser=self, record=post_id, field="published_at"
            )
            or parse_time(row.get("created_at")),
            updated_at=parse_time(row.get("updated_at")),
            author_ids=joins.post_authors.get(post_id, [])
            or ([str(row["author_id"])] if row.get("author_id") else []),
            section=primary,
            tags=[
                joins.tag_names[tag_id]
                for tag_id in tags
                if tag_id != primary and not joins.tag_names.get(tag_id, "#").startswith("#")
            ],
            feature_image=ImportedImage(
                url=_local(feature),
                alt=meta.get("feature_image_alt") or row.get("feature_image_alt") or "",
                caption=_text(
                    meta.get("feature_image_caption") or row.get("feature_image_caption") or ""
                ),
            )
            if feature
            else None,
            meta_title=meta.get("meta_title") or row.get("meta_title") or "",
            meta_description=meta.get("meta_description") or row.get("meta_description") or "",
            access=access,
            plan_ids=joins.post_tiers.get(post_id, []),
            teaser_break_at=teaser_at,
            old_url=f"/{row.get('slug')}/" if row.get("slug") else "",
        )

    def _body(self, row, post_id):
        if row.get("html"):
            return _local(row["html"])
        for field, render in (("lexical", render_lexical), ("mobiledoc", render_mobiledoc)):
            source = row.get(field)
            if not source:
                continue
            try:
                document = json.loads(source) if isinstance(source, str) else source
                html, unknown = render(document)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
                self.fail(f"{field} body cannot be read: {error}", record=post_id, field=field)
            for card in sorted(unknown):
                self.problem(
                    f"{field} card {card!r} has no Masthead block; kept as its text",
                    record=post_id,
                    field=field,
                )
            return _local(html)
        return ""

    def _member(self, row, joins):
        member_id = str(row.get("id", ""))
        status = MEMBER_STATUS.get(row.get("status") or "free")
        if status is None:
            self.problem(
                f"unknown member status {row.get('status')!r}; imported as free",
                record=member_id,
                field="status",
            )
            status = ReaderStatus.FREE
        return self._reader(
            member_id,
            email=row.get("email") or "",
            name=row.get("name") or "",
            note=row.get("note") or "",
            created_at=parse_time(row.get("created_at")),
            labels=joins.member_labels.get(member_id, []),
            newsletters=joins.member_newsletters.get(member_id, []),
            status=status,
            customer_id=joins.member_customer.get(member_id, ""),
            joins=joins,
        )

    def _reader(
        self,
        member_id,
        *,
        email,
        name,
        note,
        created_at,
        labels,
        newsletters,
        status,
        customer_id,
        joins,
        line=None,
        tier_names=(),
    ):
        subscription = joins.customer_subscription.get(customer_id) if customer_id else None
        comp = joins.member_comp.get(member_id)
        plan_id = ""
        expires_at = None
        if comp is not None:
            plan_id = str(comp.get("product_id") or comp.get("tier_id") or "")
            expires_at = parse_time(comp.get("expiry_at"))
        elif tier_names:
            plan_id = next(
                (joins.tier_by_name[n] for n in tier_names if n in joins.tier_by_name), ""
            )
        if status == ReaderStatus.PAID and not customer_id:
            self.problem(
                "paid member without a Stripe customer; imported as free",
                record=member_id or email,
                field="stripe_customer_id",
                line=line,
            )
            status = ReaderStatus.FREE
        return ImportedReader(
            SOURCE,
            member_id or email.lower(),
            email.strip(),
            name=name,
            created_at=created_at,
            labels=labels,
            note=note,
            newsletters=newsletters,
            status=status,
            stripe_customer_id=customer_id if status == ReaderStatus.PAID else "",
            stripe_subscription_id=(subscription or {}).get("subscription_id", "")
            if status == ReaderStatus.PAID
            else "",
            stripe_price_id=(subscription or {}).get("stripe_price_id", "")
            if status == ReaderStatus.PAID
            else "",
            plan_id=plan_id,
            expires_at=expires_at,
            line=line,
        )

    # The members CSV -------------------------------------------------------------

    def _check_members_csv(self, path):
        if not path.is_file():
            self.fail("file not found", file=path)
        try:
            with path.open(newline="", encoding="utf-8-sig") as file:
                header = next(csv.reader(file), None)
        except UnicodeDecodeError as error:
            self.fail(f"not UTF-8 text: {error}", file=path, line=1)
        if not header:
            self.fail("empty file: no header row", file=path, line=1)
        missing = [column for column in MEMBERS_CSV_REQUIRED if column not in header]
        if missing:
            self.fail(
                f"not a Ghost members CSV: no {', '.join(missing)} column (columns: {', '.join(header)})",
                file=path,
                line=1,
                field=missing[0],
            )

    def _members_csv(self, path, joins):
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            for row in reader:
                line = reader.line_num
                if None in row:
                    self.fail(
                        "more values than columns",
                        file=path,
                        line=line,
                        record=row.get("email") or "",
                    )
                if row.get("deleted_at"):
                    continue
                member_id = (row.get("id") or "").strip()
                customer_id = (row.get("stripe_customer_id") or "").strip()
                comped = (row.get("complimentary_plan") or "").strip().lower() in (
                    "true",
                    "1",
                    "yes",
                )
                status = ReaderStatus.PAID if customer_id else ReaderStatus.FREE
                if comped:
                    status = ReaderStatus.COMP
                yield self._reader(
                    member_id,
                    email=row.get("email") or "",
                    name=row.get("name") or "",
                    note=row.get("note") or "",
                    created_at=parse_time(
                        row.get("created_at"), parser=self, record=member_id, field="created_at"
                    ),
                    labels=[
                        label.strip()
                        for label in (row.get("labels") or "").split(",")
                        if label.strip()
                    ],
                    newsletters=joins.member_newsletters.get(member_id)
                    or (
                        [n["id"] for n in joins.newsletters[:1]]
                        if (row.get("subscribed_to_emails") or "").strip().lower() == "true"
                        else []
                    ),
                    status=status,
                    customer_id=customer_id,
                    joins=joins,
                    line=line,
                    tier_names=[
                        t.strip() for t in (row.get("tiers") or "").split(",") if t.strip()
                    ],
                )


class _Joins:
    """The export's join tables, as lookups by id."""

    def __init__(self, tables):
        self.tag_names = {str(t["id"]): t.get("name") or "" for t in tables["tags"]}
        self.newsletters = [{"id": str(n["id"])} for n in tables["newsletters"]]
        roles = {str(r["id"]): r.get("name") for r in tables["roles"]}
        self.roles = defaultdict(set)
        for row in tables["roles_users"]:
            self.roles[str(row["user_id"])].add(roles.get(str(row["role_id"])))
        self.post_authors = self._ordered(tables["posts_authors"], "post_id", "author_id")
        self.post_tags = self._ordered(tables["posts_tags"], "post_id", "tag_id")
        self.primary_tag = {
            post_id: tag_ids[0]
            for post_id, tag_ids in self.post_tags.items()
            if tag_ids and not self.tag_names.get(tag_ids[0], "#").startswith("#")
        }
        self.post_tiers = self._ordered(
            tables["posts_tiers"] or tables["posts_products"],
            "post_id",
            "tier_id" if tables["posts_tiers"] else "product_id",
        )
        self.posts_meta = {str(row["post_id"]): row for row in tables["posts_meta"]}
        labels = {str(row["id"]): row.get("name") or "" for row in tables["labels"]}
        self.member_labels = defaultdict(list)
        for row in tables["members_labels"]:
            self.member_labels[str(row["member_id"])].append(labels.get(str(row["label_id"]), ""))
        self.member_newsletters = defaultdict(list)
        for row in tables["members_newsletters"]:
            self.member_newsletters[str(row["member_id"])].append(str(row["newsletter_id"]))
        self.member_customer = {
            str(row["member_id"]): row.get("customer_id") or ""
            for row in tables["members_stripe_customers"]
        }
        self.customer_subscription = {}
        for row in tables["members_stripe_customers_subscriptions"]:
            current = self.customer_subscription.get(row.get("customer_id"))
            if current is None or row.get("status") in ("active", "trialing", "past_due"):
                self.customer_subscription[row.get("customer_id")] = row
        self.member_comp = {}
        for row in tables["members_products"]:
            self.member_comp[str(row["member_id"])] = row
        self.tier_by_name = {
            (t.get("name") or ""): str(t["id"]) for t in (tables["tiers"] or tables["products"])
        }

    @staticmethod
    def _ordered(rows, key, value):
        grouped = defaultdict(list)
        for row in sorted(rows, key=lambda r: (str(r[key]), r.get("sort_order") or 0)):
            grouped[str(row[key])].append(str(row[value]))
        return grouped


def _text(html):
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(html, "lxml").get_text(" ").split()) if "<" in html else html


# Lexical -------------------------------------------------------------------------

TEXT_FORMATS = (
    (1, "strong"),
    (2, "em"),
    (4, "s"),
    (8, "u"),
    (16, "code"),
    (32, "sub"),
    (64, "sup"),
)


def render_lexical(document):
    """(HTML, unknown card types) of a Lexical document."""
    unknown = set()
    root = document["root"]
    return "".join(_lexical(node, unknown) for node in root.get("children", [])), unknown


def _esc(value):
    return html_lib.escape(str(value or ""), quote=True)


def _figure(src, alt="", caption="", credit=""):
    cap = caption or ""
    if credit:
        cap += f' <span class="credit">{_esc(credit)}</span>'
    figcaption = f"<figcaption>{cap}</figcaption>" if cap else ""
    return f'<figure><img src="{_esc(src)}" alt="{_esc(alt)}">{figcaption}</figure>'


def _lexical(node, unknown):
    kind = node.get("type")
    children = "".join(_lexical(child, unknown) for child in node.get("children", []))
    if kind in ("text", "extended-text"):
        text = _esc(node.get("text", ""))
        fmt = node.get("format") or 0
        for bit, tag in TEXT_FORMATS:
            if isinstance(fmt, int) and fmt & bit:
                text = f"<{tag}>{text}</{tag}>"
        return text
    if kind == "linebreak":
        return "<br>"
    if kind in ("link", "autolink"):
        return f'<a href="{_esc(node.get("url"))}">{children}</a>'
    if kind == "paragraph":
        return f"<p>{children}</p>"
    if kind in ("heading", "extended-heading"):
        tag = node.get("tag") or "h2"
        return f"<{tag}>{children}</{tag}>"
    if kind in ("quote", "extended-quote"):
        return f"<blockquote><p>{children}</p></blockquote>"
    if kind == "aside":
        return f'<blockquote class="kg-blockquote-alt"><p>{children}</p></blockquote>'
    if kind == "list":
        tag = "ol" if node.get("listType") == "number" else "ul"
        return f"<{tag}>{children}</{tag}>"
    if kind == "listitem":
        return f"<li>{children}</li>"
    if kind == "horizontalrule":
        return "<hr>"
    if kind == "paywall":
        return PAYWALL_MARKERS[0]
    if kind == "image":
        return _figure(node.get("src"), node.get("alt"), node.get("caption"), node.get("credit"))
    if kind == "gallery":
        images = "".join(
            f'<img src="{_esc(image.get("src"))}" alt="{_esc(image.get("alt"))}">'
            for image in node.get("images", [])
        )
        caption = f"<figcaption>{node.get('caption')}</figcaption>" if node.get("caption") else ""
        return f'<figure class="kg-gallery-card">{images}{caption}</figure>'
    if kind == "codeblock":
        language = node.get("language") or ""
        cls = f' class="language-{_esc(language)}"' if language else ""
        return f"<pre><code{cls}>{_esc(node.get('code'))}</code></pre>"
    if kind == "embed":
        caption = f"<figcaption>{node.get('caption')}</figcaption>" if node.get("caption") else ""
        return (
            f'<figure class="kg-card kg-embed-card"><a href="{_esc(node.get("url"))}">'
            f"{_esc(node.get('url'))}</a>{caption}</figure>"
        )
    if kind == "html":
        return node.get("html") or ""
    if kind == "markdown":
        return "".join(
            f"<p>{_esc(line)}</p>"
            for line in (node.get("markdown") or "").split("\n\n")
            if line.strip()
        )
    if kind == "bookmark":
        metadata = node.get("metadata") or {}
        title = metadata.get("title") or node.get("url")
        return f'<p><a href="{_esc(node.get("url"))}">{_esc(title)}</a></p>'
    if kind == "callout":
        return f"<p>{node.get('calloutText') or ''}</p>"
    if kind == "button":
        return f'<p><a href="{_esc(node.get("buttonUrl"))}">{_esc(node.get("buttonText"))}</a></p>'
    if children:
        return children
    unknown.add(kind)
    texts = [
        str(value)
        for key, value in node.items()
        if key not in ("type", "version") and isinstance(value, str) and value.strip()
    ]
    return f"<div>{''.join(f'<p>{_esc(t)}</p>' for t in texts)}</div>" if texts else ""


# Mobiledoc ------------------------------------------------------------------------


def render_mobiledoc(document):
    """(HTML, unknown card types) of a mobiledoc document (0.3)."""
    unknown = set()
    markups = document.get("markups", [])
    atoms = document.get("atoms", [])
    cards = document.get("cards", [])
    out = []
    for section in document.get("sections", []):
        kind = section[0]
        if kind == 1:  # markup section
            tag = section[1].lower()
            out.append(f"<{tag}>{_markers(section[2], markups, atoms)}</{tag}>")
        elif kind == 3:  # list section
            tag = section[1].lower()
            items = "".join(f"<li>{_markers(item, markups, atoms)}</li>" for item in section[2])
            out.append(f"<{tag}>{items}</{tag}>")
        elif kind == 2:  # image section
            out.append(_figure(section[1]))
        elif kind == 10:  # card section
            name, payload = cards[section[1]]
            out.append(_mobiledoc_card(name, payload, unknown))
    return "".join(out), unknown


def _markers(markers, markups, atoms):
    html = []
    open_tags = []
    for marker in markers:
        kind, opened, closed, value = marker
        for index in opened:
            tag, *rest = markups[index]
            attrs = rest[0] if rest else []
            pairs = dict(zip(attrs[::2], attrs[1::2], strict=False))
            attr_html = "".join(f' {k}="{_esc(v)}"' for k, v in pairs.items() if k == "href")
            html.append(f"<{tag.lower()}{attr_html}>")
            open_tags.append(tag.lower())
        if kind == 0:
            html.append(_esc(value))
        else:
            atom_name, atom_text, _ = atoms[value]
            html.append("<br>" if atom_name == "soft-return" else _esc(atom_text))
        for _ in range(closed):
            html.append(f"</{open_tags.pop()}>")
    return "".join(html)


def _mobiledoc_card(name, payload, unknown):
    if name == "image":
        return _figure(payload.get("src"), payload.get("alt"), payload.get("caption"))
    if name == "hr":
        return "<hr>"
    if name == "paywall":
        return PAYWALL_MARKERS[0]
    if name == "html":
        return payload.get("html") or ""
    if name == "code":
        language = payload.get("language") or ""
        cls = f' class="language-{_esc(language)}"' if language else ""
        return f"<pre><code{cls}>{_esc(payload.get('code'))}</code></pre>"
    if name == "markdown":
        return "".join(
            f"<p>{_esc(part)}</p>"
            for part in (payload.get("markdown") or "").split("\n\n")
            if part.strip()
        )
    if name == "embed":
        caption = (
            f"<figcaption>{payload.get('caption')}</figcaption>" if payload.get("caption") else ""
        )
        return (
            f'<figure class="kg-card kg-embed-card"><a href="{_esc(payload.get("url"))}">'
            f"{_esc(payload.get('url'))}</a>{caption}</figure>"
        )
    if name == "gallery":
        images = "".join(
            f'<img src="{_esc(i.get("src"))}" alt="{_esc(i.get("alt"))}">'
            for i in payload.get("images", [])
        )
        return f'<figure class="kg-gallery-card">{images}</figure>'
    if name == "bookmark":
        metadata = payload.get("metadata") or {}
        return f'<p><a href="{_esc(payload.get("url"))}">{_esc(metadata.get("title") or payload.get("url"))}</a></p>'
    unknown.add(name)
    texts = [str(v) for v in payload.values() if isinstance(v, str) and v.strip()]
    return f"<div>{''.join(f'<p>{_esc(t)}</p>' for t in texts)}</div>" if texts else ""
