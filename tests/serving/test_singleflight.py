"""One rendering per stale page per process (serving/singleflight.py), through
the anonymous page cache, with a slow application standing in for Django."""

import io
import threading
import time

import pytest

from masthead.serving import pagecache
from masthead.serving.pagecache import AnonymousPageCache, CachedPage
from masthead.serving.singleflight import Flight, Flights


class SlowPage:
    """A WSGI application that takes a while to render and counts renderings."""

    def __init__(self, cache_control="public, max-age=60"):
        self.cache_control = cache_control
        self.renderings = 0
        self.lock = threading.Lock()
        self.gate = threading.Event()  # a rendering ends once it is open
        self.gate.set()

    def __call__(self, environ, start_response):
        with self.lock:
            self.renderings += 1
            number = self.renderings
        time.sleep(0.2)
        self.gate.wait(10)
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", self.cache_control)],
        )
        return [f"<p>rendering {number}</p>".encode()]


def environ_for(path):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
    }


def get_all_at_once(application, path, readers=8, label=False):
    """Each reader's (status, body), and with `label` its X-Page-Cache."""
    bodies, start = [], threading.Barrier(readers)

    def read():
        environ = environ_for(path)
        start.wait()
        answers = []
        body = b"".join(application(environ, lambda *answer: answers.append(answer)))
        status, headers = answers[0][:2]
        if label:
            bodies.append((dict(headers).get("X-Page-Cache"), body))
        else:
            bodies.append((status, body))

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(bodies) == readers, "a reader got no answer"
    return bodies


def test_readers_arriving_together_share_one_rendering():
    page = SlowPage()
    bodies = get_all_at_once(AnonymousPageCache(page, ttl=60), "/politics/hot/")
    assert page.renderings == 1
    assert bodies == [("200 OK", b"<p>rendering 1</p>")] * 8


def test_after_a_publish_one_reader_renders_while_the_others_get_the_page_from_before(
    settings,
):
    settings.PUBLISH_GRACE_SECONDS = 60  # however slow this machine is now
    page = SlowPage()
    application = AnonymousPageCache(page, ttl=60)
    get_all_at_once(application, "/politics/hot/")
    pagecache.invalidate_pages()
    page.gate.clear()
    led = []
    leader = threading.Thread(
        target=lambda: led.extend(get_all_at_once(application, "/politics/hot/", 1, label=True))
    )
    leader.start()
    while page.renderings < 2:  # the leader is rendering, and will until the gate opens
        time.sleep(0.01)
    bodies = get_all_at_once(application, "/politics/hot/", 7, label=True)
    page.gate.set()
    leader.join(10)
    assert page.renderings == 2 and led == [(None, b"<p>rendering 2</p>")]
    assert bodies == [("stale", b"<p>rendering 1</p>")] * 7
    # Once it is kept, everyone gets the new page.
    assert (
        get_all_at_once(application, "/politics/hot/", 2, label=True)
        == [("hit", b"<p>rendering 2</p>")] * 2
    )


def test_after_the_grace_readers_wait_for_the_new_page(settings):
    page = SlowPage()
    application = AnonymousPageCache(page, ttl=60)
    get_all_at_once(application, "/politics/hot/")
    settings.PUBLISH_GRACE_SECONDS = 0
    pagecache.invalidate_pages()
    bodies = get_all_at_once(application, "/politics/hot/")
    assert page.renderings == 2
    assert {body for _, body in bodies} == {b"<p>rendering 2</p>"}


def test_a_page_from_two_publishes_ago_never_stands_in():
    page = SlowPage()
    application = AnonymousPageCache(page, ttl=60)
    get_all_at_once(application, "/politics/hot/")
    pagecache.invalidate_pages()
    pagecache.invalidate_pages()
    bodies = get_all_at_once(application, "/politics/hot/", label=True)
    assert page.renderings == 2
    assert {label for label, _ in bodies} <= {None, "hit"}
    assert {body for _, body in bodies} == {b"<p>rendering 2</p>"}


@pytest.fixture
def rendered_elsewhere(settings, serving_clock):
    """A page kept, then published anew, another process rendering it in the
    publish's grace: (this process's page cache, its application, the key)."""
    from django.core.cache import cache

    settings.PUBLISH_GRACE_SECONDS = 60
    page = SlowPage()
    here = AnonymousPageCache(page, ttl=60)
    get_all_at_once(here, "/politics/hot/", 1)
    pagecache.invalidate_pages()
    key = here.key(environ_for("/politics/hot/"))
    cache.add(f"flight:{key}", 1, 10)
    yield here, page, key
    cache.delete(f"flight:{key}")


