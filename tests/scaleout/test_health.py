"""`/health/`: database, cache, queue and storage, each timed; 503 when any
fails; never cached, not even by the anonymous page cache. The public gets
the status alone; staff and HEALTH_DETAIL_ADDRESSES get the report."""

import pytest

from masthead.core import health
from tests.wsgi import wsgi_environ

pytestmark = pytest.mark.django_db


@pytest.fixture
def monitor(settings):
    """A monitor at the test client's address, which may see the report."""
    settings.HEALTH_DETAIL_ADDRESSES = ["127.0.0.0/8"]


def test_all_ok(client, monitor):
    response = client.get("/health/")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert set(report["checks"]) == {"database", "cache", "queue", "storage"}
    for check in report["checks"].values():
        assert check["ok"] is True
        assert 0 <= check["ms"] < 5000
    assert report["checks"]["storage"]["private"] == "local"
    assert "no-store" in response["Cache-Control"]


def test_a_failing_dependency_answers_503_without_details(client, monitor, monkeypatch):
    def unreachable():
        raise ConnectionError("redis://secret-host:6379 refused")

    monkeypatch.setitem(health.CHECKS, "cache", unreachable)
    response = client.get("/health/")
    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "failing"
    assert report["checks"]["cache"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": report["checks"]["cache"]["ms"],
    }
    assert report["checks"]["database"]["ok"] is True
    assert "secret-host" not in response.content.decode()


def test_the_public_gets_the_status_alone(client, monkeypatch, settings):
    settings.HEALTH_DETAIL_ADDRESSES = ["10.0.0.0/8"]
    response = client.get("/health/")
    assert (response.status_code, response.content) == (200, b"ok")
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]

    monkeypatch.setitem(health.CHECKS, "cache", lambda: 1 / 0)
    response = client.get("/health/")
    assert (response.status_code, response.content) == (503, b"failing")


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "detailed"),
    [
        ("10.1.2.3", "", [], True),  # a monitor in the listed network
        ("192.0.2.1", "", [], False),
        ("192.0.2.1", "10.1.2.3", [], False),  # anyone may send the header
        ("192.0.2.9", "198.51.100.7, 10.1.2.3", ["192.0.2.9"], True),  # through the proxy
        ("192.0.2.9", "10.1.2.3, 198.51.100.7", ["192.0.2.9"], False),
    ],
)
def test_details_go_to_the_listed_addresses(client, settings, remote, forwarded, proxies, detailed):
    settings.HEALTH_DETAIL_ADDRESSES = ["10.0.0.0/8", "2001:db8::1"]
    settings.TRUSTED_PROXIES = proxies
    response = client.get("/health/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert response.status_code == 200
    assert ("checks" in response.content.decode()) is detailed


def test_staff_get_the_report(client, django_user_model):
    staff = django_user_model.objects.create_user("ops@example.com", is_staff=True)
    member = django_user_model.objects.create_user("reader@example.com")
    client.force_login(member)
    assert client.get("/health/").content == b"ok"
    client.force_login(staff)
    assert client.get("/health/").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("django_tasks_db.DatabaseBackend", "database"),
        ("django_tasks.backends.immediate.ImmediateBackend", "ImmediateBackend"),
    ],
)
def test_queue_report(settings, backend, expected):
    settings.TASKS = {"default": {"BACKEND": backend}}
    report = health.check_queue()
    assert report["backend"] == expected
    if expected == "database":
        assert report["waiting"] == 0 and report["oldest_waiting_s"] == 0


@pytest.mark.django_db(transaction=True)  # WSGIHandler closes connections after a request
def test_never_served_from_the_page_cache():
    from django.core.handlers.wsgi import WSGIHandler

    from masthead.serving.pagecache import AnonymousPageCache

    application = AnonymousPageCache(WSGIHandler(), ttl=300)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    for _ in range(2):
        environ = wsgi_environ("/health/")
        body = b"".join(application(environ, start_response))
        assert captured["status"].startswith("200")
        assert "X-Page-Cache" not in captured["headers"]
        assert body == b"ok"
