"""Reads, paywall views and listening counted on the server: per process,
written in batches, and through the page cache's hits too."""

import sys
import threading
from datetime import date

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError
from django.urls import reverse

from masthead.insights import counting
from masthead.insights.models import Tally
from masthead.serving.pagecache import AnonymousPageCache
from tests.serving.test_pagecache import WSGIClient


@pytest.fixture(autouse=True)
def empty_counters(settings):
    # Batches large, and no background writer: each test flushes when it
    # means to.
    settings.INSIGHTS_FLUSH_COUNTS = 10_000
    settings.INSIGHTS_FLUSH_SECONDS = 0
    settings.PUBLISHER_TIME_ZONE = "UTC"
    counting.forget_pending()
    yield
    counting.stop_flushing()
    counting.forget_pending()


def tallies():
    return {(t.kind, t.object_id): t.count for t in Tally.objects.all()}


@pytest.mark.django_db
def test_counts_gather_in_the_process_and_add_up_in_the_database():
    counting.count("read", 7)
    counting.count("read", 7)
    counting.count("paywall_view", 7)
    assert Tally.objects.count() == 0
    assert counting.flush() == 2
    counting.count("read", 7)
    counting.flush()
    assert tallies() == {("read", 7): 3, ("paywall_view", 7): 1}
    assert counting.pending() == {}


@pytest.mark.django_db
def test_a_full_batch_is_written_without_waiting(settings):
    settings.INSIGHTS_FLUSH_COUNTS = 3
    for _ in range(3):
        counting.count("read", 9)
    assert tallies() == {("read", 9): 3}


@pytest.mark.django_db(transaction=True)
def test_the_background_writer_writes_a_full_batch_without_the_request(settings):
    settings.INSIGHTS_FLUSH_SECONDS = 3600
    settings.INSIGHTS_FLUSH_COUNTS = 3
    counting._written.clear()
    counting.count("read", 9)
    counting.count("read", 9)
    assert counting._state["thread"] is not None
    assert not counting._wake.is_set()
    counting.count("read", 9)
    # The count that fills the batch only wakes the writer.
    assert counting._written.wait(timeout=60)
    assert tallies() == {("read", 9): 3}
    assert counting.pending() == {}


@pytest.mark.django_db(transaction=True)
def test_what_is_left_is_written_at_exit(settings):
    settings.INSIGHTS_FLUSH_SECONDS = 3600
    counting.count("paywall_view", 4)
    counting.count("paywall_view", 4)
    thread = counting._state["thread"]
    assert tallies() == {}
    counting._flush_at_exit()
    counting._state["exited"] = False
    assert not thread.is_alive()
    assert tallies() == {("paywall_view", 4): 2}


@pytest.mark.django_db
def test_exit_without_a_database_says_so_in_one_line(monkeypatch, caplog):
    def database_gone(batch):
        raise OperationalError("no such table: insights_tally")

    monkeypatch.setattr(counting, "_write", database_gone)
    counting.count("read", 5)
    counting._flush_at_exit()
    counting._state["exited"] = False
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert record.getMessage() == "1 counts not written at exit: no such table: insights_tally"
    # Kept, should the database come back.
    assert counting.pending() == {("read", 5, counting.today()): 1}


@pytest.mark.django_db
def test_a_failed_write_is_not_tried_again_by_each_count(settings, monkeypatch):
    settings.INSIGHTS_FLUSH_COUNTS = 2
    tries = []

    def database_down(batch):
        tries.append(dict(batch))
        raise OperationalError("connection refused")

    monkeypatch.setattr(counting, "_write", database_down)
    for _ in range(5):
        counting.count("read", 3)
    # At the 2nd count and the 4th, not at every count after the 2nd.
    assert len(tries) == 2
    assert counting.pending() == {("read", 3, counting.today()): 5}


