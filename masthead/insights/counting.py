"""Counting reads, paywall views, checkouts and narration progress on the
server, without cookies or anything about the reader.

Nothing is counted when INSIGHTS_COUNTING is off.

`count(kind, object_id)` only appends the count to a per-process queue: a
request never waits on the database, nor on a lock, for it. A background
thread in each process adds up the queue and writes it to `Tally` rows in
one statement every INSIGHTS_FLUSH_SECONDS, sooner when INSIGHTS_FLUSH_COUNTS
counts have gathered (a bound on what the process holds), and once more when
the process exits normally. A crash loses what was counted since the last
write, never a page. With INSIGHTS_FLUSH_SECONDS at 0 there is no thread:
the counts are written by `flush()`, at exit, or by the count that fills a
batch.

Call sites (the article serving path):
- serving's variants call `article_viewed` (registered in apps.py) for each
  article page they serve, and it marks the response with COUNT_HEADER, so
  the page cache keeps the mark;
- the page cache calls `count_cached_page` (registered in apps.py) with the
  headers of each anonymous page it answers without Django.
"""

import atexit
import logging
import multiprocessing.util
import os
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection, transaction

logger = logging.getLogger(__name__)

COUNT_HEADER = "X-Masthead-Count"
_COUNT_HEADER_LOWER = COUNT_HEADER.lower()
_SETTINGS = (
    "INSIGHTS_COUNTING",
    "INSIGHTS_FLUSH_COUNTS",
    "INSIGHTS_FLUSH_SECONDS",
    "PUBLISHER_TIME_ZONE",
)


@dataclass(frozen=True)
class Config:
    """The settings counting reads on every page, read once: each read of
    `django.conf.settings` costs about as much as the counting itself."""

    counting: bool
    flush_counts: int
    flush_seconds: float
    zone: ZoneInfo


_config: list[Config] = []


def config() -> Config:
    if not _config:
        _config.append(
            Config(
                counting=settings.INSIGHTS_COUNTING,
                flush_counts=settings.INSIGHTS_FLUSH_COUNTS,
                flush_seconds=settings.INSIGHTS_FLUSH_SECONDS,
                zone=ZoneInfo(settings.PUBLISHER_TIME_ZONE),
            )
        )
    return _config[0]


def _forget_config(setting, **kwargs):
    if setting in _SETTINGS:
        _config.clear()
        _marks.clear()


setting_changed.connect(_forget_config)

# One (kind, object id, day) per count. Appending to a deque is atomic, so
# counting takes no lock; the writer takes from the left as many as it found.
_counted: deque[tuple[str, int, date]] = deque()
# Counts a failed write kept for the next one; not part of the next batch's
# size, so that a database that is down is not tried again by every count.
_unwritten: Counter[tuple[str, int, date]] = Counter()
# Held by whoever takes from `_counted` or touches `_unwritten`.
_lock = threading.Lock()
_state: dict[str, Any] = {"thread": None}
# Set to write the counts now rather than when INSIGHTS_FLUSH_SECONDS are up.
_wake = threading.Event()
_stop = threading.Event()
# Set by the background thread each time it has written (for tests).
_written = threading.Event()
# Today in the publisher's zone, the wall-clock seconds it spans, and the
# zone (one tuple, replaced whole, so that a reader never sees half of one).
_day: list[tuple[date, float, float, ZoneInfo | None]] = [(date.min, 0.0, 0.0, None)]


def publisher_zone():
    return config().zone


