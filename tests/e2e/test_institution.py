"""A library's reader, let in by the library's IP range, reads a
subscriber-only article in chromium, with the notice of who provides access;
a reader from outside the range gets the teaser, from the shared page cache,
before and after. The live server runs behind the page cache's WSGI wrapper,
as `make run` does, and its peer (chromium, 127.0.0.1) is a trusted proxy
whose X-Forwarded-For names the reader."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from masthead.billing.models import Organisation, OrganisationNetwork, Plan
from masthead.newsroom.models import SectionPage
from masthead.serving.pagecache import AnonymousPageCache
from tests.factories import make_article, paragraph

GATED = "Only subscribers learn what the card catalogue hides."
AXE_JS = Path(__file__).resolve().parents[2] / "var" / "vendor" / "axe-core" / "axe.min.js"


@pytest.fixture
def page_cache_server(live_server):
    """The live server with the page cache in front of Django."""
    httpd = live_server.thread.httpd
    django_app = httpd.get_app()
    httpd.set_app(AnonymousPageCache(django_app, ttl=60))
    yield live_server
    httpd.set_app(django_app)


def reader_from(browser, address):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, extra_http_headers={"X-Forwarded-For": address}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


@pytest.mark.e2e
def test_a_reader_in_the_librarys_range_reads_the_article_one_outside_gets_the_teaser(
    transactional_db, site_tree, page_cache_server, browser, settings, screenshots_dir
):
    from masthead.billing.actions import ensure_default_plans

    base = page_cache_server.url
    settings.SITE_URL = base
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    ensure_default_plans()
    article = make_article(
        SectionPage.objects.get(slug="finance"),
        title="The catalogue's secret",
        access_level="subscribers",
        body=[
            paragraph("<p>The opening anyone may read.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )
    today = timezone.localdate()
    library = Organisation.objects.create(
        name="City Library",
        access_notice="the City Library of Springfield",
        plan=Plan.objects.get(code="digital"),
        contract_starts=today - timedelta(days=10),
        contract_ends=today + timedelta(days=355),
    )
    OrganisationNetwork.objects.create(organisation=library, cidr="192.0.2.0/24")
    OrganisationNetwork.objects.create(organisation=library, cidr="2001:db8:77::/48")

    outside_context, outside = reader_from(browser, "198.51.100.7")
    inside_context, inside = reader_from(browser, "192.0.2.41")
    try:
        # From outside: the teaser, then the same teaser from the page cache.
        outside.goto(base + article.url)
        outside.locator(".paywall").wait_for()
        assert GATED not in outside.content()
        # (Asked past the browser's own cache, which keeps the page a minute.)
        response = outside_context.request.get(base + article.url)
        assert response.headers.get("x-page-cache") == "hit"
        assert GATED not in response.text()

        # From the library: the whole article, the notice, private.
        response = inside.goto(base + article.url)
        assert "x-page-cache" not in response.headers
        assert "private" in response.headers["cache-control"]
        inside.get_by_text(GATED).wait_for()
        assert inside.locator(".paywall").count() == 0
        notice = inside.locator("header .institution-notice")
        assert notice.inner_text() == "Access provided by the City Library of Springfield"
        assert notice.is_visible()
        inside.screenshot(path=screenshots_dir / "institution_article.png", full_page=True)
        if AXE_JS.exists():
            inside.evaluate(AXE_JS.read_text())
            result = inside.evaluate("axe.run(document, {resultTypes: ['violations']})")
            assert [violation["id"] for violation in result["violations"]] == []

        # Over IPv6 too; and a reader in the library again gets it, never the
        # cached teaser.
        inside.set_extra_http_headers({"X-Forwarded-For": "2001:db8:77::12"})
        inside.goto(base + article.url)
        inside.get_by_text(GATED).wait_for()

        # From outside again: still the cached teaser, without the notice.
        response = outside_context.request.get(base + article.url)
        assert response.headers.get("x-page-cache") == "hit"
        assert GATED not in response.text() and "institution-notice" not in response.text()
        outside.reload()
        outside.locator(".paywall").wait_for()
        assert outside.locator(".institution-notice").count() == 0
    finally:
        outside_context.close()
        inside_context.close()
