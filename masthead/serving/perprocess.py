"""The one per-process cache: this process's copies of values, each trusted
until it expires, the least recently used dropped past a bound.

Threads of a process share an instance. Reads are single dict operations,
writes take a lock, so a lost race costs at most a miss.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from . import clock

V = TypeVar("V")


class PerProcessCache(Generic[V]):
    """Up to `max_entries` values, each for `seconds` after it was stored
    (a callable: read when storing, so a setting changed in a test applies),
    unless `set` is given its own expiry."""

    def __init__(self, max_entries: int, seconds: Callable[[], float]) -> None:
        self.max_entries = max_entries
        self.seconds = seconds
        self.entries: OrderedDict[Hashable, tuple[V, float]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value stored for `key`, or None when there is none or it expired."""
        # Without the lock: each OrderedDict operation is atomic under the
        # GIL, and an entry another thread dropped meanwhile is a miss.
        entry = self.entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= clock.monotonic():
            self.entries.pop(key, None)
            return None
        try:  # noqa: SIM105  (suppress() costs a context manager per read)
            self.entries.move_to_end(key)
        except KeyError:
            pass
        return value

    def get_or_read(self, key: Hashable, read: Callable[[Hashable], V | None]) -> V | None:
        """The stored value, or `read(key)` (stored when not None)."""
        value = self.get(key)
        if value is None:
            value = read(key)
            if value is not None:
                self.set(key, value)
        return value

    def set(self, key: Hashable, value: V, seconds: float | None = None) -> None:
        lifetime = self.seconds() if seconds is None else seconds
        if lifetime <= 0:
            return
        with self.lock:
            self.entries[key] = (value, clock.monotonic() + lifetime)
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def discard(self, key: Hashable) -> None:
        with self.lock:
            self.entries.pop(key, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


every_cache: list[PerProcessCache[object]] = []


def per_process_cache(max_entries: int, seconds: Callable[[], float]) -> PerProcessCache[V]:
    """A PerProcessCache that `clear_all` empties (tests, between tests)."""
    made: PerProcessCache[V] = PerProcessCache(max_entries, seconds)
    every_cache.append(made)  # type: ignore[arg-type]
    return made


def clear_all() -> None:
    for cache in every_cache:
        cache.clear()
