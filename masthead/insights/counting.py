"""Counting reads, paywall views, checkouts and narration progress on the
server, without cookies or anything about the reader.

Nothing is counted when INSIGHTS_COUNTING is off.

`count(kind, object_id)` adds one to a per-process counter; the counters are
written to `Tally` rows in one statement when INSIGHTS_FLUSH_COUNTS counts
have gathered or INSIGHTS_FLUSH_SECONDS have passed, whichever comes first,
and when the process exits. A crash loses at most one batch of counts,
never a page.

Call sites (the article serving path):
- serving's variants call `article_viewed` (registered in apps.py) for each
  article page they serve, and it marks the response with COUNT_HEADER, so
  the page cache keeps the mark;
- the page cache calls `count_cached_page` (registered in apps.py) with the
  headers of each anonymous page it answers without Django.
"""

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

COUNT_HEADER = "X-Masthead-Count"
_COUNT_HEADER_LOWER = COUNT_HEADER.lower()

_lock = threading.Lock()
_counts: Counter[tuple[str, int, Any]] = Counter()
_state = {"pending": 0, "flushed_at": time.monotonic(), "zone": None}
# Today in the publisher's zone, and the wall-clock seconds it spans.
_day = {"zone": None, "date": None, "starts": 0.0, "ends": 0.0}


def publisher_zone():
    name = settings.PUBLISHER_TIME_ZONE
    zone = _state["zone"]
    if zone is None or zone.key != name:
        zone = _state["zone"] = ZoneInfo(name)
    return zone


def today():
    """The publisher's date now, worked out again only when a day ends."""
    zone = publisher_zone()
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
    if not settings.INSIGHTS_COUNTING:
        return
    key = (kind, int(object_id), today())
    with _lock:
        _counts[key] += n
        _state["pending"] += n
        due = (
            _state["pending"] >= settings.INSIGHTS_FLUSH_COUNTS
            or time.monotonic() - _state["flushed_at"] >= settings.INSIGHTS_FLUSH_SECONDS
        )
    if due:
        flush()


def article_view_mark(article_id, full):
    """The COUNT_HEADER value for an article page: a read when the reader
    gets the whole article, a paywall view when not."""
    return f"{'read' if full else 'paywall_view'}:{article_id}"


def count_article_view(article_id, full):
    count("read" if full else "paywall_view", article_id)


def article_viewed(article_id, full):
    """Serving's article view hook: count the view, and mark the response so
    the page cache counts it again on each hit."""
    if not settings.INSIGHTS_COUNTING:
        return None
    count_article_view(article_id, full)
    return COUNT_HEADER, article_view_mark(article_id, full)


def count_mark(mark):
    kind, _, object_id = mark.partition(":")
    if kind in ("read", "paywall_view") and object_id.isdigit():
        count(kind, object_id)


def count_cached_page(headers):
    """The page cache's hit hook: count a kept article page by its mark."""
    if not settings.INSIGHTS_COUNTING:
        return
    for name, value in headers:
        if name.lower() == _COUNT_HEADER_LOWER:
            count_mark(value)
            return


def checkout_fulfilled(subscription, from_article):
    """Billing's hook once a checkout is fulfilled: a checkout for the
    article whose paywall it began from, written at once (checkouts are few,
    and each matters)."""
    if from_article is not None and settings.INSIGHTS_COUNTING:
        _write({("checkout", from_article, today()): 1})


def pending():
    """What this process counted and has not written yet (for tests)."""
    with _lock:
        return dict(_counts)


def flush():
    """Write this process's counts, adding to the rows already there."""
    with _lock:
        batch = dict(_counts)
        _counts.clear()
        _state["pending"] = 0
        _state["flushed_at"] = time.monotonic()
    if not batch:
        return 0
    try:
        return _write(batch)
    except Exception:
        # Keep the counts for the next try rather than lose them.
        logger.exception("Could not write %d counts; keeping them", len(batch))
        with _lock:
            _counts.update(batch)
            _state["pending"] += sum(batch.values())
        return 0


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


def _flush_at_exit():
    try:
        flush()
    except Exception:  # the database may be gone already
        logger.exception("Counts not written at exit")


atexit.register(_flush_at_exit)
