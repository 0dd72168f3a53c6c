from django import template
from django.utils.html import format_html

from masthead.core.models import MagazineSettings

from ..structured_data import article_json_ld as build_json_ld
from ..structured_data import as_script, image_url

register = template.Library()


@register.inclusion_tag("newsroom/includes/social_meta.html", takes_context=True)
def article_social_meta(context, article):
    request = context["request"]
    magazine = MagazineSettings.for_request(request)
    return {
        "magazine": magazine,
        "article": article,
        "url": article.get_full_url(request),
        "image": image_url(request, article.lead_image),
        # The dek (or the editor's search description): never the body.
        "description": article.search_description or article.dek,
    }


@register.simple_tag(takes_context=True)
def article_json_ld(context, article):
    from masthead.access.reading import reader_for

    request = context["request"]
    gated = reader_for(request, article).gated
    data = build_json_ld(request, article, MagazineSettings.for_request(request), gated=gated)
    return format_html('<script type="application/ld+json">{}</script>', as_script(data))
