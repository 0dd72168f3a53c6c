from django import template

from ..models import IssuePage

register = template.Library()


@register.simple_tag
def current_issue():
    return IssuePage.current()
