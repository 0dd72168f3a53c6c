"""What a narration reads, in order, as speakable sentences.

Headline, dek, "By ..." byline, then the body's readable elements, then a
closing line naming the magazine. Figures (captions, credits), pull quotes
(they repeat the body) and the teaser break are not read.

The body's readable elements are counted the way static/audio/player.js
numbers them on the page, so timings line up with `data-paragraph`:
in document order, every `p`, `li`, `h1`-`h6` and `blockquote` with text,
except those inside a `blockquote`, `figure`, `aside` or `figcaption`. A
heading block, a block quote and each element of a rich-text paragraph block
are one element each.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .normalise import speakable

READABLE_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
SKIPPED_CONTAINERS = {"blockquote", "figure", "aside", "figcaption"}
SKIPPED_BLOCKS = {"figure", "pull_quote", "teaser_break"}

# Seconds of silence after each kind of part, and between its sentences.
PAUSE_AFTER = {
    "headline": 0.8,
    "dek": 0.7,
    "byline": 1.0,
    "paragraph": 0.75,
    "heading": 0.6,
    "quote": 0.75,
    "closing": 0.5,
    "title": 1.0,
}
SENTENCE_PAUSE = 0.3
LEAD_IN = 0.25


@dataclass
class Part:
    """One thing read aloud: a headline, a body paragraph, the closing line."""

    kind: str
    # The body element's index (the page's data-paragraph), None outside the body.
    paragraph: int | None
    text: str
    sentences: list[str] = field(default_factory=list)
    # The text as the page shows it, where that differs (a block quote's
    # attribution follows a dash there): its words are the ones highlighted.
    shown: str = ""

    @property
    def pause_after(self):
        return PAUSE_AFTER.get(self.kind, 0.75)


class _ElementTexts(HTMLParser):
    """Text of each readable element of a rich-text fragment, in document order.

    A list item's own text leaves out its nested lists (their items are
    elements of their own); an element counts if it has any text at all.
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # [tag, own text parts, has text]
        self.stack = []  # (tag, element index or None)
        self.loose = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self._text("\n")
            return
        if tag in {"img", "hr", "input", "meta", "link", "wbr"}:
            return
        inside_skipped = any(t in SKIPPED_CONTAINERS for t, _ in self.stack)
        if tag in READABLE_TAGS and not inside_skipped:
            self.elements.append([tag, [], False])
            self.stack.append((tag, len(self.elements) - 1))
        else:
            self.stack.append((tag, None))

    def handle_endtag(self, tag):
        for position in range(len(self.stack) - 1, -1, -1):
            if self.stack[position][0] == tag:
                del self.stack[position:]
                return

    def _text(self, data):
        owner = None
        for tag, element in reversed(self.stack):
            if element is not None:
                owner = element
                break
            if tag in {"ul", "ol"}:
                # Text in a nested list belongs to its own items.
                break
        for _, element in self.stack:
            if element is not None and data.strip():
                self.elements[element][2] = True
        if owner is not None:
            self.elements[owner][1].append(data)
        elif not self.stack or all(e is None for _, e in self.stack):
            self.loose.append(data)

    def handle_data(self, data):
        self._text(data)


def html_elements(html):
    """[(tag, text)] of the readable elements of a rich-text fragment."""
    parser = _ElementTexts()
    parser.feed(html)
    parser.close()
    result = []
    loose = "".join(parser.loose).strip()
    if loose and not parser.elements:
        result.append(("p", loose))
    for tag, parts, has_text in parser.elements:
        if has_text:
            result.append((tag, _squash("".join(parts))))
    return result


def _squash(text):
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def body_elements(blocks):
    """[(kind, text, shown)] for the body's readable elements, in page order;
    `shown` is the text as the page has it, when that differs."""
    elements = []
    for block in blocks:
        kind = block.block_type
        if kind in SKIPPED_BLOCKS:
            continue
        if kind == "paragraph":
            for tag, text in html_elements(block.value.source):
                if tag.startswith("h"):
                    elements.append(("heading", text, ""))
                elif tag == "blockquote":
                    elements.append(("quote", text, ""))
                else:
                    elements.append(("paragraph", text, ""))
        elif kind == "heading":
            if str(block.value).strip():
                elements.append(("heading", str(block.value).strip(), ""))
        elif kind == "block_quote":
            text = block.value["text"].strip()
            attribution = (block.value.get("attribution") or "").strip()
            if text:
                # templates/newsroom/blocks/block_quote.html
                elements.append(
                    (
                        "quote",
                        text + (f"\n{attribution}." if attribution else ""),
                        text + (f"\n\u2014 {attribution}" if attribution else ""),
                    )
                )
    return elements


def byline(authors):
    names = [author.name for author in authors]
    if not names:
        return ""
    if len(names) == 1:
        return f"By {names[0]}."
    return f"By {', '.join(names[:-1])} and {names[-1]}."


def article_authors(article):
    """Authors of an article, also for a page rebuilt from a revision."""
    bylines = list(article.bylines.all())
    bylines.sort(key=lambda b: (b.sort_order is None, b.sort_order or 0))
    return [b.author for b in bylines]


def closing_line(magazine_name, teaser=False, level="subscribers"):
    if teaser:
        who = "members" if level == "members" else "subscribers"
        return (
            f"That is the opening of this article. The full narration is for {who} "
            f"of {magazine_name}."
        )
    return f"You have been listening to an article from {magazine_name}."


def article_parts(article, magazine_name, teaser=False, rewrite=None):
    """The parts an article's narration reads, with speakable sentences.

    `teaser` reads only the teaser blocks (access.teaser.split_body).
    `rewrite(sentence) -> text` normalises a sentence; by default the news
    normaliser, the pipeline passes one that applies the lexicon too.
    """
    from masthead.access.teaser import split_body

    blocks = split_body(article)[0] if teaser else list(article.body)
    parts = [Part("headline", None, article.title)]
    if article.dek:
        parts.append(Part("dek", None, article.dek))
    credit = byline(article_authors(article))
    if credit:
        parts.append(Part("byline", None, credit))
    for position, (kind, text, shown) in enumerate(body_elements(blocks)):
        parts.append(Part(kind, position, text, shown=shown))
    parts.append(
        Part(
            "closing",
            None,
            closing_line(magazine_name, teaser, getattr(article, "effective_access_level", "")),
        )
    )
    for part in parts:
        part.sentences = (rewrite or speakable)(part.text)
    return parts
