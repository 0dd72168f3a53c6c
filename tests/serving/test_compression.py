"""Documents go out gzip-compressed to the clients that accept it: pages
from the anonymous cache (compressed once, when cached), signed-in readers'
cached article pages answered before Django, and whatever Django answers;
pictures and other compressed formats as they are."""

import gzip

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from masthead.serving import compression
from masthead.serving.pagecache import AnonymousPageCache, CachedPage, cached_page
from tests.access.support import gated_sentence, make_reader, teaser_sentence
from tests.wsgi import wsgi_environ

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wsgi_in_test_transaction")]
SESSION = settings.SESSION_COOKIE_NAME


def call(application, path, accept_encoding=None, cookies=None, method="GET"):
    environ = wsgi_environ(path, method, cookies)
    if accept_encoding is not None:
        environ["HTTP_ACCEPT_ENCODING"] = accept_encoding
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    body = b"".join(application(environ, start_response))
    headers = dict(captured["headers"])
    # One header of each name: a duplicate would be a bug here.
    assert len(headers) == len(captured["headers"]), captured["headers"]
    return captured["status"], headers, body


def text_of(headers, body):
    """The document, decompressed when it came compressed; checks the
    length it was sent with."""
    assert headers["Content-Length"] == str(len(body))
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode()


@pytest.fixture
def application():
    return AnonymousPageCache(WSGIHandler(), ttl=60)


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br, zstd", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br", False),
        ("gzip;q=0", False),
        ("gzip;q=0.0, deflate", False),
        ("*;q=0", False),
        ("gzip;q=0, *", False),
        ("deflate, *;q=0.5", True),
        ("gzip;q=nonsense", False),
        ("gzipped", False),
    ],
)
def test_which_clients_accept_gzip(header, accepted):
    assert compression.accepts_gzip(header) is accepted


def test_an_anonymous_page_is_cached_once_and_sent_compressed_or_not(application, magazine):
    url = magazine["free"].url
    status, headers, body = call(application, url, "gzip, deflate, br")
    assert status.startswith("200") and "X-Page-Cache" not in headers
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"] and "Cookie" in headers["Vary"]
    first = text_of(headers, body)
    assert magazine["free"].title in first

    # The same cached page, to a client that wants gzip and one that does not.
    status, headers, body = call(application, url, "gzip")
    assert headers["X-Page-Cache"] == "hit" and headers["Content-Encoding"] == "gzip"
    assert text_of(headers, body) == first
    status, headers, body = call(application, url)
    assert headers["X-Page-Cache"] == "hit" and "Content-Encoding" not in headers
    assert "Accept-Encoding" in headers["Vary"]
    assert text_of(headers, body) == first
    status, headers, body = call(application, url, "gzip;q=0, identity")
    assert "Content-Encoding" not in headers and text_of(headers, body) == first

    # A HEAD gets the headers of what a GET would get.
    status, headers, body = call(application, url, "gzip", method="HEAD")
    assert body == b"" and headers["Content-Encoding"] == "gzip"


def test_the_cache_keeps_the_page_uncompressed_whoever_filled_it(application, magazine):
    url = magazine["free"].url
    call(application, url)  # filled by a client without gzip
    status, headers, body = call(application, url, "gzip")
    assert headers["X-Page-Cache"] == "hit" and headers["Content-Encoding"] == "gzip"
    page = application.cached(application.key(call_environ(url)))
    assert isinstance(page, CachedPage)
    assert gzip.decompress(page.gzipped) == page.body
    assert page.body.lstrip().lower().startswith(b"<!doctype html>")
    assert "Content-Encoding" not in dict(page.headers)


def call_environ(path):
    return {"PATH_INFO": path, "QUERY_STRING": "", "HTTP_HOST": "testserver"}


def test_compression_can_be_turned_off(application, magazine, settings):
    settings.COMPRESS_DOCUMENTS = False
    url = magazine["free"].url
    for _ in range(2):
        status, headers, body = call(application, url, "gzip")
        assert "Content-Encoding" not in headers
        assert magazine["free"].title in text_of(headers, body)
    assert call(application, "/account/sign-in/", "gzip")[1].get("Content-Encoding") is None


def test_pages_nobody_shares_are_compressed_with_padding(application, magazine):
    # The sign-in form carries a CSRF token: never cached, compressed each
    # time with Django's random padding against BREACH.
    status, headers, body = call(application, "/account/sign-in/", "gzip")
    assert status.startswith("200") and "no-store" in headers["Cache-Control"]
    assert headers["Content-Encoding"] == "gzip"
    assert "csrfmiddlewaretoken" in text_of(headers, body)
    # The padding is a file name in the gzip header (FNAME flag).
    assert body[3] & gzip.FNAME


def test_a_signed_in_readers_cached_page_is_compressed_before_django(in_world):
    application = AnonymousPageCache(WSGIHandler(), ttl=60)
    subscriber = make_reader("active", in_world)
    client = Client()
    client.force_login(subscriber)
    cookies = {SESSION: client.cookies[SESSION].value}
    article = in_world.articles["subscribers"]

    status, headers, body = call(application, article.url, "gzip", cookies)
    assert headers["Content-Encoding"] == "gzip" and "private" in headers["Cache-Control"]
    through_django = text_of(headers, body)
    assert gated_sentence("subscribers") in through_django

    status, headers, body = call(application, article.url, "gzip", cookies)
    assert headers.get("X-Article-Cache") == "early"
    assert headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in headers["Vary"]
    assert gated_sentence("subscribers") in text_of(headers, body)

    status, headers, body = call(application, article.url, None, cookies)
    assert headers.get("X-Article-Cache") == "early" and "Content-Encoding" not in headers
    assert gated_sentence("subscribers") in text_of(headers, body)

    # An anonymous visitor still gets the teaser, compressed or not.
    for accept in ("gzip", None):
        status, headers, body = call(application, article.url, accept)
        page = text_of(headers, body)
        assert teaser_sentence("subscribers") in page
        assert gated_sentence("subscribers") not in page


def test_only_text_is_compressed():
    html = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "9000")]
    page = cached_page("200 OK", html, b"<p>words</p>" * 700, 0.0)
    assert page.gzipped is not None and gzip.decompress(page.gzipped) == page.body
    assert dict(page.gzip_headers)["Content-Length"] == str(len(page.gzipped))
    assert dict(page.headers)["Content-Length"] == str(len(page.body))

    picture = [("Content-Type", "image/jpeg")]
    assert cached_page("200 OK", picture, b"\xff\xd8" * 5000, 0.0).gzipped is None
    # Too short to be worth it, and already compressed.
    assert cached_page("200 OK", html, b"<p>hi</p>", 0.0).gzipped is None
    encoded = [*html, ("Content-Encoding", "br")]
    assert cached_page("200 OK", encoded, b"x" * 5000, 0.0).gzipped is None


def test_django_compresses_text_but_not_files(client, magazine):
    response = client.get("/feeds/rss/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert magazine["free"].title in gzip.decompress(response.content).decode()
    favicon = client.get("/favicon.ico", HTTP_ACCEPT_ENCODING="gzip")
    assert not favicon.has_header("Content-Encoding")
