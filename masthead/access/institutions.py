"""Institutional access by IP range.

Libraries and universities (billing's `Organisation`) name IP ranges
(`OrganisationNetwork`, IPv4 or IPv6 CIDR); a request from one of them reads
as the organisation's, without signing in, while its access runs: its
subscription is entitled, or its contract dates cover today.

`Ranges` holds the ranges of every organisation whose access runs, as
sorted, disjoint integer intervals per IP version, so matching an address is
one bisect. Serving keeps one per process and publish generation
(serving/institutions.py) and works out each request's institution once,
before the page cache; the request then runs in an `institution_scope`, and
`rules.decide` asks `current_institution()`.

Use is counted per organisation and month (`record_use`, per process,
written in batches by `flush_uses`) for the usage report libraries expect:
article views and downloads.
"""

import atexit
import contextvars
import logging
import socket
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from ipaddress import ip_network
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F

if TYPE_CHECKING:
    from masthead.billing.models import Organisation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Institution:
    """An organisation whose IP ranges let readers in, as a request sees it."""

    organisation_id: int
    # Who provides access, as the notice on the page says.
    provider: str
    # The organisation's plan: its readers get what a subscriber to it gets.
    plan_code: str


class Ranges:
    """IP ranges and whose they are, matched in O(log n).

    CIDR blocks of one IP version are either disjoint or nested; where they
    nest (a university's /16 and its library's /24) the narrower one owns
    its addresses. The blocks are flattened into disjoint intervals, so an
    address falls in at most one.
    """

    def __init__(self, networks: Iterable[tuple[str, Institution]]) -> None:
        blocks: dict[int, list[tuple[int, int, int, Institution]]] = {4: [], 6: []}
        for order, (cidr, institution) in enumerate(networks):
            try:
                network = ip_network(cidr.strip(), strict=False)
            except ValueError:
                logger.warning("IP range %r of organisation %s is not one", cidr, institution)
                continue
            first = int(network.network_address)
            blocks[network.version].append(
                (first, first + network.num_addresses - 1, order, institution)
            )
        self.intervals = {version: _disjoint(found) for version, found in blocks.items()}
        self.empty = not any(starts for starts, _ends, _owners in self.intervals.values())

    def match(self, address: str) -> Institution | None:
        """The institution whose range holds `address`, or None (also for
        anything that is not an IP address)."""
        if self.empty or not address:
            return None
        try:
            if ":" in address:
                version, packed = 6, socket.inet_pton(socket.AF_INET6, address)
            else:
                version, packed = 4, socket.inet_pton(socket.AF_INET, address)
        except (OSError, ValueError):
            return None
        number = int.from_bytes(packed, "big")
        starts, ends, owners = self.intervals[version]
        index = bisect_right(starts, number) - 1
        if index >= 0 and number <= ends[index]:
            return owners[index]
        return None


def _disjoint(
    blocks: list[tuple[int, int, int, Institution]],
) -> tuple[list[int], list[int], list[Institution]]:
    """Disjoint (starts, ends, owners) from nested-or-disjoint blocks, the
    narrowest block owning each address (the later one, of equal blocks)."""
    starts: list[int] = []
    ends: list[int] = []
    owners: list[Institution] = []

    def emit(first: int, last: int, owner: Institution) -> None:
        if first <= last:
            starts.append(first)
            ends.append(last)
            owners.append(owner)

    # Wider blocks before the blocks nested in them.
    blocks.sort(key=lambda block: (block[0], -block[1], block[2]))
    open_blocks: list[tuple[int, Institution]] = []
    cursor = 0
    for first, last, _order, owner in blocks:
        while open_blocks and open_blocks[-1][0] < first:
            end, outer = open_blocks.pop()
            emit(cursor, end, outer)
            cursor = max(cursor, end + 1)
        if open_blocks:
            emit(cursor, first - 1, open_blocks[-1][1])
        cursor = first
        open_blocks.append((last, owner))
    while open_blocks:
        end, outer = open_blocks.pop()
        emit(cursor, end, outer)
        cursor = max(cursor, end + 1)
    return starts, ends, owners


def access_runs(organisation: "Organisation", now: datetime, grace_days: int) -> bool:
    """Whether the organisation's readers get in now: it is active, and its
    subscription is entitled or its contract dates cover today."""
    from django.utils import timezone

    from masthead.billing.entitlements import entitlement_for

    if not organisation.active:
        return False
    subscription = organisation.subscription
    if subscription is not None and entitlement_for(subscription, now, grace_days) is not None:
        return True
    starts, ends = organisation.contract_starts, organisation.contract_ends
    if starts is None and ends is None:
        return False
    today = timezone.localdate(now)
    return (starts is None or starts <= today) and (ends is None or today <= ends)


def load_ranges(now: datetime) -> Ranges:
    """The ranges of every organisation whose access runs at `now` (one
    query, and one for the grace days when there are any)."""
    return Ranges(running_networks(now))


