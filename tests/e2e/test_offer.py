"""A reader redeems an offer from its landing page in chromium: the page
shows the offer and its plans, the checkout charges the offer's price, and
the publisher's counts move."""

import pytest

from masthead.billing import actions
from masthead.billing.models import Offer, Payment, Price, Subscription
from tests.e2e.support import signed_in_context
from tests.issues.support import make_member


@pytest.mark.e2e
def test_redeem_an_offer_from_its_landing_page(
    transactional_db, site_tree, live_server, settings, browser, screenshots_dir
):
    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    actions.ensure_default_plans()
    offer = Offer.objects.create(
        name="Half price for spring",
        code="SPRING",
        headline="Spring: half price",
        kind=Offer.Kind.PERCENT_OFF,
        percent_off=50,
        duration=Offer.Duration.REPEATING,
        duration_in_months=3,
    )
    offer.prices.set(Price.objects.filter(plan__code="digital"))
    member = make_member("offer.reader@example.com", full_name="Offer Reader")
    context = signed_in_context(
        browser, live_server.url, member, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)

    page.goto(f"{live_server.url}/offer/spring/")
    page.get_by_role("heading", name="Spring: half price").wait_for()
    assert "50% off for 3 months" in page.locator(".offer__summary").inner_text()
    assert page.get_by_text("$4.00 a month, then $8.00").is_visible()
    page.screenshot(path=screenshots_dir / "offer_landing.png", full_page=True)

    page.locator("[data-price='digital-month']").click()
    page.get_by_text("with the offer SPRING (50% off for 3 months)").wait_for()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $4.00").click()
    page.get_by_role("heading", name="Welcome to The Meridian Review").wait_for()

    subscription = Subscription.objects.get(member=member)
    assert subscription.offer == offer
    assert list(Payment.objects.filter(member=member).values_list("amount", flat=True)) == [400]
    offer.refresh_from_db()
    assert (offer.views, offer.checkouts, offer.redemptions) == (1, 1, 1)
    context.close()