def test_during_the_grace_a_rendering_in_another_process_is_not_waited_for(rendered_elsewhere):
    here, page, _key = rendered_elsewhere
    answers = get_all_at_once(here, "/politics/hot/", 3, label=True)
    assert answers == [("stale", b"<p>rendering 1</p>")] * 3 and page.renderings == 1


def test_while_another_process_renders_the_page_from_before_costs_no_round_trip(
    rendered_elsewhere, cache_calls, serving_clock, settings
):
    from django.core.cache import cache

    from masthead.serving import singleflight

    here, page, key = rendered_elsewhere
    calls = cache_calls(pagecache, singleflight)
    answers = [get_all_at_once(here, "/politics/hot/", 1, label=True)[0] for _ in range(5)]
    assert answers == [("stale", b"<p>rendering 1</p>")] * 5 and page.renderings == 1
    # The first reader found it rendered elsewhere (the page, the claim, the
    # page again); the others took that as still so.
    asked = [call for call in calls if key in call[1]]
    assert asked == [("get", key), ("add", f"flight:{key}"), ("get", key)]

    # A moment later a reader asks again, and finds the page kept.
    headers = [("Content-Type", "text/html"), ("Cache-Control", "public, max-age=60")]
    cache.set(
        key, CachedPage("200 OK", headers, b"<p>rendered elsewhere</p>", time.time() + 60), 60
    )
    cache.delete(f"flight:{key}")
    # Still taken as rendered elsewhere (no round trip) until the recheck.
    assert get_all_at_once(here, "/politics/hot/", 1, label=True) == [
        ("stale", b"<p>rendering 1</p>")
    ]
    serving_clock.advance(settings.CLAIM_RECHECK_SECONDS)
    assert (
        get_all_at_once(here, "/politics/hot/", 2, label=True)
        == [("hit", b"<p>rendered elsewhere</p>")] * 2
    )


def test_a_page_that_may_not_be_shared_is_rendered_for_each_reader():
    page = SlowPage(cache_control="private")
    bodies = get_all_at_once(AnonymousPageCache(page, ttl=60), "/account-like/", readers=4)
    assert page.renderings == 4
    assert sorted(body for _, body in bodies) == [
        f"<p>rendering {n}</p>".encode() for n in range(1, 5)
    ]


def test_a_failing_leader_releases_the_others():
    flights, outcomes = Flights(), []
    start = threading.Barrier(3)

    def worker(number):
        start.wait()
        try:
            with flights.wait_or_lead("key") as flight:
                if flight is Flight.RENDER:
                    time.sleep(0.1)
                    raise RuntimeError("rendering failed")
                outcomes.append("waited")
        except RuntimeError:
            outcomes.append("failed")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(outcomes) == ["failed", "waited", "waited"]
    assert time.monotonic() - began < 2
    assert flights.flights == {}


def test_a_rendering_in_another_process_is_waited_for_and_shared():
    from django.core.cache import cache

    page = SlowPage()
    here = AnonymousPageCache(page, ttl=60)
    key = here.key(environ_for("/politics/hot/"))
    cache.add(f"flight:{key}", 1, 10)  # the other process is rendering
    answers = []
    reader = threading.Thread(
        target=lambda: answers.append(get_all_at_once(here, "/politics/hot/", 1))
    )
    reader.start()
    time.sleep(0.1)
    assert answers == [] and page.renderings == 0  # waiting, not rendering
    # The other process keeps its rendering in the shared cache, then lands.
    headers = [("Content-Type", "text/html"), ("Cache-Control", "public, max-age=60")]
    cache.set(
        key, CachedPage("200 OK", headers, b"<p>rendered elsewhere</p>", time.time() + 60), 60
    )
    cache.delete(f"flight:{key}")
    reader.join(5)
    assert answers == [[("200 OK", b"<p>rendered elsewhere</p>")]] and page.renderings == 0


def test_when_the_other_process_keeps_nothing_this_one_renders():
    from django.core.cache import cache

    page = SlowPage(cache_control="private")
    here = AnonymousPageCache(page, ttl=60)
    key = here.key(environ_for("/account-like/"))
    cache.add(f"flight:{key}", 1, 10)
    answers = []
    reader = threading.Thread(
        target=lambda: answers.append(get_all_at_once(here, "/account-like/", 1))
    )
    reader.start()
    time.sleep(0.1)
    cache.delete(f"flight:{key}")  # the other process is done, with nothing to share
    reader.join(5)
    assert answers == [[("200 OK", b"<p>rendering 1</p>")]] and page.renderings == 1
