"""Read the demo article files (see FORMAT.md) into plain Python values.

Nothing here touches the database: `parse_article_file` turns one file into a
`DemoArticle` whose body is a list of `(block_type, value)` pairs named after
the blocks of `newsroom.blocks.ArticleBodyBlock`. A figure's value is a
`Figure` description; the loader draws its picture and swaps in the image.

A file that breaks the format raises `ArticleFormatError`, which names the file
and the line, so whoever wrote it can fix it without reading this module.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .catalogue import ACCESS_LEVELS, AUTHORS_BY_SLUG, ISSUES, SECTION_ORDER

REQUIRED_KEYS = (
    "title",
    "dek",
    "section",
    "authors",
    "issue",
    "date",
    "access",
    "image",
    "caption",
    "credit",
)
OPTIONAL_KEYS = ("tags", "correction")
FILE_NAME = re.compile(r"^(?P<issue>\d+)-(?P<order>\d+)-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.txt$")
LINK = re.compile(r"\[(?P<text>[^\[\]]+)\]\((?P<url>[^()\s]+)\)")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
ITALIC = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])")
DIRECTIVE = re.compile(r"^\[[a-z][a-z -]*(?::.*)?\]$")
LINK_SCHEMES = ("https://", "http://", "mailto:")

# Word counts of the body, as issue 2 asks for them.
MIN_WORDS = 600
MAX_WORDS = 1500
MIN_ARTICLES_PER_ISSUE = 8


class ArticleFormatError(ValueError):
    """A demo article file that does not follow FORMAT.md."""

    def __init__(self, path, line, message):
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Figure:
    """An in-body or lead picture still to be drawn."""

    description: str
    caption: str
    credit: str


@dataclass
class DemoArticle:
    path: Path
    slug: str
    order: int
    title: str
    dek: str
    section: str
    authors: list[str]
    issue: int
    date: date
    access: str
    image: Figure
    tags: list[str] = field(default_factory=list)
    correction: str = ""
    body: list[tuple] = field(default_factory=list)

    def figures(self):
        return [value for kind, value in self.body if kind == "figure"]

    def plain_text_blocks(self):
        """The words a reader reads in the body: text, lists, headings, quotes."""
        texts = []
        for kind, value in self.body:
            if kind == "paragraph":
                texts.append(html_to_text(value))
            elif kind == "heading":
                texts.append(value)
            elif kind in ("block_quote", "pull_quote"):
                texts.append(value["text"])
        return texts

    def word_count(self):
        return sum(len(text.split()) for text in self.plain_text_blocks())


def html_to_text(markup):
    """Plain text of the small HTML this module writes (tags dropped, entities undone)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def plain_inline(text):
    """Inline markup reduced to its words, for headings and quotes (plain-text blocks)."""
    text = LINK.sub(lambda m: m.group("text"), text)
    text = BOLD.sub(r"\1", text)
    return ITALIC.sub(r"\1", text)


def inline_html(text, path=None, line=None):
    """One paragraph's inline markup as rich-text HTML, with the text escaped.

    Links are set aside first so that their addresses are never touched by the
    emphasis rules; everything else is escaped before `<b>`/`<i>` are added.
    """
    links = []

    def keep_link(match):
        url = match.group("url")
        if not url.startswith(LINK_SCHEMES):
            raise ArticleFormatError(
                path, line, f"link address {url!r} must start with https://, http:// or mailto:"
            )
        label = emphasis(html.escape(match.group("text"), quote=False))
        links.append(f'<a href="{html.escape(url, quote=True)}">{label}</a>')
        return f"\x00{len(links) - 1}\x00"

    text = LINK.sub(keep_link, text.replace("\x00", ""))
    if "](" in text:
        raise ArticleFormatError(
            path, line, "a link that cannot be read: write [text](https://address), no spaces"
        )
    text = emphasis(html.escape(text, quote=False))
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


def emphasis(escaped):
    escaped = BOLD.sub(r"<b>\1</b>", escaped)
    return ITALIC.sub(r"<i>\1</i>", escaped)


def _split_quote(text):
    quote, bar, attribution = text.rpartition("|")
    if not bar:
        return text.strip(), ""
    return quote.strip(), attribution.strip()


