"""Refreshing kept pages when what a reader sees changes without a publish."""

from functools import partial
from typing import Any

from django.db import transaction

from masthead.core.pagecache import invalidate_pages


def reader_pages_changed(**kwargs: Any) -> None:
    invalidate_pages()


# The article page's player appears once a narration has its files.
NARRATION_FILE_FIELDS = {"audio_file", "teaser_file"}


def article_published(instance: Any, **kwargs: Any) -> None:
    from .search import refresh_teaser

    refresh_teaser(instance)


def narration_saved(
    instance: Any, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if not (instance.audio_file or instance.teaser_file):
        return
    if update_fields is None or NARRATION_FILE_FIELDS & set(update_fields):
        invalidate_pages()


def subscription_changed(instance: Any, **kwargs: Any) -> None:
    """A member's subscription changed: their kept entitlement goes, now and
    again once the change is committed (a request that read the old state
    meanwhile may have kept it)."""
    from .reading import forget_entitlement

    forget_entitlement(instance.member_id)
    transaction.on_commit(partial(forget_entitlement, instance.member_id))


def member_changed(instance: Any, **kwargs: Any) -> None:
    """A user changed (password, staff flag, deactivation): the copy kept
    for serving kept pages goes."""
    from .reading import forget_member

    forget_member(instance.pk)
    transaction.on_commit(partial(forget_member, instance.pk))
