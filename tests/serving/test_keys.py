"""One host rule: the environ-level key builder agrees with Django's
`request.scheme` and `request.get_host()` (serving/keys.py)."""

import io

import pytest
from django.core.cache.backends.base import memcache_key_warnings
from django.core.handlers.wsgi import WSGIRequest

from masthead.serving.keys import PlaceKeys, environ_place, key_part, request_place


def environ(**extra):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        **extra,
    }


CASES = [
    environ(HTTP_HOST="testserver"),
    environ(HTTP_HOST="testserver", HTTP_X_FORWARDED_HOST="evil.example"),
    environ(HTTP_HOST="testserver:8000"),
    environ(),
    environ(SERVER_PORT="8000"),
    environ(SERVER_PORT="8000", HTTP_X_FORWARDED_PORT="443"),
    environ(HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https"),
    environ(HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https, http"),
    environ(HTTP_HOST="testserver", **{"wsgi.url_scheme": "https"}),
]


@pytest.mark.parametrize("forwarded_host", [False, True])
@pytest.mark.parametrize("forwarded_port", [False, True])
@pytest.mark.parametrize("proxy_ssl", [None, ("HTTP_X_FORWARDED_PROTO", "https")])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_environ_key_agrees_with_djangos_host_and_scheme(
    settings, forwarded_host, forwarded_port, proxy_ssl, case
):
    settings.ALLOWED_HOSTS = ["*"]
    settings.USE_X_FORWARDED_HOST = forwarded_host
    settings.USE_X_FORWARDED_PORT = forwarded_port
    settings.SECURE_PROXY_SSL_HEADER = proxy_ssl
    meta = dict(CASES[case])
    assert environ_place(meta) == request_place(WSGIRequest(dict(meta)))


def test_a_forwarded_host_is_not_trusted_unless_django_is_told_to(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.USE_X_FORWARDED_HOST = False
    forwarded = environ(HTTP_HOST="magazine.example", HTTP_X_FORWARDED_HOST="evil.example")
    assert environ_place(forwarded) == "http:magazine.example"
    settings.USE_X_FORWARDED_HOST = True
    assert environ_place(forwarded) == "http:evil.example"


@pytest.mark.parametrize(
    "path",
    ["/\x00/", "/a b/", "/caf\u00e9/", "/" + "long-" * 80, "/\ud800/", "/politics/poll-workers/"],
)
def test_every_path_makes_a_key_memcached_takes(path):
    keys = PlaceKeys("7:http:testserver", "6:http:testserver")
    for key in (keys.route(path), keys.route_before(path), "pagecache:7:" + key_part(path)):
        assert list(memcache_key_warnings(":1:serving:route:" + key)) == [], key
    # An ordinary path stays readable; different paths keep different keys.
    assert keys.route("/politics/poll-workers/").endswith(":/politics/poll-workers/")
    assert key_part("/a b/") != key_part("/a  b/")
