"""Keep cached pages fresh: anything published changes what readers see."""

from django.db import transaction
from django.dispatch import Signal

from .pagecache import invalidate_pages

# Sent once a change to what readers see is committed; apps that cache
# something drawn from pages (issues' site navigation) forget it here.
pages_changed = Signal()


def content_changed(**kwargs):
    # Once the change is committed, not before: until then readers see the
    # old content, and a page cached meanwhile is right for its generation.
    # (Bumping before the commit too made every process render every hot
    # page twice per publish, the first time still with the old content.)
    transaction.on_commit(refresh_pages)


def refresh_pages():
    pages_changed.send(sender=None)
    invalidate_pages()


# Fields of an image that readers see; Wagtail also saves images to record
# file sizes and hashes while rendering, which must not flush the cache.
VISIBLE_IMAGE_FIELDS = {"title", "caption", "credit", "file", "focal_point_x"}


def image_changed(update_fields=None, **kwargs):
    if update_fields is None or VISIBLE_IMAGE_FIELDS & set(update_fields):
        content_changed()


def settings_changed(created=False, **kwargs):
    # Settings are created with their defaults on the first page view; only
    # an editor's change alters pages.
    if not created:
        content_changed()
