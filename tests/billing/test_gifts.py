"""Gift subscriptions and complimentary grants."""

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from freezegun import freeze_time

from masthead.billing import actions
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import Gift, Payment, Subscription
from masthead.billing.reconciliation import reconcile


def _redeem_link(message):
    return re.search(r"http://testserver(/gift/redeem/[^/\s]+/)", message.body).group(1)


def _buy(client, plan, months=12, email="friend@example.com"):
    return client.post(
        "/gift/",
        {
            "plan": plan.pk,
            "months": months,
            "recipient_email": email,
            "recipient_name": "Friend",
            "message": "Enjoy!",
        },
    )


@pytest.fixture
def friend(db):
    return get_user_model().objects.create_user(email="friend@example.com")


def test_gift_bought_through_stripe_checkout_and_redeemed(
    journey, catalogue, member, friend, stripe_live, client
):
    plan = catalogue["digital/year"].plan
    response = _buy(journey.client, plan)
    assert response.status_code == 303
    session_id = response["Location"].rsplit("/", 1)[-1]
    stored = stripe_live.checkout_sessions[session_id]
    assert stored["session"]["mode"] == "payment"
    assert stored["session"]["amount_total"] == 8000  # twelve months: the yearly price
    status, session = stripe_live.pay_checkout(session_id)
    assert status == 200

    journey.webhook("checkout.session.completed", session)
    journey.webhook("checkout.session.completed", session)  # a duplicate delivery
    gift = Gift.objects.get()
    assert (gift.status, gift.buyer, gift.amount) == ("paid", member, 8000)
    assert Payment.objects.get(gift=gift).stripe_payment_intent_id == session["payment_intent"]
    received = [m for m in mail.outbox if m.to == ["friend@example.com"]]
    assert len(received) == 1 and received[0].subject == (
        "Ada Reader has given you 12 months of The Meridian Review"
    )
    assert "Enjoy!" in received[0].body
    assert [m.subject for m in mail.outbox if m.to == ["ada@example.com"]] == [
        "Receipt: your gift of The Meridian Review (Digital)"
    ]
    link = _redeem_link(received[0])

    client.force_login(friend)
    assert b"A gift for you" in client.get(link).content
    with journey.capture(execute=True):
        response = client.post(link)
    assert response.status_code == 302
    subscription = Subscription.objects.get(member=friend)
    assert subscription.status == Subscription.Status.GIFT
    assert subscription.ends_at == subscription.current_period_start + relativedelta(months=12)
    entitlement = current_entitlement(friend)
    assert (entitlement.kind, entitlement.plan_code) == ("gift", "digital")
    gift.refresh_from_db()
    assert (gift.status, gift.redeemed_by) == ("redeemed", friend)

    # The link works once.
    assert client.get(link).status_code == 404
    with pytest.raises(actions.BillingError, match="already redeemed"):
        actions.redeem_gift(friend, link.split("/")[-2])


def test_print_gift_in_test_mode_asks_the_recipient_for_an_address(
    test_mode, plans, member_client, friend, client, django_capture_on_commit_callbacks
):
    plan = plans["digital-print/month"].plan
    response = _buy(member_client, plan, months=3)
    url = response["Location"]
    assert url.startswith("/billing/test-checkout/tm_cs_")
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            url, {"card_number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
        )
    assert response["Location"].startswith("/gift/thanks/")
    assert b"Your gift is on its way" in member_client.get(response["Location"]).content
    gift = Gift.objects.get()
    assert (gift.status, gift.amount) == ("paid", 3 * 1400)
    link = _redeem_link(next(m for m in mail.outbox if m.to == ["friend@example.com"]))

    client.force_login(friend)
    page = client.get(link)
    assert b"Where should we mail your copies?" in page.content
    response = client.post(
        link,
        {
            "ship_name": "Friend",
            "line1": "1 High Street",
            "city": "London",
            "postal_code": "SW1A 1AA",
            "country": "GB",
        },
    )
    assert response.status_code == 302
    assert friend.shipping_address.postal_code == "SW1A 1AA"
    assert current_entitlement(friend).includes_print is True


def test_declined_gift_payment_leaves_the_gift_unpaid(test_mode, plans, member_client):
    response = _buy(member_client, plans["digital/month"].plan, months=6)
    page = member_client.post(
        response["Location"], {"card_number": "4000000000000002", "expiry": "12/34", "cvc": "123"}
    )
    assert page.status_code == 402
    assert Gift.objects.get().status == "pending"
    assert not mail.outbox