class _BodyReader:
    """Turns body lines into blocks; one instance per file."""

    def __init__(self, path):
        self.path = path
        self.blocks = []
        self.paragraph = []  # (line number, text)
        self.items = []  # list items: (first line number, [text lines])
        self.quote = None  # [kind, [texts], attribution, first line]
        self.teaser_line = None

    def error(self, line, message):
        raise ArticleFormatError(self.path, line, message)

    def flush(self):
        if self.paragraph:
            first_line = self.paragraph[0][0]
            text = " ".join(part for _, part in self.paragraph)
            self.blocks.append(("paragraph", f"<p>{inline_html(text, self.path, first_line)}</p>"))
            self.paragraph = []
        if self.items:
            items = "".join(
                f"<li>{inline_html(' '.join(lines), self.path, number)}</li>"
                for number, lines in self.items
            )
            self.blocks.append(("paragraph", f"<ul>{items}</ul>"))
            self.items = []
        self.flush_quote()

    def flush_quote(self):
        if self.quote:
            kind, texts, attribution, _ = self.quote
            self.blocks.append(
                (kind, {"text": plain_inline(" ".join(texts)), "attribution": attribution})
            )
            self.quote = None

    def read(self, numbered_lines):
        for number, raw in numbered_lines:
            self.read_line(number, raw.rstrip())
        self.flush()
        if not self.blocks:
            self.error(None, "the body is empty (write it after the '---' line)")
        return self.blocks

    def read_line(self, number, line):
        stripped = line.strip()
        if not stripped:
            self.flush()
        elif stripped.startswith("#"):
            if not stripped.startswith("## ") or stripped.startswith("###"):
                self.error(number, "a subheading is written '## Subheading' (two #, a space)")
            self.flush()
            self.blocks.append(("heading", plain_inline(stripped[3:].strip())))
        elif stripped.startswith(">"):
            kind = "pull_quote" if stripped.startswith(">>") else "block_quote"
            text, attribution = _split_quote(stripped.lstrip(">"))
            if not text:
                self.error(number, "a quote line needs text after '>' or '>>'")
            if self.quote and (self.quote[0] != kind or self.quote[2]):
                self.flush_quote()
            self.flush_text()
            if self.quote:
                self.quote[1].append(text)
                self.quote[2] = attribution
            else:
                self.quote = [kind, [text], attribution, number]
        elif stripped.startswith("- "):
            self.flush_paragraph_and_quote()
            self.items.append((number, [stripped[2:].strip()]))
        elif self.items and line[:1].isspace():
            self.items[-1][1].append(stripped)  # an indented line continues the item
        elif stripped == "[teaser-break]":
            if self.teaser_line:
                self.error(
                    number, f"a second [teaser-break] (the first is on line {self.teaser_line})"
                )
            self.teaser_line = number
            self.flush()
            self.blocks.append(("teaser_break", None))
        elif stripped.startswith("[figure:"):
            self.flush()
            self.blocks.append(("figure", self.figure(number, stripped)))
        elif DIRECTIVE.match(stripped):
            self.error(
                number, f"unknown directive {stripped!r} (use [figure: ...] or [teaser-break])"
            )
        else:
            if self.items or self.quote:
                self.flush()
            self.paragraph.append((number, stripped))

    def flush_text(self):
        quote, self.quote = self.quote, None
        self.flush()
        self.quote = quote

    def flush_paragraph_and_quote(self):
        items, self.items = self.items, []
        self.flush()
        self.items = items

    def figure(self, number, line):
        if not line.endswith("]"):
            self.error(number, "a figure line must end with ']'")
        parts = [part.strip() for part in line[len("[figure:") : -1].split("|")]
        if len(parts) != 3 or not all(parts):
            self.error(
                number, "a figure is written [figure: description | caption | credit], all three"
            )
        return Figure(*parts)


def _parse_header(path, numbered_lines):
    values = {}
    lines_of = {}
    for number, line in numbered_lines:
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon or not key or " " in key:
            raise ArticleFormatError(
                path, number, f"expected 'key: value' in the header, got {line!r}"
            )
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            known = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
            raise ArticleFormatError(path, number, f"unknown header key {key!r} (known: {known})")
        if key in values:
            raise ArticleFormatError(
                path, number, f"{key!r} appears twice (first on line {lines_of[key]})"
            )
        values[key] = value.strip()
        lines_of[key] = number
    return values, lines_of


