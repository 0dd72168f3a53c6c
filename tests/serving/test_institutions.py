"""The page cache and readers let in by IP range: never the anonymous page
from the shared cache, never theirs into it."""

import io
from datetime import timedelta

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone

from masthead.billing.models import Organisation, OrganisationNetwork, Plan
from masthead.serving.pagecache import AnonymousPageCache

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wsgi_in_test_transaction")]

INSIDE = "192.0.2.44"
OUTSIDE = "198.51.100.44"
GATED_TEXT = "rest of the story"


def get(application, path, remote_addr, forwarded_for=None):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    if forwarded_for is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    return captured["status"], captured["headers"], body.decode()


@pytest.fixture
def wsgi():
    return AnonymousPageCache(WSGIHandler(), ttl=60)


@pytest.fixture
def library(magazine):
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    today = timezone.localdate()
    organisation = Organisation.objects.create(
        name="City Library",
        plan=Plan.objects.order_by("pk").first(),
        contract_starts=today - timedelta(days=1),
        contract_ends=today + timedelta(days=1),
    )
    OrganisationNetwork.objects.create(organisation=organisation, cidr="192.0.2.0/24")
    return organisation


def full_article(html):
    return "data-paywall=" not in html and "Access provided by City Library" in html


def test_a_reader_in_a_range_never_gets_the_cached_anonymous_page(wsgi, magazine, library):
    url = magazine["gated"].url
    get(wsgi, url, OUTSIDE)
    _, headers, teaser = get(wsgi, url, OUTSIDE)
    assert headers["X-Page-Cache"] == "hit" and "data-paywall=" in teaser
    status, headers, html = get(wsgi, url, INSIDE)
    assert status.startswith("200")
    assert "X-Page-Cache" not in headers
    assert full_article(html)
    assert "private" in headers["Cache-Control"] and "public" not in headers["Cache-Control"]
    # The next reader from outside still gets the cached teaser.
    _, headers, after = get(wsgi, url, OUTSIDE)
    assert headers["X-Page-Cache"] == "hit" and after == teaser


def test_a_reader_in_a_range_never_fills_the_shared_cache(wsgi, magazine, library):
    for url in (magazine["gated"].url, magazine["free"].url, "/"):
        _, headers, html = get(wsgi, url, INSIDE)
        assert "private" in headers["Cache-Control"]
        assert "Access provided by City Library" in html
        _, headers, outside = get(wsgi, url, OUTSIDE)
        assert "X-Page-Cache" not in headers, url
        assert "Access provided by" not in outside
    assert "data-paywall=" in get(wsgi, magazine["gated"].url, OUTSIDE)[2]


def test_through_a_trusted_proxy_only(wsgi, magazine, library, settings):
    url = magazine["gated"].url
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    assert full_article(get(wsgi, url, "127.0.0.1", f"203.0.113.5, {INSIDE}")[2])
    assert "data-paywall=" in get(wsgi, url, "127.0.0.1", f"{INSIDE}, {OUTSIDE}")[2]
    settings.TRUSTED_PROXIES = []
    assert "data-paywall=" in get(wsgi, url, OUTSIDE, INSIDE)[2]
    # The same request as the first: without the proxy trusted, its
    # X-Forwarded-For names nobody.
    assert "data-paywall=" in get(wsgi, url, "127.0.0.1", f"203.0.113.5, {INSIDE}")[2]
    status, _, html = get(wsgi, url, "127.0.0.1", "garbage, ::zz::")
    assert status.startswith("200") and "data-paywall=" in html


def test_the_institutions_page_is_not_another_institutions(wsgi, magazine, library):
    other = Organisation.objects.create(
        name="Town Library",
        plan=library.plan,
        contract_starts=library.contract_starts,
        contract_ends=library.contract_ends,
    )
    OrganisationNetwork.objects.create(organisation=other, cidr="2001:db8:5::/48")
    url = magazine["gated"].url
    assert full_article(get(wsgi, url, INSIDE)[2])
    html = get(wsgi, url, "2001:db8:5::9")[2]
    assert "Access provided by Town Library" in html and "City Library" not in html


def test_the_institutions_article_page_is_rendered_once_per_publish(wsgi, magazine, library):
    url = magazine["gated"].url
    _, first, html = get(wsgi, url, INSIDE)
    _, second, again = get(wsgi, url, "192.0.2.200")
    assert second.get("X-Article-Cache") == "hit"
    assert again == html and full_article(again)
