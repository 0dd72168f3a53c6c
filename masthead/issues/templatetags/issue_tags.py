from django import template

from ..front import front_page
from ..models import IssuePage

register = template.Library()


@register.simple_tag
def current_issue():
    return IssuePage.current()


@register.simple_tag
def home_front(home):
    """`{% home_front page as front %}`: the home page's stories (front.py)."""
    return front_page(home)
