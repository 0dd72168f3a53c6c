"""axe-core finds no accessibility violations, of any impact, on any page
type of the demo magazine, at desktop and phone width, for an anonymous
reader, a free member and a subscriber.

axe-core is pinned in package.json and copied to var/vendor/ by `make`'s
setup (scripts/vendor_static.sh); the test injects it into each page, so
nothing is fetched. Each page's screenshot is saved too, through the code
`make screenshots` uses (tests/e2e/tour.py).
"""

from pathlib import Path

import pytest

from tests.e2e import tour

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_JS = Path(__file__).resolve().parents[2] / "var" / "vendor" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source():
    if not AXE_JS.exists():
        pytest.fail(
            f"{AXE_JS} is missing: run `make setup-test` (or sh scripts/vendor_static.sh) "
            "to copy axe-core from npm."
        )
    return AXE_JS.read_text()


def axe_violations(page, axe_source):
    """axe's violations on the page as (rule, impact, [targets]), every rule on."""
    # Evaluated through the DevTools protocol: the site's CSP (script-src
    # 'self') rightly refuses an inline <script>.
    page.evaluate(axe_source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], [", ".join(node["target"]) for node in v["nodes"]])
        for v in result["violations"]
    ]


@pytest.mark.parametrize("state", tour.STATES)
def test_no_axe_violations_on_any_page(
    state, live_server, browser, settings, axe_source, screenshots_dir
):
    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    # The demo queues its issues' editions: built elsewhere, not in this test.
    settings.TASKS = {
        "default": {
            **settings.TASKS["default"],
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
        }
    }
    site = tour.build_site()
    found = {}
    for width in tour.WIDTHS:
        for page_type, path, response, page in tour.walk(
            browser, live_server.url, site, state, width
        ):
            # The page itself, not a redirect to another (a signed-out reader
            # sent to sign in); the article in the reader's state; results.
            assert page.url == live_server.url + path
            assert response.status == (404 if page_type == "not-found" else 200), path
            if page_type == "article-gated":
                assert page.locator(".paywall").count() == (state != "subscriber")
            if page_type == "search":
                assert page.locator(".search-results li").count() > 0
            violations = axe_violations(page, axe_source)
            if violations:
                found[f"{page_type} {path} at {width}px"] = violations
            shot = tour.save_screenshot(page, screenshots_dir, page_type, state, width)
            assert shot.stat().st_size > 0
    assert not found, "axe-core found violations:\n" + "\n".join(
        f"{where}: {rule} ({impact}) at {'; '.join(targets)}"
        for where, violations in found.items()
        for rule, impact, targets in violations
    )
