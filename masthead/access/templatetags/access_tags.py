"""Template tags for pages that show gated content.

`{% article_reader page as reader %}`: the Reader (reading.py) for this
request: `reader.full`, `reader.teaser_html`, `reader.gated_html` (empty
without access), `reader.ads`, `reader.meter`. Worked out once per request.

`{% paywall reader %}`: the box a reader without access sees instead of the
rest of the article.

`{% article_json_ld page %}`: the article's structured data, marked gated
when this reader's copy is cut.

`{% access_provider as provider %}`: who provides access to a request from
an institution's IP ranges (the notice on the page), or None.

`{% reader_subscribes as subscribes %}`: whether this reader subscribes now,
for pages rendered per reader (never a shared cached page's, whose readers
are all anonymous).
"""

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from masthead.core.models import MagazineSettings
from masthead.newsroom.models import ArticlePage
from masthead.newsroom.structured_data import article_json_ld as build_json_ld
from masthead.newsroom.structured_data import as_script

from ..attachments import GatedRendition
from ..institutions import current_institution
from ..paywall import paywall_context
from ..reading import Reader, reader_for
from ..rules import entitlement

register = template.Library()


@register.simple_tag
def access_provider() -> str | None:
    institution = current_institution()
    return institution.provider if institution is not None else None


@register.simple_tag(takes_context=True)
def article_reader(context: template.Context, page: ArticlePage) -> Reader:
    reader: Reader = reader_for(context["request"], page)
    return reader


@register.simple_tag(takes_context=True)
def article_json_ld(context: template.Context, article: ArticlePage) -> SafeString:
    request = context["request"]
    gated = reader_for(request, article).gated
    data = build_json_ld(request, article, MagazineSettings.for_request(request), gated=gated)
    return format_html('<script type="application/ld+json">{}</script>', as_script(data))


@register.simple_tag(takes_context=True)
def reader_subscribes(context: template.Context) -> bool:
    request = context.get("request")
    return request is not None and entitlement(getattr(request, "user", None)) is not None


@register.inclusion_tag("access/paywall.html", takes_context=True)
def paywall(context: template.Context, reader: Reader) -> dict[str, Any]:
    request = context["request"]
    return paywall_context(reader, request.path)


@register.simple_tag
def gated_image(image: Any, article: ArticlePage, spec: str) -> GatedRendition:
    """A rendition of a picture in an article's gated part, addressed through
    the view that asks the rule: `{% gated_image image article "width-900" as img %}`."""
    from masthead.access.attachments import gated_rendition

    return gated_rendition(image, article, spec)
