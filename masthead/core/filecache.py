"""The embedded mode's shared cache: Django's file cache, culled by age and
without listing its folder on every write.

Django's FileBasedCache lists every file in its folder on each `set` to see
whether it is full, and when it is, deletes a random share of its entries.
A large archive read by many readers defeats both: once the folder holds
tens of thousands of cached pages, listing it costs more than rendering a
page, so every page rendered for the first time is slow; and a random cull
throws out hot pages as readily as cold ones, and the publish generation
with them (`core.generation`, stored without an expiry), which makes every
cached page stale at once.

Django's file cache also stores what `incr` adds up with the default
timeout, so the generation, stored for ever, expired minutes after the
first publish that bumped it: every cached page stale again.

This backend counts its files only once every COUNT_EVERY writes (each
thread's instance on its own, so the folder may briefly hold a few
COUNT_EVERY more than MAX_ENTRIES), culls the least recently written
entries first, never one stored without an expiry, and keeps an entry's
expiry when `incr` adds to it.

It also stores values as plain pickles. Django's file cache compresses each
one with zlib, and inflating a cached page took more than half of reading
it: the pages of a long archive are read from here far more often than
written, and they carry their own gzip copy already. An entry takes about
twice the disk space (a cached page about 20 KB). Entries written by Django's
file cache, compressed, are still read.
"""

import os
import pickle
import tempfile
import time
import zlib
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.files import locks
from django.core.files.move import file_move_safe

LOCK_FILE = "incr.lock"
# The first byte of a pickle (protocol 2 and later); a zlib stream starts
# with 0x78.
PICKLE_START = b"\x80"


class FileCache(FileBasedCache):
    """OPTIONS: MAX_ENTRIES and CULL_FREQUENCY as Django's file cache (a cull
    brings the folder down to MAX_ENTRIES less its CULL_FREQUENCY-th part),
    and COUNT_EVERY, the writes between two counts (by default a hundredth
    of MAX_ENTRIES)."""

    # Django's file cache has these; its type stubs leave them out.
    _dir: str
    _createdir: Callable[[], None]
    _delete: Callable[[str], bool]
    _key_to_file: Callable[..., str]

    def __init__(self, dir: str, params: dict[str, Any]) -> None:
        super().__init__(dir, params)
        options = params.get("OPTIONS", {})
        self._count_every = max(1, int(options.get("COUNT_EVERY", self._max_entries // 100)))
        self._writes = 0

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        fname = self._key_to_file(key, version)
        try:
            with open(fname, "rb") as f:
                if not self._is_expired(f):  # type: ignore[attr-defined]
                    return _loads(f.read())
        except FileNotFoundError:
            pass
        return default

    def _write_content(self, file: Any, timeout: Any, value: Any) -> None:
        expiry = self.get_backend_timeout(timeout)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(pickle.dumps(value, self.pickle_protocol))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            with open(self._key_to_file(key, version), "r+b") as f:
                try:
                    locks.lock(f, locks.LOCK_EX)
                    if self._is_expired(f):  # type: ignore[attr-defined]
                        return False
                    previous = _loads(f.read())
                    f.seek(0)
                    f.truncate()
                    self._write_content(f, timeout, previous)
                    return True
                finally:
                    locks.unlock(f)
        except FileNotFoundError:
            return False

    def _cull(self) -> None:
        self._writes += 1
        if self._writes % self._count_every:
            return
        with os.scandir(self._dir) as found:
            entries = [entry for entry in found if entry.name.endswith(self.cache_suffix)]
        if len(entries) < self._max_entries:
            return
        if self._cull_frequency == 0:
            self.clear()
            return
        keep = self._max_entries - self._max_entries // self._cull_frequency
        written = []
        for entry in entries:
            try:
                written.append((entry.stat().st_mtime, entry.path))
            except FileNotFoundError:
                continue  # deleted by another process meanwhile
        written.sort()
        excess = len(written) - keep
        for _, path in written:
            if excess <= 0:
                break
            if self._stored_for_ever(path):
                continue
            self._delete(path)
            excess -= 1

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        """Adds `delta` to the number at `key`, keeping its expiry. Under a
        lock, so two processes adding at once both count; the file is
        replaced whole, so a reader sees the number before or after."""
        self._createdir()
        fname = self._key_to_file(key, version)
        with open(os.path.join(self._dir, LOCK_FILE), "ab") as lock:
            locks.lock(lock, locks.LOCK_EX)
            try:
                try:
                    with open(fname, "rb") as f:
                        expiry = pickle.load(f)
                        value = _loads(f.read())
                except (FileNotFoundError, EOFError):
                    raise ValueError(f"Key '{key}' not found") from None
                if expiry is not None and expiry < time.time():
                    raise ValueError(f"Key '{key}' not found")
                value += delta
                self._replace(fname, expiry, value)
            finally:
                locks.unlock(lock)
        return value

    def _replace(self, fname: str, expiry: float | None, value: Any) -> None:
        fd, tmp_path = tempfile.mkstemp(dir=self._dir)
        try:
            with open(fd, "wb") as f:
                f.write(pickle.dumps(expiry, self.pickle_protocol))
                f.write(pickle.dumps(value, self.pickle_protocol))
            file_move_safe(tmp_path, fname, allow_overwrite=True)
        except BaseException:
            os.remove(tmp_path)
            raise

    def _stored_for_ever(self, path: str) -> bool:
        """Whether the entry in `path` was stored without an expiry."""
        try:
            with open(path, "rb") as f:
                return pickle.load(f) is None
        except (FileNotFoundError, EOFError, pickle.UnpicklingError):
            return False


def _loads(data: bytes) -> Any:
    """A stored value: a plain pickle, or a zlib-compressed one (written by
    Django's file cache)."""
    if data[:1] == PICKLE_START:
        return pickle.loads(data)
    return pickle.loads(zlib.decompress(data))
