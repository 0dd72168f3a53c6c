"""HTML from an old platform turned into article body blocks.

Each top-level element becomes the block an editor would have used:
paragraphs (and lists, which the paragraph's rich text holds), headings,
figures with their captions, quotes, embeds (kept as links), code and
horizontal rules. Anything else (a table, a gallery, a button card) becomes
an `html` block holding its sanitised HTML, so nothing is dropped silently;
only what sanitising removes (scripts, styles, frames, event handlers,
`javascript:` links) is lost, on purpose.

The result is StreamField raw data: a list of {"type", "value"} dicts.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import nh3
from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from masthead.core.sanitise import sanitise_html

INLINE_TAGS = {"b", "i", "a", "sup", "br"}
BLOCK_CONTAINERS = {"div", "section", "article", "main", "body", "html", "span"}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass
class ImageRequest:
    src: str
    alt: str = ""
    caption: str = ""
    credit: str = ""


@dataclass
class Conversion:
    blocks: list[dict] = field(default_factory=list)
    # (src, reason) of pictures that could not be brought in
    missing_images: list[tuple[str, str]] = field(default_factory=list)


def html_to_blocks(
    html: str,
    *,
    teaser_break_at: int | None = None,
    resolve_image: Callable[[ImageRequest], int | None] | None = None,
    rewrite_link: Callable[[str], str | None] | None = None,
) -> Conversion:
    """Blocks of `html`, with a teaser break where the parser found one.

    `resolve_image` returns the id of a Masthead picture for a src (or None
    when it cannot be had: the picture is listed as missing, its caption kept
    as a paragraph); `rewrite_link` returns a new href for a link to another
    imported post, or None to keep it.
    """
    conversion = Conversion()
    converter = _Converter(conversion, resolve_image, rewrite_link)
    if teaser_break_at is not None:
        converter.convert(html[:teaser_break_at])
        conversion.blocks.append({"type": "teaser_break", "value": None})
        converter.convert(html[teaser_break_at:])
    else:
        converter.convert(html)
    return conversion


def inline_html(fragment: str, rewrite_link=None) -> str:
    """Rich text for a paragraph: bold, italic, links, superscript, breaks."""
    fragment = re.sub(r"<(/?)strong\b", r"<\1b", fragment)
    fragment = re.sub(r"<(/?)em\b", r"<\1i", fragment)
    cleaned = nh3.clean(
        fragment,
        tags=INLINE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    if rewrite_link is not None:

        def swap(match):
            new = rewrite_link(match.group(2))
            return match.group(0) if new is None else f'{match.group(1)}{new}"'

        cleaned = re.sub(r'(<a href=")([^"]*)"', swap, cleaned)
    return cleaned.strip()


TAG = re.compile(r"<[^>]*>")


def _has_text(cleaned: str) -> bool:
    """Whether sanitised (so well-formed) HTML has any text outside its tags."""
    return bool(html_lib.unescape(TAG.sub("", cleaned)).strip())


def _text(node) -> str:
    return " ".join(node.get_text(" ").split())


def _attr(node: Tag, name: str) -> str:
    """An attribute's value as one string (BeautifulSoup gives lists for
    multi-valued ones such as class)."""
    value = node.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


class _Converter:
    def __init__(
        self,
        conversion: Conversion,
        resolve_image: Callable[[ImageRequest], int | None] | None,
        rewrite_link: Callable[[str], str | None] | None,
    ) -> None:
        self.conversion = conversion
        self.resolve_image = resolve_image
        self.rewrite_link = rewrite_link
        self.loose_inline: list[str] = []

    @property
    def blocks(self):
        return self.conversion.blocks

    def convert(self, html):
        soup = BeautifulSoup(html or "", "lxml")
        root = soup.body or soup
        self.walk(root.children)
        self.flush_inline()

    def walk(self, nodes):
        for node in list(nodes):
            if isinstance(node, Comment):
                continue
            if isinstance(node, NavigableString):
                if str(node).strip():
                    self.loose_inline.append(str(node))
                continue
            if not isinstance(node, Tag):
                continue
            name = node.name
            if name in INLINE_TAGS or name in {"strong", "em", "u", "s", "code", "small", "mark"}:
                self.loose_inline.append(str(node))
                continue
            self.flush_inline()
            self.element(node)

    def flush_inline(self):
        if self.loose_inline:
            self.paragraph("".join(self.loose_inline))
            self.loose_inline = []

    def add(self, kind, value):
        self.blocks.append({"type": kind, "value": value})

    def paragraph(self, fragment, tag="p"):
        text = inline_html(fragment, self.rewrite_link)
        if _has_text(text):
            self.add("paragraph", f"<{tag}>{text}</{tag}>")

    def element(self, node: Tag):
        name = node.name
        classes = set(node.get("class") or [])
        if name in {"script", "style", "noscript", "template"}:
            return
        if name == "p":
            if node.find("img") is not None and not _text(node):
                for img in node.find_all("img"):
                    self.figure(img, "", "")
                return
            self.paragraph(node.decode_contents())
        elif name in HEADINGS:
            if _text(node):
                self.add("heading", _text(node))
        elif name in {"ul", "ol"}:
            items = [
                f"<li>{inline_html(li.decode_contents(), self.rewrite_link)}</li>"
                for li in node.find_all("li", recursive=False)
            ]
            items = [item for item in items if item != "<li></li>"]
            if items:
                self.add("paragraph", f"<{name}>{''.join(items)}</{name}>")
        elif name == "blockquote":
            footer = node.find(["footer", "cite"])
            attribution = _text(footer) if footer else ""
            if footer:
                footer.extract()
            paragraphs = [_text(p) for p in node.find_all("p")] or [_text(node)]
            text = "\n".join(p for p in paragraphs if p)
            if text:
                kind = "pull_quote" if "kg-blockquote-alt" in classes else "block_quote"
                self.add(kind, {"text": text, "attribution": attribution})
        elif name == "hr":
            self.add("horizontal_rule", None)
        elif name == "pre":
            code = node.find("code")
            language = ""
            for cls in (code.get("class") or []) if code else []:
                if cls.startswith("language-"):
                    language = cls.removeprefix("language-")
            self.add("code", {"code": node.get_text(), "language": language})
        elif name == "img":
            self.figure(node, "", "")
        elif name == "figure":
            self.figure_element(node, classes)
        elif name == "iframe" and _attr(node, "src").startswith(("http://", "https://")):
            self.add("embed", {"url": _attr(node, "src"), "caption": ""})
        elif name in BLOCK_CONTAINERS and not classes & {"kg-card"}:
            self.walk(node.children)
            self.flush_inline()
        else:
            self.raw(node)

    def figure_element(self, node: Tag, classes):
        credit = ""
        credit_node = node.find(class_=re.compile("credit"))
        if credit_node is not None:
            credit = _text(credit_node)
            credit_node.extract()
        caption_node = node.find("figcaption")
        caption = _text(caption_node) if caption_node else ""
        images = node.find_all("img")
        iframe = node.find("iframe")
        if "kg-embed-card" in classes or (iframe is not None and not images):
            url = _attr(iframe, "src") if iframe is not None else ""
            if not url:
                link = node.find("a", href=True)
                url = _attr(link, "href") if link is not None else ""
            if url.startswith(("http://", "https://")):
                self.add("embed", {"url": url, "caption": caption})
            else:
                self.raw(node)
            return
        if len(images) == 1 and not node.find(["table", "pre", "blockquote"]):
            self.figure(images[0], caption, credit)
            return
        if len(images) > 1:
            # A gallery: each picture becomes a figure, the caption goes on the last.
            for position, img in enumerate(images):
                self.figure(img, caption if position == len(images) - 1 else "", "")
            return
        self.raw(node)

    def figure(self, img: Tag, caption, credit):
        src = _attr(img, "src")
        alt = _attr(img, "alt")
        image_id = None
        if src and self.resolve_image is not None:
            image_id = self.resolve_image(
                ImageRequest(src=src, alt=alt, caption=caption, credit=credit)
            )
        if image_id is None:
            self.conversion.missing_images.append((src, "not found" if src else "no src"))
            if caption:
                self.add("paragraph", f"<p><i>{inline_html(caption)}</i></p>")
            return
        self.add("figure", {"image": image_id, "caption": caption, "credit": credit})

    def raw(self, node: Tag):
        cleaned = sanitise_html(str(node)).strip()
        if cleaned and (_has_text(cleaned) or "<img" in cleaned):
            self.add("html", cleaned)
