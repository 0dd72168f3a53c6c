from django import template

from masthead.core.models import MagazineSettings

from ..structured_data import image_url

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
