"""Signals other apps send when what readers see changes.

Serving connects to them (`serving.invalidation`); the apps that send them
need not know who listens.
"""

from django.dispatch import Signal

# Something readers see changed outside a page's own publish (a picture moved
# between the public and the private storage, a narration's files ready):
# every cached page is stale. No arguments.
pages_changed = Signal()

# Rows changed without a save or delete of each instance (QuerySet.update,
# bulk_create, bulk_update), which send no post_save: `sender` is the model,
# `keys` the set of the rows' `report_field` values (see
# core.querysets.ReportingQuerySet).
rows_changed = Signal()

# Sent once a publish (or another change to the pages' content) is committed
# and cached pages are made stale: apps that cache something drawn from pages
# (issues' site navigation) forget it. No arguments.
pages_refreshed = Signal()