def running_networks(now: datetime) -> list[tuple[str, Institution]]:
    """(CIDR, institution) for every range of the organisations whose access
    runs at `now`, in the order staff entered them."""
    from masthead.billing.entitlements import grace_days
    from masthead.billing.models import OrganisationNetwork

    rows = list(
        OrganisationNetwork.objects.filter(organisation__active=True)
        .select_related("organisation__plan", "organisation__subscription__plan")
        .order_by("organisation_id", "pk")
    )
    if not rows:
        return []
    grace = grace_days()
    institutions: dict[int, Institution | None] = {}
    networks = []
    for row in rows:
        organisation = row.organisation
        if organisation.pk not in institutions:
            institutions[organisation.pk] = (
                Institution(
                    organisation.pk,
                    organisation.access_notice or organisation.name,
                    organisation.plan.code,
                )
                if access_runs(organisation, now, grace)
                else None
            )
        institution = institutions[organisation.pk]
        if institution is not None:
            networks.append((row.cidr, institution))
    return networks


# The request's institution -------------------------------------------------------------

# (institution or None) once worked out for the request, or how to work it
# out when first asked; None outside a request.
_Found = tuple[Institution | None]
_current: contextvars.ContextVar[_Found | Callable[[], Institution | None] | None] = (
    contextvars.ContextVar("masthead_institution", default=None)
)


@contextmanager
def institution_scope(institution: Institution | None) -> Iterator[None]:
    """Requests inside the block come from `institution`'s ranges (None:
    from no institution's)."""
    token = _current.set((institution,))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def institution_scope_lazily(find: Callable[[], Institution | None]) -> Iterator[None]:
    """As `institution_scope`, with the institution worked out by `find`
    when first asked, if ever."""
    token = _current.set(find)
    try:
        yield
    finally:
        _current.reset(token)


def worked_out() -> bool:
    """Whether the current request's institution is known (a scope is open)."""
    return _current.get() is not None


def known_institution() -> Institution | None:
    """The current request's institution if already worked out, else None
    (without working it out)."""
    found = _current.get()
    return found[0] if isinstance(found, tuple) else None


def current_institution() -> Institution | None:
    """The institution the current request comes from, or None."""
    found = _current.get()
    if found is None:
        return None
    if callable(found):
        institution = found()
        # Kept until the scope's end resets the variable.
        _current.set((institution,))
        return institution
    return found[0]


# Usage ----------------------------------------------------------------------------------

# A request only adds to this process's counts; the request that finds
# FLUSH_COUNTS of them gathered, or the last write FLUSH_SECONDS old, writes
# them all (one F() update per organisation, month and kind), and so does
# the process's exit. A crash loses at most that many counts, never a page.
FLUSH_COUNTS = 100
FLUSH_SECONDS = 30.0

_pending: Counter[tuple[int, date, str]] = Counter()
_pending_lock = threading.Lock()
_last_flush = [time.monotonic()]


def record_use(institution: Institution, kind: str, on: date) -> None:
    """Count one use (`InstitutionalUse.Kind`) for the institution's month."""
    key = (institution.organisation_id, on.replace(day=1), kind)
    with _pending_lock:
        _pending[key] += 1
        due = (
            sum(_pending.values()) >= FLUSH_COUNTS
            or time.monotonic() - _last_flush[0] >= FLUSH_SECONDS
        )
    if due:
        flush_uses()


def flush_uses() -> None:
    """Write this process's counts to `InstitutionalUse`."""
    from masthead.billing.models import InstitutionalUse

    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
        _last_flush[0] = time.monotonic()
    for (organisation_id, month, kind), n in batch.items():
        counted = InstitutionalUse.objects.filter(
            organisation_id=organisation_id, month=month, kind=kind
        )
        if counted.update(count=F("count") + n):
            continue
        try:
            with transaction.atomic():
                InstitutionalUse.objects.create(
                    organisation_id=organisation_id, month=month, kind=kind, count=n
                )
        except IntegrityError:
            # Another process made the month's row first.
            counted.update(count=F("count") + n)


def forget_uses() -> None:
    """Drop this process's unwritten counts (tests: they belong to the last
    test's database), and start the next batch's time from now."""
    with _pending_lock:
        _pending.clear()
        _last_flush[0] = time.monotonic()


def _flush_at_exit() -> None:
    try:
        flush_uses()
    except Exception:
        logger.exception("Institutional use counts not written at exit")


atexit.register(_flush_at_exit)


def count_article_view(reason: str) -> None:
    """Count a whole article served to the current request, when its
    institution is what let the reader in (`reason`: the decision's)."""
    institution = current_institution()
    if institution is not None and reason == "institution":
        from django.utils import timezone

        from masthead.billing.models import InstitutionalUse

        record_use(institution, InstitutionalUse.Kind.ARTICLE_VIEW, timezone.localdate())


def count_download(reason: str) -> None:
    """Count a download (an edition, an audio file) the current request's
    institution let the reader have."""
    institution = current_institution()
    if institution is not None and reason == "institution":
        from django.utils import timezone

        from masthead.billing.models import InstitutionalUse

        record_use(institution, InstitutionalUse.Kind.DOWNLOAD, timezone.localdate())
