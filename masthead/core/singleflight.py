"""One rendering at a time per page, per process.

When a publish makes a hot page stale, every request for it misses the cache
at once. Without coordination each of them renders the page (a stampede:
dozens of identical renderings competing for the CPU while readers wait).
With `flights.wait_or_lead(key)`, the first thread renders and keeps the
page; the others in this process wait for it, then read what it kept.
"""

import threading
from contextlib import contextmanager

# How long a waiting thread trusts the leader before rendering itself.
WAIT_SECONDS = 10


class Flights:
    def __init__(self):
        self.lock = threading.Lock()
        self.flights = {}

    @contextmanager
    def wait_or_lead(self, key, timeout=WAIT_SECONDS):
        """Yields True to the one thread that should do the work for `key`
        (its flight ends when the block does), False to the others, once the
        work is done (or `timeout` has passed): they read its result."""
        with self.lock:
            event = self.flights.get(key)
            leading = event is None
            if leading:
                event = self.flights[key] = threading.Event()
        if not leading:
            event.wait(timeout)
            yield False
            return
        try:
            yield True
        finally:
            with self.lock:
                if self.flights.get(key) is event:
                    del self.flights[key]
            event.set()


flights = Flights()
