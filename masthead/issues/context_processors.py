"""The site header's navigation: the sections and the issue archive."""

from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

NAV_CACHE_KEY = "core:navigation:v1"


def navigation():
    """Sections and the archive for the site header, cached until a publish."""
    nav = cache.get(NAV_CACHE_KEY)
    if nav is None:
        from masthead.newsroom.models import SectionPage

        from .models import IssueIndexPage

        archive = IssueIndexPage.objects.live().first()
        nav = {
            "sections": [
                (section.title, section.url)
                for section in SectionPage.objects.live().order_by("path")
            ],
            "archive_url": archive.url if archive else "",
        }
        cache.set(NAV_CACHE_KEY, nav, 3600)
    return nav


def forget_navigation(**kwargs):
    """Receiver of core's `pages_changed`: a publish may add, move or rename a section."""
    cache.delete(NAV_CACHE_KEY)


def site_navigation(request):
    return {"nav": SimpleLazyObject(navigation)}