def today():
    """The publisher's date now, worked out again only when a day ends."""
    now = time.time()
    day, starts, ends, zone = _day[0]
    if starts <= now < ends and zone is config().zone:
        return day
    zone = config().zone
    local = datetime.fromtimestamp(now, zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    _day[0] = (
        local.date(),
        midnight.timestamp(),
        (midnight + timedelta(days=1)).timestamp(),
        zone,
    )
    return _day[0][0]


def count(kind, object_id, n=1):
    """Add `n` to today's count of `kind` for `object_id` (a Tally.Kind)."""
    current = config()
    if not current.counting:
        return
    key = _key(kind, int(object_id), today())
    if n == 1:
        _counted.append(key)
    else:
        _counted.extend(repeat(key, n))
    _after_count(current)


# One tuple per key, appended for each of its counts: a new tuple per count
# kept until the next write would have the garbage collector run for them.
_keys: dict[tuple[str, int, date], tuple[str, int, date]] = {}
_KEYS_KEPT = 4096


def _key(kind, object_id, day):
    key = (kind, object_id, day)
    kept = _keys.get(key)
    if kept is None:
        if len(_keys) >= _KEYS_KEPT:
            _keys.clear()
        kept = _keys[key] = key
    return kept


def _after_count(current):
    """Start this process's writer, and have a full batch written."""
    if _state["thread"] is None and current.flush_seconds > 0:
        start_flushing()
    if len(_counted) >= current.flush_counts:
        if _state["thread"] is None:
            flush()
        elif not _wake.is_set():
            _wake.set()


def article_view_mark(article_id, full):
    """The COUNT_HEADER value for an article page: a read when the reader
    gets the whole article, a paywall view when not."""
    return f"{'read' if full else 'paywall_view'}:{article_id}"


def count_article_view(article_id, full):
    count("read" if full else "paywall_view", article_id)


def article_viewed(article_id, full):
    """Serving's article view hook: count the view, and mark the response so
    the page cache counts it again on each hit."""
    if not config().counting:
        return None
    count_article_view(article_id, full)
    return COUNT_HEADER, article_view_mark(article_id, full)


def read_mark(mark):
    """(kind, article id) from a COUNT_HEADER value, or None."""
    kind, _, object_id = mark.partition(":")
    if kind in ("read", "paywall_view") and object_id.isdigit():
        return kind, int(object_id)
    return None


def count_mark(mark):
    found = read_mark(mark)
    if found is not None:
        count(*found)


# The mark of each cached page's headers, by the identity of the list the
# page cache holds: each hit on a page passes the same list. The entry keeps
# the list alive, so its id is not reused while the entry stands. With the
# mark, the count's key for the day it was last counted on.
_marks: dict[int, tuple[list, tuple[str, int] | None, tuple[str, int, date] | None]] = {}
_MARKS_KEPT = 1024


def count_cached_page(headers):
    """The page cache's hit hook: count a kept article page by its mark.
    Run on every hit, so it does only what `count` must."""
    found = _marks.get(id(headers))
    if found is None or found[0] is not headers:
        found = _remember_mark(headers)
    mark, key = found[1], found[2]
    if mark is None:
        return
    day = today()
    if key is None or key[2] is not day:
        key = _key(mark[0], mark[1], day)
        _marks[id(headers)] = (headers, mark, key)
    _counted.append(key)
    current = config()
    if _state["thread"] is None or len(_counted) >= current.flush_counts:
        _after_count(current)


def _remember_mark(headers):
    # None when counting is off: a change of the setting forgets the marks.
    mark = None
    if config().counting:
        for name, value in headers:
            if name.lower() == _COUNT_HEADER_LOWER:
                mark = read_mark(value)
                break
    if len(_marks) >= _MARKS_KEPT:
        _marks.clear()
    found = _marks[id(headers)] = (headers, mark, None)
    return found


def checkout_fulfilled(subscription, from_article):
    """Billing's hook once a checkout is fulfilled: a checkout for the
    article whose paywall it began from, written at once (checkouts are few,
    and each matters)."""
    if from_article is not None and config().counting:
        _write({("checkout", from_article, today()): 1})


def pending():
    """What this process counted and has not written yet (for tests)."""
    with _lock:
        return dict(_unwritten + Counter(list(_counted)))


def forget_pending():
    """Drop what this process counted and has not written (for tests: the
    counts belong to the last test's database)."""
    with _lock:
        _counted.clear()
        _unwritten.clear()


def flush():
    """Write this process's counts, adding to the rows already there; the
    number of rows written. Counts that could not be written are kept for
    the next flush."""
    try:
        return _flush()
    except Exception:
        logger.exception("Could not write counts; keeping them for the next flush")
        return 0


def _flush():
    with _lock:
        # Only what is there now: counts appended meanwhile wait their turn.
        take = _counted.popleft
        batch = Counter(take() for _ in range(len(_counted)))
        batch.update(_unwritten)
        _unwritten.clear()
    if not batch:
        return 0
    try:
        return _write(batch)
    except BaseException:
        # Kept, but out of the next batch's size: the next try waits for a
        # batch more (or the next turn), rather than each count trying again.
        with _lock:
            _unwritten.update(batch)
        raise


def _write(batch):
    """Add `batch` ({(kind, object id, day): n}) to the Tally rows."""
    from .models import Tally

    table = connection.ops.quote_name(Tally._meta.db_table)
    sql = (
        f"INSERT INTO {table} (kind, object_id, day, count) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT (kind, object_id, day) DO UPDATE SET count = {table}.count + excluded.count"
    )
    rows = [(kind, object_id, day, n) for (kind, object_id, day), n in batch.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def start_flushing():
    """Start this process's background writer, unless it runs already."""
    with _lock:
        if _state["thread"] is not None:
            return
        _stop.clear()
        thread = threading.Thread(target=_flush_in_background, name="insights-counts", daemon=True)
        _state["thread"] = thread
    # A web worker forked by multiprocessing (granian's) leaves through
    # os._exit, which skips atexit: its own exit hook is registered in it.
    multiprocessing.util.Finalize(None, _flush_at_exit, exitpriority=10)
    thread.start()


def stop_flushing(timeout=10.0):
    """Stop the background writer, letting a write in progress finish."""
    thread = _state["thread"]
    if thread is None:
        return
    _stop.set()
    _wake.set()
    thread.join(timeout)
    _state["thread"] = None


def _flush_in_background():
    while not _stop.is_set():
        _wake.wait(config().flush_seconds)
        _wake.clear()
        if _stop.is_set():
            return
        try:
            _flush()
        except Exception:
            logger.exception("Could not write counts; keeping them for the next flush")
            # Not again before the next turn, however full the batch.
            _stop.wait(config().flush_seconds)
        finally:
            # This thread's own connection, opened afresh for each write.
            connection.close()
        _written.set()


def _flush_at_exit():
    # Registered twice (atexit, and multiprocessing's exit in a worker).
    if _state.get("exited"):
        return
    _state["exited"] = True
    stop_flushing()
    try:
        _flush()
    except Exception as error:  # the database may be gone already
        logger.warning("%d counts not written at exit: %s", _unwritten.total(), error)


def _after_fork_in_child():
    # The parent writes what it counted; the child starts its own thread.
    global _lock
    _lock = threading.Lock()
    _counted.clear()
    _unwritten.clear()
    _state.update(thread=None, exited=False)
    _wake.clear()
    _stop.clear()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
