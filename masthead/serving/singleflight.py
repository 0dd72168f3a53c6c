"""One rendering at a time per page, across processes.

When a publish makes a hot page stale, every request for it misses the cache
at once. Without coordination each of them renders the page (a stampede:
dozens of identical renderings competing for the CPU while readers wait).
With `flights.wait_or_lead(key, ready)`, one thread renders and caches the
page: the others in its process wait for it; a thread in another process
that finds the shared cache's claim on the key taken polls `ready()` (the
page cached?) until the rendering lands, then reads it.
"""

import enum
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

from . import clock
from .perprocess import PerProcessCache, per_process_cache


class Flight(enum.Enum):
    """What a request does about a key another request may be working on."""

    # Do the work: this request leads (its flight ends when its block does).
    RENDER = "render"
    # The work is done: read its result.
    READY = "ready"
    # Another request is doing it: answer with the page from before the
    # publish meanwhile (only when the caller said it has one).
    FROM_BEFORE = "from before"


def claim_recheck_seconds() -> float:
    return float(settings.CLAIM_RECHECK_SECONDS)


class Flights:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.flights: dict[str, threading.Event] = {}
        # Keys this process found claimed by another process a moment ago.
        self.elsewhere: PerProcessCache[bool] = per_process_cache(10_000, claim_recheck_seconds)

    @contextmanager
    def wait_or_lead(
        self,
        key: str,
        ready: Callable[[], bool] | None = None,
        from_before: bool = False,
    ) -> Iterator[Flight]:
        """Yields RENDER to the one thread that should do the work for `key`,
        READY to the others once the work is done (or the wait is over).

        With `ready` (a function that says whether the result is there),
        processes share the flight through the cache: a thread whose process
        has no flight for `key` leads only if no other process claims it, or
        once that process is done without a result to share.

        With `from_before` (the caller has an answer it may give meanwhile:
        the page from just before a publish), a thread that would wait gets
        FROM_BEFORE at once."""
        if from_before and key in self.elsewhere:
            yield Flight.FROM_BEFORE
            return
        with self.lock:
            event = self.flights.get(key)
            leading = event is None
            if event is None:
                event = self.flights[key] = threading.Event()
        if not leading:
            yield self._follow(event, from_before)
            return
        claimed = False
        try:
            claimed, flight = self._lead(key, ready, from_before)
            yield flight
        finally:
            if claimed:
                cache.delete(f"flight:{key}")
            with self.lock:
                if self.flights.get(key) is event:
                    del self.flights[key]
            event.set()

    def _follow(self, event: threading.Event, from_before: bool) -> Flight:
        """A thread of the process whose flight for the key is under way."""
        if from_before:
            return Flight.FROM_BEFORE
        event.wait(settings.SINGLE_FLIGHT_WAIT_SECONDS)
        return Flight.READY

    def _lead(
        self, key: str, ready: Callable[[], bool] | None, from_before: bool
    ) -> tuple[bool, Flight]:
        """(whether this thread claimed the key in the shared cache, and
        what it does) for the thread leading its process's flight."""
        if ready is None:
            return False, Flight.RENDER
        claim = f"flight:{key}"
        if cache.add(claim, 1, settings.SINGLE_FLIGHT_WAIT_SECONDS):
            return True, Flight.RENDER
        if from_before:
            if ready():
                return False, Flight.READY
            self.elsewhere.set(key, True)
            return False, Flight.FROM_BEFORE
        return False, self._wait_elsewhere(claim, ready)

    def _wait_elsewhere(self, claim: str, ready: Callable[[], bool]) -> Flight:
        """Polls for another process's result: READY once it is there,
        RENDER when that process is done without one or the wait is over."""
        deadline = clock.monotonic() + settings.SINGLE_FLIGHT_WAIT_SECONDS
        while clock.monotonic() < deadline:
            if ready():
                return Flight.READY
            if cache.get(claim) is None:
                return Flight.RENDER
            clock.sleep(settings.SINGLE_FLIGHT_POLL_SECONDS)
        return Flight.RENDER

    def in_flight(self, key: str) -> bool:
        """Whether a thread of this or another process is doing the work for
        `key` (another process's flight shows only with `ready`)."""
        if key in self.flights or key in self.elsewhere:
            return True
        if cache.get(f"flight:{key}") is None:
            return False
        self.elsewhere.set(key, True)
        return True

    def rendering_elsewhere(self, key: str) -> bool:
        """Whether another process was doing the work for `key` a moment ago
        (CLAIM_RECHECK_SECONDS), its result not cached then: not worth asking
        the cache for it again yet."""
        return key in self.elsewhere


flights = Flights()
