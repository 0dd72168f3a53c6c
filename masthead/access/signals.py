"""Receivers of the access app (connected in apps.py)."""


def article_published(instance, **kwargs):
    """Search reads a reader without access against the teaser only."""
    from .search import refresh_teaser

    refresh_teaser(instance)
