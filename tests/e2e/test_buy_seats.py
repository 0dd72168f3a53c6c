"""An office manager buys seats for their firm in test mode, in chromium:
from the subscribe page to "For organisations", the test checkout charges
every seat, and they land on the firm's page, where they invite a reader
(issue 19)."""

import pytest
from django.core import mail

from masthead.billing.models import Organisation, Payment
from tests.e2e.support import signed_in_context
from tests.issues.support import make_member


@pytest.mark.e2e
def test_an_office_manager_buys_four_seats_and_invites_a_reader(
    transactional_db, site_tree, live_server, settings, browser
):
    from masthead.billing.actions import ensure_default_plans

    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    ensure_default_plans()
    buyer = make_member("office@firm.example", full_name="Office Manager")
    mail.outbox = []

    context = signed_in_context(browser, live_server.url, buyer)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/subscribe/")
        page.get_by_role("link", name="For organisations: buy seats for your readers").click()
        page.get_by_label("Organisation's name").fill("Hartley & Co")
        page.get_by_label("Plan").select_option("digital")
        page.get_by_label("Seats").fill("1")
        page.get_by_role("button", name="Continue to payment").click()
        page.get_by_text("An organisation buys at least 2 seats").wait_for()

        page.get_by_label("Seats").fill("4")
        page.get_by_role("button", name="Continue to payment").click()
        page.get_by_text("Test checkout: no real payment is taken.").wait_for()
        page.get_by_role("heading", name="Digital: 4 seats for Hartley & Co").wait_for()
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
        page.get_by_label("CVC").fill("123")
        page.get_by_role("button", name="Pay $320.00").click()

        page.get_by_role("heading", name="Hartley & Co").wait_for()
        assert page.get_by_text("0 of 4").is_visible()
        page.get_by_label("Email address").fill("new.hire@firm.example")
        page.get_by_role("button", name="Send invitation").click()
        page.get_by_text("We sent an invitation to new.hire@firm.example.").wait_for()
        assert page.get_by_text("1 of 4").is_visible()
    finally:
        context.close()

    organisation = Organisation.objects.get()
    assert (organisation.seats, organisation.manager) == (4, buyer)
    assert [p.amount for p in Payment.objects.filter(subscription=organisation.subscription)] == [
        32000
    ]
    [invitation] = mail.outbox
    assert invitation.to == ["new.hire@firm.example"]
