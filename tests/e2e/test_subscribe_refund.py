"""A reader signs up, subscribes to Digital + Print in test mode with a
shipping address, sees it on the account page, asks for the 60-day refund and
loses access, all in chromium (launched by tests/e2e/conftest.py from
/usr/bin/chromium with --no-sandbox, --disable-gpu and the project's flags)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from masthead.access.rules import decide
from masthead.billing.models import Payment, Refund, Subscription

LINK = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")


class SubscriberOnlyIssue:
    """Stands for any subscriber content: issues and editions are
    subscriber-only in `access.decide`."""


@pytest.mark.e2e
def test_subscribe_to_print_then_refund(
    transactional_db, site_tree, live_server, settings, browser_page, screenshots_dir
):
    from masthead.billing.actions import ensure_default_plans

    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    ensure_default_plans()
    mail.outbox = []
    page = browser_page
    page.set_default_timeout(20_000)

    # Sign up by magic link.
    page.goto(f"{live_server.url}/account/sign-up/")
    assert page.get_by_text("Test mode: no real payments").is_visible()
    page.get_by_label("Email address").fill("print.reader@example.com")
    page.get_by_label("Your name").fill("Print Reader")
    page.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    [message] = mail.outbox
    page.goto(live_server.url + LINK.search(message.body).group(1))
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Your account").wait_for()
    member = get_user_model().objects.get(email="print.reader@example.com")
    assert not decide(member, SubscriberOnlyIssue())

    # Subscribe to Digital + Print, monthly, in the test checkout.
    page.goto(f"{live_server.url}/subscribe/")
    page.locator("[data-price='digital-print-month']").click()
    page.get_by_text("Test checkout: no real payment is taken.").wait_for()
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name", exact=True).fill("Print Reader")
    page.get_by_label("Address", exact=True).fill("12 Main Street")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("State, province or region").fill("IL")
    page.get_by_label("Postal code").fill("62701")
    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Pay $14.00").click()
    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    page.screenshot(path=screenshots_dir / "subscribe_refund_declined.png", full_page=True)
    assert not Subscription.objects.exists()

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $14.00").click()
    page.get_by_role("heading", name=re.compile("Welcome to")).wait_for()
    page.screenshot(path=screenshots_dir / "subscribe_refund_success.png")
    subscription = Subscription.objects.get(member=member)
    assert (subscription.plan.code, subscription.status) == ("digital-print", "active")
    assert Payment.objects.get(subscription=subscription).amount == 1400
    assert member.shipping_address.city == "Springfield"
    assert decide(member, SubscriberOnlyIssue())
    assert {m.subject for m in mail.outbox} >= {
        "Welcome to Digital + Print",
        "Receipt: $14.00 for Digital + Print",
    }

    # The account page shows it, with the money-back guarantee.
    page.goto(f"{live_server.url}/account/")
    status = page.locator(".account-billing__status")
    assert "Digital + Print" in status.inner_text()
    assert "renews on" in status.inner_text()
    # Refunding asks first, saying how much comes back and that access ends now.
    page.get_by_role("link", name="Refund my subscription").click()
    page.get_by_role("heading", name="Refund your subscription?").wait_for()
    confirm = page.locator("[data-confirm='refund']").inner_text()
    assert "$14.00 goes back to the card you paid with" in confirm
    assert "your access ends as soon as you confirm" in confirm
    assert Refund.objects.count() == 0  # nothing happens by opening the page
    page.get_by_label("Why? (optional)").fill("Changed my mind")
    page.get_by_role("button", name="Refund $14.00 and end my access now").click()
    page.get_by_text("Refunded $14.00. Your subscription has ended.").wait_for()
    page.screenshot(path=screenshots_dir / "subscribe_refund_account.png")
    assert page.locator(".account-billing__status").get_attribute("data-status") == "refunded"
    assert page.get_by_role("link", name="Refund my subscription").count() == 0

    # Access is gone.
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.REFUNDED
    refund = Refund.objects.get(member=member)
    assert (refund.amount_refunded, refund.reason) == (1400, "Changed my mind")
    assert not decide(member, SubscriberOnlyIssue())
    assert "Your refund of $14.00" in {m.subject for m in mail.outbox}
