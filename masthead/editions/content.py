"""An issue as the editions see it: plain data gathered once, rendered twice.

`gather(issue)` reads the live issue and its live articles into `IssueContent`
(no template, no image bytes yet); `IssueContent.fingerprint()` is what the
content hash covers, so a build is skipped when nothing a reader would see
has changed; `load_pictures()` reads the image renditions the renderers embed.
"""

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.files import File
from django.utils.encoding import iri_to_uri
from lxml import etree
from lxml import html as lxml_html
from wagtail.images.models import Filter
from wagtail.models import Site
from wagtail.rich_text import expand_db_html

logger = logging.getLogger(__name__)

# Bump when the templates or the stylesheets change what a build produces.
LAYOUT_VERSION = "1"
PICTURE_SPEC = "width-1400|format-jpeg|jpegquality-80"
COVER_SPEC = "width-1600|format-jpeg|jpegquality-82"
# Body text runs in two columns in the PDF from this length on; shorter
# pieces read better across the page.
TWO_COLUMN_MIN_WORDS = 350
# Threads resizing images for a build (the pixel work releases the GIL).
RENDITION_WORKERS = 4

ALLOWED_TAGS = {"p", "br", "a", "em", "strong", "ul", "ol", "li", "sup", "sub", "code"}
RENAMED_TAGS = {"b": "strong", "i": "em", "h2": "p", "h3": "p", "h4": "p"}
DROPPED_TAGS = {"script", "style", "iframe", "object", "embed", "img", "video", "audio"}
LINK_SCHEMES = {"http", "https", "mailto"}


@dataclass
class Picture:
    """An image file embedded in an edition (once, however often it is shown)."""

    key: str
    image: object
    spec: str
    data: bytes | None = None
    width: int = 0
    height: int = 0

    @property
    def alt(self):
        return self.image.title

    def fingerprint(self):
        image = self.image
        return [
            image.pk,
            image.file.name,
            image.title,
            image.caption,
            image.credit,
            image.focal_point_x,
            image.focal_point_y,
            self.spec,
        ]


@dataclass
class Figure:
    """A picture where it is placed, with the words printed beside it."""

    picture: Picture
    caption: str = ""
    credit: str = ""

    @property
    def shown(self):
        return self.picture.data is not None


@dataclass
class Block:
    kind: str  # paragraph, heading, figure, block_quote, pull_quote
    html: str = ""
    text: str = ""
    attribution: str = ""
    figure: Figure | None = None

    @property
    def lines(self):
        return [line for line in self.text.splitlines() if line.strip()]


@dataclass
class Story:
    """One article as printed: headline, byline, date and body."""

    article: object
    number: int
    headline: str
    dek: str
    section_title: str
    authors: list
    date: object
    lead: Figure | None
    blocks: list
    words: int

    @property
    def anchor(self):
        return f"article-{self.article.pk}"

    @property
    def file_name(self):
        return f"articles/{self.number:02d}-{self.article.slug}.xhtml"

    @property
    def byline(self):
        names = [author.name for author in self.authors]
        if not names:
            return ""
        if len(names) == 1:
            return f"By {names[0]}"
        return "By " + ", ".join(names[:-1]) + " and " + names[-1]

    @property
    def two_columns(self):
        return self.words >= TWO_COLUMN_MIN_WORDS


