"""Organisations buying seats themselves (issue 19): a signed-in buyer gives
the organisation's name, a plan and a number of seats, pays on Stripe
Checkout (the local one) with quantity = seats, and manages the organisation
that the paid checkout makes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from masthead.billing import actions, testmode
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import BillingAuditLog, Organisation, Payment, Subscription

BUY_URL = "/subscribe/organisations/"


@pytest.fixture
def buyer(db):
    return get_user_model().objects.create_user(
        email="office@firm.example", full_name="Office Manager"
    )


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def start(client, seats=5, name="Hartley & Co", plan="digital"):
    return client.post(BUY_URL, {"name": name, "plan": plan, "seats": seats})


def session_id_of(response):
    assert response.status_code == 303, response.content
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def deliver(stripe_live, client, capture, type_, obj):
    with capture(execute=True):
        response = stripe_live.post_to_client(client, stripe_live.event(type_, obj))
    assert response.status_code == 200, response.content
    return response


def test_five_seats_bought_by_card_make_an_organisation_the_buyer_manages(
    catalogue, buyer, buyer_client, stripe_live, django_capture_on_commit_callbacks
):
    yearly = catalogue["digital/year"]
    session_id = session_id_of(start(buyer_client, seats=5))
    session = stripe_live.get(f"/v1/checkout/sessions/{session_id}")
    assert session["amount_subtotal"] == 5 * yearly.amount
    assert session["client_reference_id"] == str(buyer.pk)

    status, paid = stripe_live.pay_checkout(session_id)
    assert status == 200, paid
    deliver(
        stripe_live,
        buyer_client,
        django_capture_on_commit_callbacks,
        "checkout.session.completed",
        paid,
    )

    organisation = Organisation.objects.get()
    assert (organisation.name, organisation.seats, organisation.plan.code) == (
        "Hartley & Co",
        5,
        "digital",
    )
    assert organisation.manager == buyer
    subscription = organisation.subscription
    assert subscription.member is None
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.price == yearly
    remote = stripe_live.get(f"/v1/subscriptions/{subscription.stripe_subscription_id}")
    assert remote["items"]["data"][0]["quantity"] == 5
    payment = Payment.objects.get(subscription=subscription)
    assert payment.amount == 5 * yearly.amount
    assert BillingAuditLog.objects.get(action="organisation_bought").detail == {
        "organisation": organisation.pk,
        "seats": 5,
        "session": session_id,
    }
    # Buying seats is no seat, nor a subscription of the buyer's own.
    assert current_entitlement(buyer) is None
    assert not Subscription.objects.filter(member=buyer).exists()

    # Back from Stripe, the buyer lands on the organisation's page.
    response = buyer_client.get(reverse("billing:success") + f"?session_id={session_id}")
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:organisation", args=[organisation.pk])
    page = buyer_client.get(response["Location"])
    assert page.status_code == 200
    assert b'data-seats-total="5"' in page.content
    # The success page and the webhook both arriving make one organisation.
    assert Organisation.objects.count() == 1


def test_bought_seats_change_on_stripe_with_proration(
    catalogue, buyer, buyer_client, stripe_live, django_capture_on_commit_callbacks
):
    session_id = session_id_of(start(buyer_client, seats=5))
    status, paid = stripe_live.pay_checkout(session_id)
    assert status == 200, paid
    buyer_client.get(reverse("billing:success") + f"?session_id={session_id}")
    organisation = Organisation.objects.get()
    stripe_id = organisation.subscription.stripe_subscription_id

    actions.change_seats(organisation, 7, actor=buyer)

    remote = stripe_live.get(f"/v1/subscriptions/{stripe_id}")
    assert remote["items"]["data"][0]["quantity"] == 7
    assert stripe_live.prorations[-1] == (stripe_id, "create_prorations")
    organisation.refresh_from_db()
    assert organisation.seats == 7


def test_stripes_subscription_event_before_the_checkout_makes_no_subscription(
    catalogue, buyer, buyer_client, stripe_live, django_capture_on_commit_callbacks
):
    session_id = session_id_of(start(buyer_client, seats=3))
    status, paid = stripe_live.pay_checkout(session_id)
    assert status == 200, paid
    remote = stripe_live.get(f"/v1/subscriptions/{paid['subscription']}")

    deliver(
        stripe_live,
        buyer_client,
        django_capture_on_commit_callbacks,
        "customer.subscription.created",
        remote,
    )
    assert not Subscription.objects.exists()

    deliver(
        stripe_live,
        buyer_client,
        django_capture_on_commit_callbacks,
        "checkout.session.completed",
        paid,
    )
    assert Organisation.objects.get().subscription.stripe_subscription_id == remote["id"]
    assert not Subscription.objects.filter(member=buyer).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seats": 1}, b"at least 2 seats"),
        ({"seats": 0}, b"at least 2 seats"),
        ({"seats": -4}, b"at least 2 seats"),
        ({"seats": 1001}, b"write to us for a contract"),
        ({"seats": "five"}, b"Enter a whole number"),
        ({"seats": ""}, b"This field is required"),
        ({"name": "   "}, b"This field is required"),
        ({"plan": "platinum"}, b"Select a valid choice"),
    ],
)
def test_a_bad_order_is_refused_with_a_clear_error(
    catalogue, buyer_client, stripe_live, fields, message
):
    before = len(stripe_live.checkout_sessions)
    data = {"name": "Hartley & Co", "plan": "digital", "seats": 5, **fields}
    response = buyer_client.post(BUY_URL, data)
    assert response.status_code == 400
    assert message in response.content
    assert len(stripe_live.checkout_sessions) == before


def test_the_page_asks_to_sign_in_first(client, plans):
    response = client.get(BUY_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_the_page_shows_the_price_per_seat_and_the_subscribe_page_links_to_it(buyer_client, plans):
    page = buyer_client.get(BUY_URL)
    assert page.status_code == 200
    assert plans["digital/year"].display_amount.encode() in page.content
    assert BUY_URL.encode() in buyer_client.get(reverse("billing:subscribe")).content


# Test mode ---------------------------------------------------------------------------------


def test_test_mode_charges_every_seat_at_checkout_and_at_renewal(
    test_mode, plans, buyer, buyer_client
):
    yearly = plans["digital/year"]
    session_id = session_id_of(start(buyer_client, seats=3))
    page = buyer_client.get(f"/billing/test-checkout/{session_id}/")
    assert page.status_code == 200
    assert b"3 seats for Hartley &amp; Co" in page.content

    response = buyer_client.post(
        f"/billing/test-checkout/{session_id}/",
        {"card_number": "4242424242424242", "expiry": "12/34", "cvc": "123"},
    )
    assert response.status_code == 302
    landing = buyer_client.get(response["Location"])
    organisation = Organisation.objects.get()
    assert landing["Location"] == reverse("billing:organisation", args=[organisation.pk])
    assert (organisation.seats, organisation.manager) == (3, buyer)
    subscription = organisation.subscription
    assert [p.amount for p in subscription.payments.all()] == [3 * yearly.amount]

    changes = testmode.renew_due(subscription.current_period_end + timedelta(days=1))
    assert len(changes) == 1
    amounts = sorted(p.amount for p in Payment.objects.filter(subscription=subscription))
    assert amounts == [3 * yearly.amount, 3 * yearly.amount]


def test_test_mode_renews_a_personal_subscription_at_one_price(test_mode, plans, member):
    # The seats' multiplier leaves a reader's own subscription alone.
    monthly = plans["digital/month"]
    session_id = testmode.new_session(member=member.pk, price=monthly.pk)
    subscription = testmode.complete_checkout(session_id)
    testmode.renew_due(timezone.now() + timedelta(days=32))
    assert [p.amount for p in subscription.payments.order_by("paid_at")] == [
        monthly.amount,
        monthly.amount,
    ]
