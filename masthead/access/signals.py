"""Receivers of the access app (connected in apps.py)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from masthead.newsroom.models import ArticlePage


def article_published(instance: "ArticlePage", **kwargs: object) -> None:
    """Search reads a reader without access against the teaser only."""
    from .search import refresh_teaser

    refresh_teaser(instance)
