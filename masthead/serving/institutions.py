"""Which institution a request comes from, worked out once per request.

The page cache's WSGI wrapper asks `institution_of(environ)` before it looks
in any cache: a request from an institution's IP ranges gets pages for that
institution (private, with the notice of who provides access), never the
anonymous shared page, and puts nothing into the shared cache. The request
then runs in `access.institutions.institution_scope`, which the reader
middleware reuses (it works the institution out itself only when the
wrapper is not in front, as in tests through Django's client).

The ranges (`access.institutions.Ranges`) are loaded once per process and
publish generation: changing an organisation or its ranges makes pages stale
(invalidation.py), and so these. An organisation whose subscription lapses
or whose contract ends without any write is noticed within RECHECK_SECONDS.
For a request from no range, the check is parsing its address and one
bisect (nothing when no organisation has ranges), remembered per address
for as long as the ranges it was worked out against.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from masthead.access.institutions import Institution, Ranges, load_ranges
from masthead.core.clients import client_address

from .perprocess import PerProcessCache, per_process_cache

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 60.0

_ranges: PerProcessCache[Ranges] = per_process_cache(2, lambda: RECHECK_SECONDS)
# Each address's answer under one set of ranges (the key holds the ranges
# themselves, so an answer never outlives them): the same readers ask again
# and again, and working an address out costs more than the page.
_answers: PerProcessCache[tuple[Institution | None]] = per_process_cache(
    10_000, lambda: RECHECK_SECONDS
)


def current_ranges(generation: int) -> Ranges | None:
    """This process's ranges for the publish generation (None when they
    cannot be read now: then no request is let in by range)."""
    ranges = _ranges.get(generation)
    if ranges is None:
        try:
            ranges = load_ranges(timezone.now())
        except Exception:
            logger.exception("Institutions' IP ranges not read")
            return None
        _ranges.set(generation, ranges)
    return ranges


def institution_of(environ: Mapping[str, Any], generation: int) -> Institution | None:
    """The institution whose ranges the request's client address is in
    (request.META is an environ too); `generation`: the publish generation
    as the caller read it."""
    ranges = current_ranges(generation)
    if ranges is None or ranges.empty:
        return None
    peer = str(environ.get("REMOTE_ADDR") or "")
    forwarded_for = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
    key = (ranges, peer, forwarded_for)
    known = _answers.get(key)
    if known is None:
        known = (ranges.match(client_address(peer, forwarded_for)),)
        _answers.set(key, known)
    return known[0]


@receiver(setting_changed)
def _forget_answers(**kwargs: object) -> None:
    # TRUSTED_PROXIES decides whose address X-Forwarded-For names.
    _answers.clear()