def test_complimentary_grant_expires(member, plans, django_capture_on_commit_callbacks):
    staff = get_user_model().objects.create_user(email="editor@example.com", is_staff=True)
    ends_at = actions.timezone.now() + timedelta(days=30)
    grant = actions.grant_complimentary(
        member, plans["digital/month"].plan, ends_at=ends_at, granted_by=staff, note="Contributor"
    )
    assert current_entitlement(member).kind == "complimentary"

    with freeze_time(ends_at + timedelta(seconds=1)):
        assert current_entitlement(member) is None
        lines = reconcile()
    assert lines == [f"{member} complimentary Digital: ended {ends_at:%Y-%m-%d}"]
    grant.refresh_from_db()
    assert grant.ended_at == ends_at
    with freeze_time(ends_at + timedelta(days=1)):
        assert reconcile() == []


def test_complimentary_grant_without_end(member, plans):
    actions.grant_complimentary(member, plans["digital-print/month"].plan)
    with freeze_time(actions.timezone.now() + timedelta(days=3650)):
        assert current_entitlement(member).includes_print is True


# Abuse -----------------------------------------------------------------------------


def _buyer(number, address):
    buyer = get_user_model().objects.create_user(email=f"buyer{number}@example.com")
    client = Client(REMOTE_ADDR=address)
    client.force_login(buyer)
    return client


def test_gifts_are_limited_per_member_and_per_source(test_mode, plans):
    plan = plans["digital/month"].plan
    with freeze_time("2026-03-01 12:00:00"):
        first = _buyer(1, "203.0.113.7")
        assert [_buy(first, plan).status_code for _ in range(6)] == [303] * 5 + [429]
        assert "Too many gifts" in _buy(first, plan).content.decode()
        # The place is limited too: another member there gets what is left of its ten.
        second = _buyer(2, "203.0.113.7")
        assert [_buy(second, plan).status_code for _ in range(4)] == [303, 303, 303, 429]
        elsewhere = _buyer(3, "198.51.100.1")
        assert _buy(elsewhere, plan).status_code == 303
    assert Gift.objects.count() == 5 + 3 + 1


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ('<a href="https://example.net">Claim your prize</a>', "without HTML"),
        ("x" * 501, "at most 500 characters"),
        ("Hello\x1b[31m red", "only hold plain text"),
        ("Hello\u202eevil", "only hold plain text"),
        ("\n".join(["line"] * 13), "12 lines or fewer"),
    ],
)
def test_a_gift_message_is_plain_text_with_a_length_cap(
    test_mode, plans, member_client, message, error
):
    response = member_client.post(
        "/gift/",
        {
            "plan": plans["digital/month"].plan.pk,
            "months": 3,
            "recipient_email": "friend@example.com",
            "message": message,
        },
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Gift.objects.exists()


def test_a_plain_gift_message_goes_through_as_written(test_mode, plans, member_client):
    message = "Happy birthday!\r\nThe crossword is on page 40 <3\r\n\r\nLove, Ada"
    response = member_client.post(
        "/gift/",
        {
            "plan": plans["digital/month"].plan.pk,
            "months": 3,
            "recipient_email": "friend@example.com",
            "message": message,
        },
    )
    assert response.status_code == 303
    assert Gift.objects.get().message == message.replace("\r\n", "\n")


def test_a_recipient_name_is_one_line(test_mode, plans, member_client):
    response = member_client.post(
        "/gift/",
        {
            "plan": plans["digital/month"].plan.pk,
            "months": 3,
            "recipient_email": "friend@example.com",
            "recipient_name": "Friend\nBcc: everyone@example.com",
        },
    )
    assert response.status_code == 200
    assert "Enter the name on one line." in response.content.decode()
    assert not Gift.objects.exists()


def test_the_gift_page_shows_what_each_length_costs(test_mode, plans, client):
    html = client.get("/gift/").content.decode()
    rows = re.findall(r'<tr data-plan="([^"]+)"><th scope="row">([^<]+)</th>(.*?)</tr>', html)
    prices = {code: re.findall(r"<td>([^<]+)</td>", cells) for code, name, cells in rows}
    # Monthly price times the months; twelve months at the yearly price.
    assert prices == {
        "digital": ["$24.00", "$48.00", "$80.00"],
        "digital-print": ["$42.00", "$84.00", "$140.00"],
    }
    assert '<th scope="col">3 months</th><th scope="col">6 months</th>' in html
