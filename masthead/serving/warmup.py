"""Warming a web process up before it serves readers.

A fresh process compiles templates and imports and sets up what rendering
needs on its first page: about half a second of CPU here (and a quarter of a
second more for a signed-in reader's first page), which its first reader
waits for. Under load it is worse: after a publish, the process whose
request renders a hot page anew holds up everyone waiting for that page,
and a cold one takes several times as long. So each web process renders
the home page and the latest article once as it starts, before it takes
requests.
"""

import io
import logging
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http.request import validate_host

logger = logging.getLogger(__name__)


def warm_up(application: WSGIHandler) -> None:
    """GETs the home page and the latest article through `application`
    (Django's WSGI handler), as an anonymous reader would; the pages are
    thrown away. Anything that fails (no database yet, an empty site) is
    logged: the process then starts cold, as it would have anyway."""
    from django.db import connections

    try:
        host, paths = _what_to_warm()
        if host is not None:
            for path in paths:
                _get(application, host, path)
    except Exception:
        logger.warning("Web process not warmed up", exc_info=True)
    finally:
        # Requests' threads open their own; this one's would only sit idle
        # (a test's transaction is left alone).
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()


def _what_to_warm() -> tuple[str | None, list[str]]:
    from wagtail.models import Site

    from masthead.newsroom.models import ArticlePage

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return None, []
    hosts = [site.hostname, *settings.ALLOWED_HOSTS]
    host = next(
        (
            h
            for h in hosts
            if "*" not in h and not h.startswith(".") and validate_host(h, settings.ALLOWED_HOSTS)
        ),
        None,
    )
    if host is None:
        return None, []
    latest = ArticlePage.objects.live().order_by("-first_published_at").first()
    paths = ["/"]
    if latest is not None:
        paths.append(latest.get_url_parts()[2])
    return host, paths


def _get(application: WSGIHandler, host: str, path: str) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    answered: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        answered.append(status)

    body = application(environ, start_response)  # type: ignore[arg-type]
    try:
        for _chunk in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    if not answered or not answered[0].startswith(("200", "30")):
        logger.warning("Warming up: %s answered %s", path, answered[0] if answered else "nothing")
