from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

NAV_CACHE_KEY = "core:navigation:v1"


def navigation():
    """Sections and the archive for the site header, cached until a publish."""
    nav = cache.get(NAV_CACHE_KEY)
    if nav is None:
        from masthead.issues.models import IssueIndexPage
        from masthead.newsroom.models import SectionPage

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


def masthead(request):
    return {"nav": SimpleLazyObject(navigation)}
