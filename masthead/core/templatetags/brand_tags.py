from django import template

from masthead.core import brand

register = template.Library()


@register.simple_tag
def brand_stylesheet_url(magazine) -> str:
    """The address of the magazine's brand stylesheet, versioned by its text."""
    return brand.stylesheet_url(magazine)
