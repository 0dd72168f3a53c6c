from django.core.cache import cache

from .context_processors import NAV_CACHE_KEY


def forget_navigation(**kwargs):
    cache.delete(NAV_CACHE_KEY)
