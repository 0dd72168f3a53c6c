"""Counting reads, paywall views, checkouts and narration progress on the
server, without cookies or anything about the reader.

Nothing is counted when INSIGHTS_COUNTING is off.

`count(kind, object_id)` only adds one to a per-process counter: a request
never waits on the database for it. A background thread in each process
writes the counters to `Tally` rows in one statement every
INSIGHTS_FLUSH_SECONDS, sooner when INSIGHTS_FLUSH_COUNTS counts have
gathered (a bound on what the process holds), and once more when the
process exits normally. A crash loses what was counted since the last
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
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
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


setting_changed.connect(_forget_config)

_lock = threading.Lock()
_counts: Counter[tuple[str, int, Any]] = Counter()
_state: dict[str, Any] = {"pending": 0, "thread": None}
# Set to write the counts now rather than when INSIGHTS_FLUSH_SECONDS are up.
_wake = threading.Event()
_stop = threading.Event()
# Set by the background thread each time it has written (for tests).
_written = threading.Event()
# Today in the publisher's zone, and the wall-clock seconds it spans.
_day: dict[str, Any] = {"zone": None, "date": None, "starts": 0.0, "ends": 0.0}


def publisher_zone():
    return config().zone


def today():
    """The publisher's date now, worked out again only when a day ends."""
    zone = config().zone
    now = time.time()
    if _day["zone"] is not zone or not _day["starts"] <= now < _day["ends"]:
        local = datetime.fromtimestamp(now, zone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        _day.update(
            zone=zone,
            date=local.date(),
            starts=midnight.timestamp(),
            ends=(midnight + timedelta(days=1)).timestamp(),
        )
    return _day["date"]


def count(kind, object_id, n=1):
    """Add `n` to today's count of `kind` for `object_id` (a Tally.Kind)."""
    current = config()
    if not current.counting:
        return
    key = (kind, int(object_id), today())
    with _lock:
        _counts[key] += n
        _state["pending"] += n
        full = _state["pending"] >= current.flush_counts
    if _state["thread"] is None and current.flush_seconds > 0:
        start_flushing()
    if full:
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
# the list alive, so its id is not reused while the entry stands.
_marks: dict[int, tuple[list, tuple[str, int] | None]] = {}
_MARKS_KEPT = 1024


def count_cached_page(headers):
    """The page cache's hit hook: count a kept article page by its mark."""
    if not config().counting:
        return
    found = _marks.get(id(headers))
    if found is None or found[0] is not headers:
        mark = None
        for name, value in headers:
            if name.lower() == _COUNT_HEADER_LOWER:
                mark = read_mark(value)
                break
        if len(_marks) >= _MARKS_KEPT:
            _marks.clear()
        found = _marks[id(headers)] = (headers, mark)
    if found[1] is not None:
        count(*found[1])


def checkout_fulfilled(subscription, from_article):
    """Billing's hook once a checkout is fulfilled: a checkout for the
    article whose paywall it began from, written at once (checkouts are few,
    and each matters)."""
    if from_article is not None and config().counting:
        _write({("checkout", from_article, today()): 1})


def pending():
    """What this process counted and has not written yet (for tests)."""
    with _lock:
        return dict(_counts)


def forget_pending():
    """Drop what this process counted and has not written (for tests: the
    counts belong to the last test's database)."""
    with _lock:
        _counts.clear()
        _state["pending"] = 0


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
        batch = dict(_counts)
        _counts.clear()
        _state["pending"] = 0
    if not batch:
        return 0
    try:
        return _write(batch)
    except BaseException:
        # Kept, but not as pending: the next try waits for a batch more (or
        # the next turn), rather than each count trying again at once.
        with _lock:
            _counts.update(batch)
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
        logger.warning("%d counts not written at exit: %s", len(_counts), error)


def _after_fork_in_child():
    # The parent writes what it counted; the child starts its own thread.
    global _lock
    _lock = threading.Lock()
    _counts.clear()
    _state.update(pending=0, thread=None, exited=False)
    _wake.clear()
    _stop.clear()


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
