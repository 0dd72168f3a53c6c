"""Test mode: no Stripe keys, a local checkout that takes test cards."""

from datetime import timedelta

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from masthead.billing import actions, stripe_api
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import Payment, Refund, Subscription
from masthead.billing.reconciliation import reconcile
from masthead.billing.remote import GatewayError

ADDRESS = {
    "ship_name": "Ada Reader",
    "line1": "12 Main Street",
    "line2": "",
    "city": "Springfield",
    "state": "il",
    "postal_code": "62701",
    "country": "US",
}
CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}


@pytest.fixture
def local(test_mode, plans, member_client):
    return member_client


def _start(client, price):
    response = client.post(reverse("billing:start_checkout", args=[price.pk]))
    assert response.status_code == 303
    assert response["Location"].startswith("/billing/test-checkout/tm_cs_")
    return response["Location"]


def test_banner_on_every_page_in_test_mode(local, settings):
    page = local.get("/subscribe/")
    assert "Test mode: no real payments" in page.content.decode()
    settings.STRIPE_SECRET_KEY = "sk_live_something"
    assert "Test mode: no real payments" not in local.get("/subscribe/").content.decode()


def test_subscribe_page_lists_plans_and_prices(local):
    html = local.get("/subscribe/").content.decode()
    for text in (
        "Digital",
        "Digital + Print",
        "$8.00 a month",
        "$80.00 a year",
        "$14.00 a month",
        "$140.00 a year",
    ):
        assert text in html


def test_print_checkout_with_4242_creates_the_same_records_and_emails(
    local, plans, member, django_capture_on_commit_callbacks
):
    url = _start(local, plans["digital-print/month"])
    page = local.get(url)
    assert "Test checkout: no real payment is taken." in page.content.decode()
    assert "Shipping address for print copies" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = local.post(url, {**CARD, **ADDRESS})
    assert response.status_code == 302
    assert response["Location"].startswith("/subscribe/success/?session_id=tm_cs_")
    success = local.get(response["Location"])
    assert b"Welcome to" in success.content

    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.stripe_subscription_id.startswith("tm_sub_")
    assert subscription.plan.includes_print
    payment = Payment.objects.get(subscription=subscription)
    assert (payment.amount, payment.currency) == (1400, "usd")
    assert subscription.first_paid_at == payment.paid_at
    assert member.shipping_address.region == "IL"
    assert sorted(m.subject for m in mail.outbox) == [
        "Receipt: $14.00 for Digital + Print",
        "Welcome to Digital + Print",
    ]
    assert current_entitlement(member).includes_print is True


def test_declined_card_shows_a_clear_error_and_charges_nothing(local, plans, member):
    url = _start(local, plans["digital/month"])
    response = local.post(url, {**CARD, "card_number": "4000 0000 0000 0002"})
    assert response.status_code == 402
    assert "Your card was declined." in response.content.decode()
    assert not Subscription.objects.exists()
    assert not Payment.objects.exists()


def test_not_a_test_card(local, plans):
    url = _start(local, plans["digital/month"])
    response = local.post(url, {**CARD, "card_number": "4111 1111 1111 1112"})
    assert "only Stripe&#x27;s test cards" in response.content.decode()
    assert not Subscription.objects.exists()


def test_print_checkout_needs_a_valid_address(local, plans):
    url = _start(local, plans["digital-print/year"])
    response = local.post(url, {**CARD, **ADDRESS, "postal_code": "ABC"})
    assert response.status_code == 200
    assert "ZIP code" in response.content.decode()
    assert not Subscription.objects.exists()


def test_submitting_the_test_checkout_twice_subscribes_once(
    local, plans, member, django_capture_on_commit_callbacks
):
    url = _start(local, plans["digital/month"])
    with django_capture_on_commit_callbacks(execute=True):
        local.post(url, CARD)
        local.post(url, CARD)
    assert Subscription.objects.count() == 1
    assert Payment.objects.count() == 1
    assert sum(m.subject.startswith("Welcome") for m in mail.outbox) == 1


def test_someone_elses_test_checkout_is_not_found(local, plans, client, db):
    from django.contrib.auth import get_user_model

    url = _start(local, plans["digital/month"])
    client.force_login(get_user_model().objects.create_user(email="eve@example.com"))
    assert client.get(url).status_code == 404
    assert client.get("/billing/test-checkout/tm_cs_forged/").status_code == 302


def _subscribe(client, price, capture):
    url = _start(client, price)
    with capture(execute=True):
        client.post(url, CARD)