@dataclass
class IssueContent:
    issue: object
    magazine: str
    publisher: str
    language: str
    site_url: str
    cover: Picture | None
    sections: list  # [(section title, [Story])]
    pictures: dict = field(default_factory=dict)

    @property
    def stories(self):
        return [story for _, stories in self.sections for story in stories]

    @property
    def title(self):
        return f"{self.magazine}, {self.issue.label}"

    def fingerprint(self):
        issue = self.issue
        return {
            "layout": LAYOUT_VERSION,
            "magazine": [self.magazine, self.publisher, self.language, self.site_url],
            "issue": [
                issue.pk,
                issue.title,
                issue.volume,
                issue.number,
                issue.cover_date.isoformat(),
                issue.cover_lines,
                issue.cover_image_id,
            ],
            "articles": [
                [
                    story.article.pk,
                    story.article.live_revision_id,
                    story.article.last_published_at.isoformat()
                    if story.article.last_published_at
                    else None,
                    story.section_title,
                    [author.name for author in story.authors],
                ]
                for story in self.stories
            ],
            "pictures": [self.pictures[key].fingerprint() for key in sorted(self.pictures)],
        }

    def content_hash(self):
        encoded = json.dumps(self.fingerprint(), sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()

    def load_pictures(self):
        """Read each picture's rendition, making the missing ones in parallel
        (image work in threads, as Wagtail's own `create_renditions` does;
        storage and database in this thread). A picture whose file is missing
        or unreadable is left out of the edition rather than failing it."""
        missing = []
        for picture in self.pictures.values():
            if picture.data is not None:
                continue
            rendition_filter = Filter(spec=picture.spec)
            try:
                rendition = picture.image.find_existing_rendition(rendition_filter)
            except ObjectDoesNotExist:
                missing.append((picture, rendition_filter))
                continue
            _read_rendition(picture, rendition)
        sources = {}
        for picture, _ in missing:
            try:
                with picture.image.open_file() as handle:
                    sources[picture.key] = handle.read()
            except Exception:
                logger.warning("Edition image %s is unreadable", picture.image.pk, exc_info=True)
        if not sources:
            return self
        workers = min(RENDITION_WORKERS, os.cpu_count() or 1, len(sources))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [
                (
                    picture,
                    rendition_filter,
                    pool.submit(
                        picture.image.generate_rendition_file,
                        rendition_filter,
                        source=File(BytesIO(sources[picture.key]), name=picture.image.file.name),
                    ),
                )
                for picture, rendition_filter in missing
                if picture.key in sources
            ]
        for picture, rendition_filter, job in jobs:
            try:
                generated = job.result()
                rendition, _ = picture.image.renditions.get_or_create(
                    filter_spec=rendition_filter.spec,
                    focal_point_key=rendition_filter.get_cache_key(picture.image),
                    defaults={"file": generated},
                )
            except Exception:
                logger.warning(
                    "Edition image %s could not be resized", picture.image.pk, exc_info=True
                )
                continue
            _read_rendition(picture, rendition)
        return self


def _read_rendition(picture, rendition):
    try:
        with rendition.file.open("rb") as handle:
            picture.data = handle.read()
        picture.width, picture.height = rendition.width, rendition.height
    except Exception:  # a missing or unreadable file; the build goes on
        logger.warning("Edition image %s could not be read", picture.image.pk, exc_info=True)
        picture.data = None


def magazine_settings():
    from masthead.core.models import MagazineSettings

    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        return MagazineSettings()
    return MagazineSettings.for_site(site)


def gather(issue):
    """The issue's live content, ready for `fingerprint()` and the renderers."""
    magazine = magazine_settings()
    content = IssueContent(
        issue=issue,
        magazine=magazine.name,
        publisher=magazine.publisher,
        language=magazine.language or "en",
        site_url=settings.SITE_URL,
        cover=None,
        sections=[],
    )

    def picture(image, spec):
        key = f"image-{image.pk}" if spec == PICTURE_SPEC else f"cover-{image.pk}"
        if key not in content.pictures:
            content.pictures[key] = Picture(key=key, image=image, spec=spec)
        return content.pictures[key]

    def figure(image, caption="", credit=""):
        return Figure(
            picture(image, PICTURE_SPEC),
            caption=caption or image.caption,
            credit=credit or image.credit,
        )

    if issue.cover_image_id:
        content.cover = picture(issue.cover_image, COVER_SPEC)
    number = 0
    for section, articles in issue.contents_by_section():
        stories = []
        for article in articles:
            number += 1
            lead = figure(article.lead_image, article.caption) if article.lead_image else None
            blocks = []
            for block in article.body:
                kind, value = block.block_type, block.value
                if kind == "paragraph":
                    cleaned = clean_rich_text(value.source, content.site_url)
                    if cleaned:
                        blocks.append(Block(kind, html=cleaned))
                elif kind == "heading":
                    blocks.append(Block(kind, text=value))
                elif kind in ("block_quote", "pull_quote"):
                    blocks.append(Block(kind, text=value["text"], attribution=value["attribution"]))
                elif kind == "figure" and value["image"] is not None:
                    blocks.append(
                        Block(
                            kind, figure=figure(value["image"], value["caption"], value["credit"])
                        )
                    )
            stories.append(
                Story(
                    article=article,
                    number=number,
                    headline=article.title,
                    dek=article.dek,
                    section_title=section.title,
                    authors=article.authors,
                    date=article.date,
                    lead=lead,
                    blocks=blocks,
                    words=article.word_count(),
                )
            )
        content.sections.append((section.title, stories))
    return content


def clean_rich_text(source, base_url):
    """Wagtail rich text -> well-formed markup that is both XHTML and HTML.

    Internal links are expanded and made absolute; only the inline and list
    elements an article body uses survive, with no attributes but a link's
    href.
    """
    expanded = expand_db_html(source or "").strip()
    if not expanded:
        return ""
    parsed = lxml_html.fragment_fromstring(expanded, create_parent="div")
    container = etree.Element("div")
    _copy_children(parsed, container, base_url)
    parts = []
    if container.text and container.text.strip():
        stray = etree.Element("p")
        stray.text = container.text
        parts.append(etree.tostring(stray, encoding="unicode", method="xml"))
    for child in container:
        parts.append(etree.tostring(child, encoding="unicode", method="xml", with_tail=False))
        if child.tail and child.tail.strip():
            stray = etree.Element("p")
            stray.text = child.tail
            parts.append(etree.tostring(stray, encoding="unicode", method="xml"))
    return "".join(parts)


def _append_text(target, text):
    if not text:
        return
    if len(target):
        target[-1].tail = (target[-1].tail or "") + text
    else:
        target.text = (target.text or "") + text


def _copy_children(source, target, base_url):
    _append_text(target, source.text)
    for child in source:
        tag = child.tag if isinstance(child.tag, str) else None
        tag = RENAMED_TAGS.get(tag, tag)
        if tag in ALLOWED_TAGS:
            copy = etree.SubElement(target, tag)
            if tag == "a":
                href = _safe_href(child.get("href"), base_url)
                if href:
                    copy.set("href", href)
            _copy_children(child, copy, base_url)
        elif tag is not None and tag not in DROPPED_TAGS:
            _copy_children(child, target, base_url)
        _append_text(target, child.tail)


def _safe_href(href, base_url):
    if not href:
        return None
    absolute = urljoin(base_url + "/", href.strip())
    try:
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    if scheme not in LINK_SCHEMES:
        return None
    return iri_to_uri(absolute).replace(" ", "%20")
