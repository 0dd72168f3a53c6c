"""A subscriber cancels in chromium: the account page's button opens a page
that says when access ends and that it can be resumed; only its button
cancels, and resuming undoes it."""

import pytest

from masthead.billing import actions
from masthead.billing.models import Subscription
from tests.e2e.support import signed_in_context
from tests.issues.support import make_member


@pytest.mark.e2e
def test_cancel_asks_first_and_can_be_resumed(
    transactional_db, site_tree, live_server, settings, browser, screenshots_dir
):
    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    actions.ensure_default_plans()
    member = make_member("cancel.reader@example.com", full_name="Cancel Reader")
    context = signed_in_context(
        browser, live_server.url, member, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)

    page.goto(f"{live_server.url}/subscribe/")
    page.locator("[data-price='digital-month']").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $8.00").click()
    page.get_by_role("heading", name="Welcome to The Meridian Review").wait_for()
    subscription = Subscription.objects.get(member=member)
    until = actions.display_date(subscription.current_period_end)

    page.goto(f"{live_server.url}/account/")
    page.get_by_role("link", name="Cancel subscription").click()
    page.get_by_role("heading", name="Cancel your subscription?").wait_for()
    confirm = page.locator("[data-confirm='cancel']").inner_text()
    assert f"You keep access until {until}" in confirm
    assert "you can resume it from your account until then" in confirm
    page.screenshot(path=screenshots_dir / "cancel_confirmation.png", full_page=True)
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False

    page.get_by_label("Why are you leaving? (optional)").fill("Too busy")
    page.get_by_role("button", name="Cancel my subscription").click()
    page.get_by_text(f"You keep access until {until}, and can resume until then.").wait_for()
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is True

    page.get_by_role("button", name="Resume subscription").click()
    page.get_by_text("Welcome back: your subscription will renew as before.").wait_for()
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False
    context.close()