def test_refund_and_cancel_work_in_test_mode(
    local, plans, member, django_capture_on_commit_callbacks
):
    _subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        local.post("/billing/cancel/", {"reason": "testing"})
        local.post("/billing/resume/")
        local.post("/billing/refund/")
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.REFUNDED
    refund = Refund.objects.get()
    assert refund.amount_refunded == 800
    assert refund.stripe_refund_ids[0].startswith("tm_re_")
    assert current_entitlement(member) is None
    assert "Your refund of $8.00" in [m.subject for m in mail.outbox]


def test_portal_in_test_mode_explains_itself(local, plans, django_capture_on_commit_callbacks):
    _subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks)
    response = local.post("/billing/portal/", follow=True)
    assert any("test mode" in str(m) for m in response.context["messages"])


def test_reconciliation_renews_and_ends_test_mode_subscriptions(
    local, plans, member, django_capture_on_commit_callbacks
):
    _subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks)
    subscription = Subscription.objects.get()
    first_end = subscription.current_period_end

    with (
        freeze_time(first_end + timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        lines = reconcile()
    assert len(lines) == 1 and "renewed" in lines[0]
    subscription.refresh_from_db()
    assert subscription.current_period_start == first_end
    assert Payment.objects.count() == 2

    with freeze_time(first_end + timedelta(days=2)):
        actions.cancel_subscription(member)
    subscription.refresh_from_db()
    with freeze_time(subscription.current_period_end + timedelta(minutes=1)):
        lines = reconcile()
    assert lines == [f"{member}: {subscription.stripe_subscription_id} ended at the period's end"]
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED


def test_anonymous_readers_are_sent_to_sign_in_then_back_to_the_plans(test_mode, plans, client):
    response = client.post(reverse("billing:start_checkout", args=[plans["digital/month"].pk]))
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/subscribe/"


# Nothing reaches Stripe without keys ------------------------------------------------


@pytest.fixture
def no_http(monkeypatch):
    """Every HTTP request the Stripe client could send, noted and refused."""
    sent = []

    def refuse(session, request, **kwargs):
        sent.append(request.url)
        raise AssertionError(f"HTTP request sent in test mode: {request.url}")

    monkeypatch.setattr(requests.Session, "send", refuse)
    stripe_api._client.cache_clear()
    yield sent
    stripe_api._client.cache_clear()


@pytest.mark.parametrize("session_id", ["cs_test_abc", "cs_live_abc", "anything"])
@pytest.mark.parametrize("page", ["billing:success", "billing:gift_thanks"])
def test_a_stripe_session_id_in_test_mode_is_not_found_and_stripe_is_not_called(
    local, no_http, page, session_id
):
    response = local.get(reverse(page), {"session_id": session_id})
    assert response.status_code == 404
    assert no_http == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: stripe_api.retrieve_checkout("cs_test_abc"),
        lambda: stripe_api.retrieve_subscription("sub_abc"),
        lambda: list(stripe_api.list_subscriptions()),
        lambda: stripe_api.cancel_subscription("sub_abc"),
        lambda: stripe_api.create_portal_session(customer_id="cus_abc", return_url="/"),
        lambda: stripe_api.refund(
            payment_intent_id="pi_abc", amount=100, idempotency_key="k", metadata={}
        ),
        lambda: stripe_api.create_product(name="Digital", description="", metadata={}),
    ],
)
def test_without_a_key_the_stripe_module_refuses_every_call(test_mode, no_http, call):
    with pytest.raises(GatewayError) as refused:
        call()
    assert refused.value.code == "not_configured"
    assert no_http == []


def test_checkouts_are_limited_per_member_and_per_source(test_mode, plans):
    price = plans["digital/month"]
    url = reverse("billing:start_checkout", args=[price.pk])
    with freeze_time("2026-03-01 12:00:00") as frozen:
        statuses = []
        for number in range(3):
            member = get_user_model().objects.create_user(email=f"m{number}@example.com")
            client = Client(REMOTE_ADDR="203.0.113.7")
            client.force_login(member)
            statuses.append([client.post(url).status_code for _ in range(11)])
        # Ten a member, thirty a place, in an hour.
        assert statuses == [[303] * 10 + [429]] * 2 + [[303] * 8 + [429] * 3]
        elsewhere = Client(REMOTE_ADDR="198.51.100.1")
        elsewhere.force_login(member)
        assert elsewhere.post(url).status_code == 429  # this member's ten are spent
        frozen.move_to("2026-03-01 13:00:00")
        assert client.post(url).status_code == 303
