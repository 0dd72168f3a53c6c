"""`/health/`: database, cache, queue and storage, each timed; 503 when any
fails; never cached, not even by the anonymous page cache."""

import io
import json

import pytest

from masthead.core import health

pytestmark = pytest.mark.django_db


def test_all_ok(client):
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


def test_a_failing_dependency_answers_503_without_details(client, monkeypatch):
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

    from masthead.core.pagecache import AnonymousPageCache

    application = AnonymousPageCache(WSGIHandler(), ttl=300)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured.update(status=status, headers=dict(headers))

    for _ in range(2):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/health/",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": io.StringIO(),
        }
        body = b"".join(application(environ, start_response))
        assert captured["status"].startswith("200")
        assert "X-Page-Cache" not in captured["headers"]
        assert json.loads(body)["status"] == "ok"
