"""A mailing as email: its content cut by the access rule, rendered once per
cut, and personalised per recipient by filling in a few placeholders.

A mailing has at most two cuts: "full" (what the access rule grants to
subscribers) and "teaser" (what everyone else may read, with a subscribe
link). Each cut is rendered through the templates and its CSS inlined once
(css-inline); a recipient's message is that cut with their name and their
own links put in. Nothing gated is in the teaser cut, so nothing gated can
reach a reader the rule refuses, whatever the personalisation does.
"""

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from masthead.access.rules import Terms, decide
from masthead.newsroom.models import AccessLevel

# Placeholders filled in per recipient. Plain ASCII that neither templates
# nor the CSS inliner change.
NAME = "%%MH_NAME%%"
UNSUBSCRIBE_URL = "%%MH_UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%MH_PREFERENCES_URL%%"
TRACKING_PIXEL = "%%MH_TRACKING_PIXEL%%"
_RELATIVE_URL = re.compile(r'((?:src|href)=")(/[^/"][^"]*|/)"')

FULL = "full"
TEASER = "teaser"


@dataclass(frozen=True)
class Cut:
    """One rendering of a mailing: the subject, the HTML (CSS inlined) and
    the plain text, with placeholders for the recipient."""

    subject: str
    html: str
    text: str


def absolute(url):
    return urljoin(settings.SITE_URL + "/", url or "")


def absolute_urls(fragment):
    """Rewrite root-relative src and href attributes to absolute URLs: an
    email has no page to be relative to."""
    return _RELATIVE_URL.sub(lambda m: f'{m.group(1)}{settings.SITE_URL}{m.group(2)}"', fragment)


def _split_at_break(blocks):
    """(before, after) the editor's teaser break; no break: all of it is free."""
    for position, block in enumerate(blocks):
        if block.block_type == "teaser_break":
            return blocks[:position], blocks[position + 1 :]
    return blocks, []


def gate(mailing):
    """What a recipient's cut depends on: the article or issue sent, or the
    subscriber level for a written mailing with a teaser break. None when
    every recipient gets the whole mailing."""
    if mailing.article_id:
        return mailing.article.specific
    if mailing.issue_id:
        return mailing.issue.specific
    _free, gated = _split_at_break(list(mailing.body))
    if gated:
        return Terms(AccessLevel.SUBSCRIBERS)
    return None


def cut_for(member, gated_by):
    """FULL or TEASER for this recipient: `access.decide` is the rule."""
    if gated_by is None:
        return FULL
    return FULL if decide(member, gated_by) else TEASER


def _body_html(mailing, cut):
    from masthead.access.teaser import render_blocks, split_body

    if mailing.article_id:
        article = mailing.article.specific
        teaser, gated = split_body(article)
        blocks = teaser + gated if cut == FULL else teaser
        return render_blocks([b for b in blocks if b.block_type != "teaser_break"]), bool(gated)
    free, gated = _split_at_break(list(mailing.body))
    blocks = free + gated if cut == FULL else free
    return render_blocks(blocks), bool(gated)


def _issue_context(issue, cut):
    from masthead.editions.models import EditionFormat

    return {
        "issue_title": issue.title,
        "issue_label": issue.label,
        "issue_url": absolute(issue.get_url()),
        "cover_lines": issue.cover_line_list,
        "articles": [
            {
                "title": article.title,
                "dek": article.dek,
                "byline": ", ".join(author.name for author in article.authors),
                "url": absolute(article.get_url()),
            }
            for article in issue.live_articles()
        ],
        "downloads": [
            {"label": label, "url": absolute(reverse("editions:download", args=[issue.pk, v]))}
            for v, label in EditionFormat.choices
        ]
        if cut == FULL
        else [],
    }


def render_cut(mailing, cut, magazine=None):
    """The Cut of `mailing` for FULL or TEASER readers."""
    import css_inline

    from masthead.editions.content import magazine_settings

    magazine = magazine or magazine_settings()
    context = {
        "mailing": mailing,
        "newsletter": mailing.newsletter,
        "magazine": magazine.name,
        "postal_address": settings.MAGAZINE_POSTAL_ADDRESS or magazine.publisher,
        "site_url": settings.SITE_URL,
        "view_url": absolute(reverse("mailings:view", args=[mailing.pk])),
        "subscribe_url": absolute(reverse("billing:subscribe")),
        "cut": cut,
        "teaser_only": False,
        "member_name": mark_safe(NAME),
        "unsubscribe_url": mark_safe(UNSUBSCRIBE_URL),
        "preferences_url": mark_safe(PREFERENCES_URL),
        "tracking_pixel": mark_safe(TRACKING_PIXEL),
    }
    if mailing.issue_id:
        context["issue"] = _issue_context(mailing.issue.specific, cut)
        context["teaser_only"] = cut == TEASER
    else:
        body, has_more = _body_html(mailing, cut)
        context["body"] = mark_safe(absolute_urls(body))
        context["teaser_only"] = cut == TEASER and has_more
        if mailing.article_id:
            article = mailing.article.specific
            context["article"] = {
                "title": article.title,
                "dek": article.dek,
                "url": absolute(article.get_url()),
            }
    page = render_to_string("mailings/newsletter.html", context)
    inlined = css_inline.inline(page)
    text = render_to_string("mailings/newsletter.txt", {**context, "body_text": _text(context)})
    return Cut(subject=mailing.subject, html=inlined, text=text)


def _text(context):
    """The body's plain text: paragraphs of the rendered HTML, tags dropped."""
    body = str(context.get("body", ""))
    body = re.sub(r"(?i)<br\s*/?>", "\n", body)
    body = re.sub(r"(?i)</(p|h[1-6]|li|blockquote|figure|div)>", "\n\n", body)
    body = re.sub(r"<[^>]+>", "", body)
    body = html.unescape(body)
    return re.sub(r"\n{3,}", "\n\n", body).strip()


@dataclass(frozen=True)
class Personal:
    name: str
    unsubscribe_url: str
    preferences_url: str
    tracking_pixel_url: str = ""


def personalise(cut, personal):
    """(html, text) of `cut` for one recipient."""
    name = personal.name or "reader"
    pixel = (
        f'<img src="{html.escape(personal.tracking_pixel_url)}" width="1" height="1" alt="">'
        if personal.tracking_pixel_url
        else ""
    )
    page = (
        cut.html.replace(NAME, html.escape(name))
        .replace(UNSUBSCRIBE_URL, html.escape(personal.unsubscribe_url))
        .replace(PREFERENCES_URL, html.escape(personal.preferences_url))
        .replace(TRACKING_PIXEL, pixel)
    )
    text = (
        cut.text.replace(NAME, name)
        .replace(UNSUBSCRIBE_URL, personal.unsubscribe_url)
        .replace(PREFERENCES_URL, personal.preferences_url)
        .replace(TRACKING_PIXEL, "")
    )
    return page, text