def parse_article_text(text, path, known_issues=None):
    """Parse the text of one article file; `path` names it in errors and gives its slug."""
    path = Path(path)
    match = FILE_NAME.match(path.name)
    if not match:
        raise ArticleFormatError(
            path,
            None,
            "the file name must be <issue>-<nn>-<slug>.txt, e.g. 22-03-river-compact.txt",
        )
    numbered = list(enumerate(text.lstrip("\ufeff").splitlines(), start=1))
    separator = next((number for number, line in numbered if line.strip() == "---"), None)
    if separator is None:
        raise ArticleFormatError(path, None, "no '---' line between the header and the body")
    values, lines_of = _parse_header(path, numbered[: separator - 1])

    missing = [key for key in REQUIRED_KEYS if not values.get(key)]
    if missing:
        raise ArticleFormatError(
            path, separator, f"the header lacks {', '.join(missing)} (before this '---' line)"
        )

    def bad(key, message):
        raise ArticleFormatError(path, lines_of[key], message)

    if values["section"] not in SECTION_ORDER:
        bad("section", f"unknown section {values['section']!r} (one of {', '.join(SECTION_ORDER)})")
    if values["access"] not in ACCESS_LEVELS:
        bad("access", f"unknown access {values['access']!r} (one of {', '.join(ACCESS_LEVELS)})")
    authors = [slug.strip() for slug in values["authors"].split(",") if slug.strip()]
    for slug in authors:
        if slug not in AUTHORS_BY_SLUG:
            bad("authors", f"unknown author {slug!r} (see the author slugs in FORMAT.md)")
    try:
        issue = int(values["issue"])
    except ValueError:
        bad("issue", f"issue must be a number, got {values['issue']!r}")
    if known_issues is None:
        known_issues = [i.number for i in ISSUES if i.published]
    if issue not in known_issues:
        bad("issue", f"issue {issue} is not one of {', '.join(map(str, known_issues))}")
    if int(match.group("issue")) != issue:
        bad("issue", f"issue {issue} does not match the file name's {match.group('issue')}")
    try:
        published = date.fromisoformat(values["date"])
    except ValueError:
        bad("date", f"date must be YYYY-MM-DD, got {values['date']!r}")
    tags = []
    for tag in values.get("tags", "").split(","):
        tag = tag.strip().lower()
        if tag and tag not in tags:
            tags.append(tag)

    body = _BodyReader(path).read(numbered[separator:])
    return DemoArticle(
        path=path,
        slug=match.group("slug"),
        order=int(match.group("order")),
        title=values["title"],
        dek=values["dek"],
        section=values["section"],
        authors=authors,
        issue=issue,
        date=published,
        access=values["access"],
        image=Figure(values["image"], values["caption"], values["credit"]),
        tags=tags,
        correction=values.get("correction", ""),
        body=body,
    )


def parse_article_file(path, known_issues=None):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ArticleFormatError(path, None, f"not UTF-8 ({error.reason})")
    return parse_article_text(text, path, known_issues)


def parse_articles_dir(directory, known_issues=None):
    """Every `*.txt` article in `directory`, in issue and file order."""
    paths = sorted(Path(directory).glob("*.txt"))
    articles = [parse_article_file(path, known_issues) for path in paths]
    slugs = {}
    for article in articles:
        key = (article.section, article.slug)
        if key in slugs:
            raise ArticleFormatError(
                article.path, None, f"the slug {article.slug!r} is also used by {slugs[key].name}"
            )
        slugs[key] = article.path
    return sorted(articles, key=lambda a: (a.issue, a.order, a.slug))


def rule_problems(article):
    """What keeps an article from meeting issue 2's rules for the demo (empty if nothing)."""
    problems = []
    words = article.word_count()
    if not MIN_WORDS <= words <= MAX_WORDS:
        problems.append(f"{article.path.name}: {words} words of body, not {MIN_WORDS}-{MAX_WORDS}")
    if article.access == "public" and any(kind == "teaser_break" for kind, _ in article.body):
        problems.append(f"{article.path.name}: a [teaser-break] in a public article")
    return problems


def collection_problems(articles, issues=None):
    """Issue-wide rules: enough articles in every issue."""
    if issues is None:
        issues = [i.number for i in ISSUES if i.published]
    problems = []
    for number in issues:
        count = sum(1 for article in articles if article.issue == number)
        if count < MIN_ARTICLES_PER_ISSUE:
            problems.append(
                f"issue {number} has {count} articles, fewer than {MIN_ARTICLES_PER_ISSUE}"
            )
    return problems
