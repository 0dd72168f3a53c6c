"""The EPUB 3 edition, built with ebooklib.

The XHTML documents are rendered from templates/editions/epub/ and handed to
ebooklib as they are (ebooklib's own chapter handling re-parses markup as
HTML); ebooklib writes the package, the navigation document and the NCX.
The result passes epubcheck.
"""

import io
import uuid

from django.template.loader import render_to_string
from django.utils import timezone
from ebooklib import epub
from lxml import etree

STYLESHEET = "style/edition.css"


class XhtmlDocument(epub.EpubHtml):
    """A content document whose XHTML is written verbatim."""

    def get_content(self, default=None):
        return self.content


def _document(uid, file_name, title, template, context, lang):
    markup = render_to_string(template, context).strip().encode("utf-8")
    # A malformed document is a bug in a template: fail the build, not the reader.
    etree.fromstring(markup)
    document = XhtmlDocument(uid=uid, file_name=file_name, title=title, lang=lang)
    document.content = markup
    return document


def book_identifier(content):
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{content.site_url}/editions/{content.issue.pk}").urn


def render_epub(content):
    """The issue as EPUB bytes. `content` is an IssueContent with its pictures loaded."""
    issue = content.issue
    lang = content.language
    book = epub.EpubBook()
    book.set_identifier(book_identifier(content))
    book.set_title(content.title)
    book.set_language(lang)
    book.add_author(content.publisher)
    book.add_metadata("DC", "publisher", content.publisher)
    book.add_metadata("DC", "date", issue.cover_date.isoformat())
    if issue.cover_lines:
        book.add_metadata("DC", "description", "; ".join(issue.cover_line_list))

    stylesheet = epub.EpubItem(
        uid="style",
        file_name=STYLESHEET,
        media_type="text/css",
        content=render_to_string("editions/epub/edition.css").encode("utf-8"),
    )
    book.add_item(stylesheet)

    for picture in content.pictures.values():
        if picture.data is None or picture is content.cover:
            continue
        book.add_item(
            epub.EpubImage(
                uid=picture.key,
                file_name=f"images/{picture.key}.jpg",
                media_type="image/jpeg",
                content=picture.data,
            )
        )
    cover = content.cover if content.cover and content.cover.data else None
    if cover:
        book.set_cover(f"images/{cover.key}.jpg", cover.data, create_page=False)

    context = {"content": content, "issue": issue, "cover": cover, "lang": lang}
    cover_page = _document(
        "cover", "cover.xhtml", "Cover", "editions/epub/cover.xhtml", context, lang
    )
    masthead = _document(
        "masthead", "masthead.xhtml", "Masthead", "editions/epub/masthead.xhtml", context, lang
    )
    chapters = []
    toc = []
    for section_title, stories in content.sections:
        section_chapters = []
        for story in stories:
            chapter = _document(
                f"article-{story.article.pk}",
                story.file_name,
                story.headline,
                "editions/epub/article.xhtml",
                {**context, "story": story},
                lang,
            )
            section_chapters.append(chapter)
        chapters.extend(section_chapters)
        toc.append((epub.Section(section_title), section_chapters))
    for document in (cover_page, masthead, *chapters):
        book.add_item(document)

    nav = epub.EpubNav(title="Contents")
    nav.add_item(stylesheet)
    book.add_item(nav)
    book.add_item(epub.EpubNcx())
    book.toc = [epub.Link("masthead.xhtml", "Masthead", "masthead"), *toc]
    book.spine = [cover_page, masthead, nav, *chapters]
    book.guide = [
        {"type": "cover", "href": "cover.xhtml", "title": "Cover"},
        {"type": "toc", "href": "nav.xhtml", "title": "Contents"},
    ]
    if chapters:
        book.guide.append({"type": "text", "href": chapters[0].file_name, "title": "Start"})

    buffer = io.BytesIO()
    epub.write_epub(
        buffer, book, {"mtime": timezone.now(), "raise_exceptions": True, "compresslevel": 6}
    )
    return buffer.getvalue()