@pytest.mark.django_db
def test_the_day_is_the_publishers(settings):
    from freezegun import freeze_time

    settings.PUBLISHER_TIME_ZONE = "America/New_York"
    with freeze_time("2026-03-02 03:00:00"):  # 22:00 on Mar 1 in New York
        counting.count("read", 1)
    counting.flush()
    assert Tally.objects.get().day == date(2026, 3, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("read_by", ["count", "page cache hit"])
def test_the_day_turns_at_the_publishers_midnight(settings, request, read_by):
    from freezegun import freeze_time

    settings.PUBLISHER_TIME_ZONE = "Europe/Paris"
    if read_by == "count":

        def read():
            counting.count("read", 1)

    else:
        # A page cached before midnight counts each hit on the day of the hit.
        request.getfixturevalue("wsgi_in_test_transaction")
        settings.SERVING_PER_PROCESS_SECONDS = 0
        wsgi = WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))
        url = request.getfixturevalue("magazine")["free"].url
        wsgi.get(url)
        counting.forget_pending()

        def read():
            assert wsgi.get(url)[1]["X-Page-Cache"] == "hit"

    with freeze_time("2026-03-01 22:59:59"):  # 23:59:59 in Paris
        read()
    with freeze_time("2026-03-01 23:00:00"):
        read()
        read()
    counting.flush()
    assert sorted(Tally.objects.values_list("day", "count")) == [
        (date(2026, 3, 1), 1),
        (date(2026, 3, 2), 2),
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_nothing_is_counted_with_counting_off(settings, magazine):
    settings.INSIGHTS_COUNTING = False
    settings.SERVING_PER_PROCESS_SECONDS = 0
    wsgi = WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))
    free = magazine["free"]
    wsgi.get(free.url)
    _status, headers, _body = wsgi.get(free.url)
    assert headers["X-Page-Cache"] == "hit"
    assert counting.COUNT_HEADER not in headers
    counting.count("narration_started", free.pk)
    assert counting.pending() == {}
    counting.flush()
    assert tallies() == {}


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_anonymous_reads_count_on_a_miss_and_on_every_cache_hit(settings, magazine):
    settings.SERVING_PER_PROCESS_SECONDS = 0
    wsgi = WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))
    free, gated = magazine["free"], magazine["gated"]
    wsgi.get(free.url)
    _status, headers, _body = wsgi.get(free.url)
    assert headers["X-Page-Cache"] == "hit"
    wsgi.get(free.url)
    wsgi.get(gated.url)
    _status, headers, _body = wsgi.get(gated.url)
    assert headers["X-Page-Cache"] == "hit"
    counting.flush()
    assert tallies() == {("read", free.pk): 3, ("paywall_view", gated.pk): 2}


@pytest.mark.django_db
@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_turning_counting_off_stops_counting_pages_already_cached(settings, magazine):
    settings.SERVING_PER_PROCESS_SECONDS = 0
    wsgi = WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))
    free = magazine["free"]
    wsgi.get(free.url)
    wsgi.get(free.url)
    settings.INSIGHTS_COUNTING = False
    _status, headers, _body = wsgi.get(free.url)
    assert headers["X-Page-Cache"] == "hit"
    assert headers[counting.COUNT_HEADER] == f"read:{free.pk}"
    counting.flush()
    assert tallies() == {("read", free.pk): 2}


@pytest.fixture
def threads_switched_often():
    # As often as the interpreter can, so that counts land in the middle of
    # the writer taking a batch.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("threads_switched_often")
def test_no_count_is_lost_while_the_writer_takes_a_batch():
    threads, each = 4, 3000
    started = threading.Barrier(threads + 1)

    def reader():
        started.wait()
        for _ in range(each):
            counting.count("read", 11)

    counters = [threading.Thread(target=reader) for _ in range(threads)]
    for thread in counters:
        thread.start()
    started.wait()
    while any(thread.is_alive() for thread in counters):
        counting.flush()
    for thread in counters:
        thread.join()
    counting.flush()
    assert tallies() == {("read", 11): threads * each}
    assert counting.pending() == {}


@pytest.mark.django_db
def test_the_player_reports_listening_progress_without_a_session(client, magazine):
    article = magazine["free"]
    for mark in ("started", "half", "end", "started"):
        response = client.post(reverse("insights_public:listening", args=[article.pk, mark]))
        assert response.status_code == 204
        assert "Set-Cookie" not in response.headers
    assert (
        client.post(reverse("insights_public:listening", args=[article.pk, "skipped"])).status_code
        == 400
    )
    assert (
        client.get(reverse("insights_public:listening", args=[article.pk, "end"])).status_code
        == 405
    )
    counting.flush()
    assert tallies() == {
        ("narration_started", article.pk): 2,
        ("narration_half", article.pk): 1,
        ("narration_end", article.pk): 1,
    }
