"""An anonymous reader meets the paywall on a subscriber-only article, signs
up by magic link, subscribes in test mode, and reads the whole article, with
no ads, in chromium (launched by tests/e2e/conftest.py)."""

import re

import pytest
from django.core import mail

from masthead.ads.models import AdSlot
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

LINK = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")
GATED = "Only subscribers learn where the obsidian lighthouse stands."


@pytest.mark.e2e
def test_paywall_subscribe_and_read(
    transactional_db, site_tree, live_server, settings, browser_page, screenshots_dir
):
    from masthead.billing.actions import ensure_default_plans

    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    ensure_default_plans()
    article = make_article(
        SectionPage.objects.get(slug="finance"),
        title="The lighthouse ledger",
        access_level="subscribers",
        body=[
            paragraph("<p>The opening anyone may read.</p>"),
            paragraph("<p>A second free paragraph.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )
    AdSlot.objects.create(
        name="Tote", placement="article_inline", kind="html", html="<p>Buy the tote bag</p>"
    )
    mail.outbox = []
    page = browser_page
    page.set_default_timeout(20_000)

    # The teaser and the paywall: what subscribers get, the plans, their prices.
    page.goto(live_server.url + article.url)
    paywall = page.locator(".paywall")
    paywall.get_by_role("heading", name="Subscribe to keep reading").wait_for()
    assert "Ad-free reading" in paywall.inner_text()
    plans = paywall.locator(".paywall__plans").inner_text()
    assert "Digital" in plans and "$8.00 a month" in plans and "$14.00 a month" in plans
    assert paywall.get_by_role("link", name="Sign in").is_visible()
    assert page.get_by_text("The opening anyone may read.").is_visible()
    assert GATED not in page.content()
    assert page.locator(".ad-slot").get_by_text("Buy the tote bag").is_visible()
    page.screenshot(path=screenshots_dir / "paywall_teaser.png", full_page=True)

    # The plan's box is the way in: an account first (by magic link), then
    # the test checkout for that plan, then back to the article.
    paywall.get_by_role("link", name=re.compile(r"^Digital \$8\.00 a month")).click()
    page.get_by_label("Email address").fill("lighthouse.reader@example.com")
    page.get_by_label("Your name").fill("Lighthouse Reader")
    page.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    [message] = mail.outbox
    page.goto(live_server.url + LINK.search(message.body).group(1))
    page.get_by_role("button", name="Create my account").click()
    page.get_by_text("Test checkout: no real payment is taken.").wait_for()
    assert "Digital" in page.content() and "$8.00" in page.content()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $8.00").click()

    # Back on the article: all of it, and no ads at all.
    page.wait_for_url(live_server.url + article.url)
    page.get_by_text(GATED).wait_for()
    assert page.locator(".paywall").count() == 0
    assert page.locator(".paywalled").get_by_text(GATED).is_visible()
    html = page.content()
    assert "ad-slot" not in html and "Buy the tote bag" not in html
    page.screenshot(path=screenshots_dir / "paywall_subscribed.png", full_page=True)

    # Signing out shows the teaser again at once.
    page.goto(live_server.url + "/account/sign-out/")
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + article.url)
    page.locator(".paywall").wait_for()
    assert GATED not in page.content()
