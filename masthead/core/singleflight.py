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


class Flights:
    def __init__(self):
        self.lock = threading.Lock()
        self.flights = {}

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
                    yield False if ready() else None
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
        return key in self.flights or cache.get(f"flight:{key}") is not None


flights = Flights()
