"""One rendering at a time per page, across processes.

When a publish makes a hot page stale, every request for it misses the cache
at once. Without coordination each of them renders the page (a stampede:
dozens of identical renderings competing for the CPU while readers wait).
With `flights.wait_or_lead(key, ready)`, one thread renders and keeps the
page: the others in its process wait for it; a thread in another process
that finds the shared cache's claim on the key taken polls `ready()` (the
page kept?) until the rendering lands, then reads it.
"""

import threading
import time
from contextlib import contextmanager

from django.core.cache import cache

# How long a waiting thread trusts the leader before rendering itself.
WAIT_SECONDS = 10
# How often a thread of another process looks for the leader's result.
POLL_SECONDS = 0.005
# How long a process that found another one doing the work for a key takes
# that as still so without asking the cache again: during a publish's grace
# the page from before then answers for the cost of a hit, not of three round
# trips to the cache.
RECHECK_SECONDS = 0.02


class ClaimedElsewhere:
    """Keys this process found claimed by another process (a rendering, a
    re-reading), each taken as still claimed for `seconds` without asking
    the cache again."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.until = {}

    def __contains__(self, key):
        return self.until.get(key, 0.0) > time.monotonic()

    def add(self, key):
        if len(self.until) > 10_000:
            self.until.clear()
        self.until[key] = time.monotonic() + self.seconds

    def discard(self, key):
        self.until.pop(key, None)

    def clear(self):
        self.until.clear()


class Flights:
    def __init__(self):
        self.lock = threading.Lock()
        self.flights = {}
        self.elsewhere = ClaimedElsewhere(RECHECK_SECONDS)

    @contextmanager
    def wait_or_lead(self, key, ready=None, timeout=WAIT_SECONDS, instead=False):
        """Yields True to the one thread that should do the work for `key`
        (its flight ends when the block does), False to the others, once the
        work is done (or `timeout` has passed): they read its result.

        With `ready` (a function that says whether the result is there),
        processes share the flight through the cache: a thread whose process
        has no flight for `key` leads only if no other process claims it, or
        once that process is done without a result to share.

        With `instead` (the caller has an answer it may give meanwhile: the
        page from just before a publish), a thread that would wait yields
        None at once."""
        if instead and key in self.elsewhere:
            yield None
            return
        with self.lock:
            event = self.flights.get(key)
            leading = event is None
            if leading:
                event = self.flights[key] = threading.Event()
        if not leading:
            if not instead:
                event.wait(timeout)
            yield None if instead else False
            return
        claim = f"flight:{key}"
        claimed = False
        try:
            if ready is not None:
                claimed = cache.add(claim, 1, timeout)
                if not claimed and instead:
                    if ready():
                        yield False
                        return
                    self.elsewhere.add(key)
                    yield None
                    return
                if not claimed:
                    deadline = time.monotonic() + timeout
                    while time.monotonic() < deadline:
                        if ready():
                            yield False
                            return
                        if cache.get(claim) is None:
                            break  # done, with nothing kept: render here
                        time.sleep(POLL_SECONDS)
            yield True
        finally:
            if claimed:
                cache.delete(claim)
            with self.lock:
                if self.flights.get(key) is event:
                    del self.flights[key]
            event.set()

    def in_flight(self, key):
        """Whether a thread of this or another process is doing the work for
        `key` (another process's flight shows only with `ready`)."""
        if key in self.flights or key in self.elsewhere:
            return True
        if cache.get(f"flight:{key}") is None:
            return False
        self.elsewhere.add(key)
        return True

    def rendering_elsewhere(self, key):
        """Whether another process was doing the work for `key` a moment ago
        (RECHECK_SECONDS), its result not kept then: not worth asking the
        cache for it again yet."""
        return key in self.elsewhere


flights = Flights()
