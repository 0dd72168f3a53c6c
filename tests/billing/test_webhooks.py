"""Webhooks through Django's test client, against the local Stripe."""

import json
import time

import pytest
from django.core import mail

from masthead.billing import webhooks
from masthead.billing.models import Payment, StripeEvent, Subscription
from tests.billing.conftest import SHIPPING


def _subject_count(subject_part):
    return sum(subject_part in message.subject for message in mail.outbox)


def test_checkout_completed_creates_subscription_payment_and_emails(journey, catalogue, member):
    session = journey.complete(catalogue["digital/month"])

    subscription = Subscription.objects.get(member=member)
    assert subscription.stripe_subscription_id == session["subscription"]
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan.code == "digital"
    assert subscription.price == catalogue["digital/month"]
    assert subscription.stripe_customer_id == session["customer"]
    assert subscription.current_period_end > subscription.current_period_start
    payment = Payment.objects.get(subscription=subscription)
    assert (payment.amount, payment.currency) == (800, "usd")
    assert subscription.first_paid_at == payment.paid_at
    assert _subject_count("Welcome") == 1
    assert _subject_count("Receipt") == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"], ["ada@example.com"]]


def test_print_checkout_stores_the_shipping_address(journey, catalogue, member):
    journey.complete(catalogue["digital-print/year"], shipping=SHIPPING)

    address = member.shipping_address
    assert (address.name, address.line1, address.city, address.region) == (
        "Ada Reader",
        "12 Main Street",
        "Springfield",
        "IL",
    )
    assert (address.postal_code, address.country) == ("62701", "US")
    subscription = Subscription.objects.get(member=member)
    assert subscription.plan.includes_print
    assert subscription.checkout_session_id


def test_checkout_sends_shipping_collection_for_print_plans(journey, catalogue, stripe_live):
    print_session = stripe_live.checkout_sessions[journey.start(catalogue["digital-print/month"])]
    digital_session = stripe_live.checkout_sessions[journey.start(catalogue["digital/month"])]

    collection = print_session["session"]["shipping_address_collection"]
    assert "US" in collection["allowed_countries"] and "GB" in collection["allowed_countries"]
    assert digital_session["session"]["shipping_address_collection"] is None
    assert print_session["session"]["allow_promotion_codes"] is True
    assert print_session["session"]["client_reference_id"] == str(
        journey.client.session["_auth_user_id"]
    )
    assert print_session["subscription_data"]["metadata"]["member_id"] == str(
        journey.client.session["_auth_user_id"]
    )


def test_success_page_and_webhook_fulfil_once_in_either_order(
    journey, catalogue, member, django_capture_on_commit_callbacks
):
    session = journey.pay(catalogue["digital/month"])
    with django_capture_on_commit_callbacks(execute=True):
        page = journey.client.get("/subscribe/success/", {"session_id": session["id"]})
        again = journey.client.get("/subscribe/success/", {"session_id": session["id"]})
    assert page.status_code == again.status_code == 200
    assert b"Welcome to" in page.content
    response = journey.webhook("checkout.session.completed", session)
    assert response.status_code == 200

    assert Subscription.objects.filter(member=member).count() == 1
    assert Payment.objects.count() == 1
    assert _subject_count("Welcome") == 1


def test_success_page_refuses_someone_elses_session(journey, catalogue, client, db):
    from django.contrib.auth import get_user_model

    session = journey.pay(catalogue["digital/month"])
    other = get_user_model().objects.create_user(email="eve@example.com")
    client.force_login(other)
    assert client.get("/subscribe/success/", {"session_id": session["id"]}).status_code == 404
    assert not Subscription.objects.exists()


def test_forged_signature_is_refused_and_writes_nothing(journey, catalogue):
    session = journey.pay(catalogue["digital/month"])
    response = journey.webhook("checkout.session.completed", session, secret="whsec_forged")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not Subscription.objects.exists()


def test_unsigned_and_garbled_deliveries_are_refused(journey, client):
    assert (
        client.post("/billing/webhook/", data=b"{}", content_type="application/json").status_code
        == 400
    )
    response = client.post(
        "/billing/webhook/",
        data=b"{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize(("age", "status"), [(299, 200), (301, 400)])
def test_signatures_older_than_five_minutes_are_refused(journey, catalogue, age, status):
    session = journey.pay(catalogue["digital/month"])
    response = journey.webhook("checkout.session.completed", session, timestamp=time.time() - age)
    assert response.status_code == status
    assert Subscription.objects.exists() is (status == 200)
    assert StripeEvent.objects.exists() is (status == 200)


@pytest.mark.parametrize(("ahead", "status"), [(299, 200), (600, 400)])
def test_signatures_from_more_than_five_minutes_ahead_are_refused(
    journey, catalogue, ahead, status
):
    session = journey.pay(catalogue["digital/month"])
    response = journey.webhook("checkout.session.completed", session, timestamp=time.time() + ahead)
    assert response.status_code == status
    assert Subscription.objects.exists() is (status == 200)
    assert StripeEvent.objects.exists() is (status == 200)


@pytest.mark.parametrize(
    "changes",
    [
        {"type": ["checkout.session.completed"]},
        {"type": {"name": "invoice.paid"}},
        {"type": None},
        {"type": "x" * 101},
        {"data": None},
        {"data": {}},
        {"data": {"object": "cs_123"}},
        {"data": {"object": {"object": "checkout.session"}}},
        {"data": {"object": {"id": ["cs_123"]}}},
    ],
)
def test_a_signed_event_that_can_never_be_handled_is_recorded_and_not_retried(
    journey, stripe_live, changes
):
    event = {**stripe_live.event("checkout.session.completed", {"id": "cs_x"}), **changes}
    with journey.capture(execute=True):
        response = stripe_live.post_to_client(journey.client, event)
        again = stripe_live.post_to_client(journey.client, event)

    assert (response.status_code, response.content) == (200, b"malformed")
    assert (again.status_code, again.content) == (200, b"malformed")
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.status, stored.attempts) == (event["id"], "malformed", 2)
    assert stored.error.startswith("Malformed event: ")
    assert stored.payload == event
    assert not Subscription.objects.exists()
    # The nightly retry leaves it alone: it would only fail again.
    assert webhooks.retry_failed() == []


@pytest.mark.parametrize("event_id", [["evt_1"], 7, "", "e" * 101, None])
def test_a_signed_body_without_an_event_id_is_refused(journey, stripe_live, event_id):
    event = {**stripe_live.event("checkout.session.completed", {"id": "cs_x"}), "id": event_id}
    response = stripe_live.post_to_client(journey.client, event)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_replayed_delivery_changes_nothing(journey, catalogue, member, stripe_live):
    session = journey.pay(catalogue["digital/month"])
    event = stripe_live.event("checkout.session.completed", session)
    payload = json.dumps(event).encode()
    signature = stripe_live.sign(payload)
    with journey.capture(execute=True):
        first = journey.client.post(
            "/billing/webhook/",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        replay = journey.client.post(
            "/billing/webhook/",
            payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
    assert (first.status_code, first.content) == (200, b"processed")
    assert (replay.status_code, replay.content) == (200, b"duplicate")
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert Payment.objects.count() == 1
    assert _subject_count("Welcome") == 1


def test_a_replay_while_stripe_is_unreachable_is_still_a_duplicate(
    journey, catalogue, member, settings
):
    session = journey.pay(catalogue["digital/month"])
    event = journey.server.event("checkout.session.completed", session)
    with journey.capture(execute=True):
        assert journey.server.post_to_client(journey.client, event).status_code == 200
    # Handling it again would fail at the fetch: it was handled, all the same.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with journey.capture(execute=True):
        replay = journey.server.post_to_client(journey.client, event)
    assert (replay.status_code, replay.content) == (200, b"duplicate")
    stored = StripeEvent.objects.get()
    assert (stored.status, stored.attempts, stored.error) == ("processed", 1, "")
    assert Payment.objects.count() == 1
    assert _subject_count("Welcome") == 1


def test_the_same_event_replayed_a_day_later_is_refused(journey, catalogue, stripe_live):
    session = journey.pay(catalogue["digital/month"])
    old = time.time() - 86400
    response = journey.webhook("checkout.session.completed", session, timestamp=old)
    assert response.status_code == 400


def test_subscription_updated_before_created(journey, catalogue, member, stripe_live):
    session = journey.pay(catalogue["digital/month"])
    subscription = stripe_live.get(f"/v1/subscriptions/{session['subscription']}")
    stripe_live.post(f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": True})
    updated = stripe_live.get(f"/v1/subscriptions/{subscription['id']}")

    assert journey.webhook("customer.subscription.updated", updated).status_code == 200
    # The older "created" snapshot arrives last: Masthead re-fetches and keeps
    # Stripe's current state.
    assert journey.webhook("customer.subscription.created", subscription).status_code == 200

    stored = Subscription.objects.get(member=member)
    assert stored.status == Subscription.Status.ACTIVE
    assert stored.cancel_at_period_end is True
    assert Subscription.objects.count() == 1


def test_invoice_paid_before_checkout_completed(journey, catalogue, member, stripe_live):
    session = journey.pay(catalogue["digital/month"])
    invoice = stripe_live.get(f"/v1/invoices/{session['invoice']}")

    assert journey.webhook("invoice.paid", invoice).status_code == 200
    assert journey.webhook("checkout.session.completed", session).status_code == 200

    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.ACTIVE
    assert Payment.objects.get().stripe_invoice_id == invoice["id"]
    assert _subject_count("Welcome") == 1
    assert _subject_count("Receipt") == 1


def test_invoice_paid_before_the_member_exists_fails_then_succeeds_on_retry(
    catalogue, stripe_live, client, django_capture_on_commit_callbacks
):
    """An invoice for a member this database does not know yet (created by a
    slower path) is refused with a 500 so that Stripe retries; the retry after
    the member exists links it by the id in the subscription's metadata."""
    from django.contrib.auth import get_user_model

    price = catalogue["digital/year"]
    customer = stripe_live.post("/v1/customers", {"email": "late@example.com"})
    method = stripe_live.post(
        "/v1/payment_methods",
        {
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        },
    )
    stripe_live.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": customer["id"]})
    stripe_live.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": method["id"]}},
    )
    subscription = stripe_live.post(
        "/v1/subscriptions",
        {
            "customer": customer["id"],
            "items": [{"price": price.stripe_price_id}],
            "metadata": {"member_id": "4242"},
        },
    )
    invoice = stripe_live.get(f"/v1/invoices/{subscription['latest_invoice']}")
    event = stripe_live.event("invoice.paid", invoice)

    with django_capture_on_commit_callbacks(execute=True):
        first = stripe_live.post_to_client(client, event)
    assert first.status_code == 500
    stored = StripeEvent.objects.get()
    assert stored.status == "failed"
    assert "MemberNotFound" in stored.error
    assert not Subscription.objects.exists()

    get_user_model().objects.create_user(pk=4242, email="late@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        retry = stripe_live.post_to_client(client, event)
    assert retry.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.error) == ("processed", 2, "")
    linked = Subscription.objects.get()
    assert linked.member.email == "late@example.com"
    assert Payment.objects.get().amount == 8000


def test_a_failing_handler_is_recorded_and_succeeds_on_retry(
    journey, catalogue, member, monkeypatch
):
    session = journey.pay(catalogue["digital/month"])
    original = webhooks.HANDLERS["checkout.session.completed"]
    calls = []

    def flaky_apply(event, state):
        calls.append(event["id"])
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return original.apply(event, state)

    monkeypatch.setitem(
        webhooks.HANDLERS,
        "checkout.session.completed",
        webhooks.Handler(original.fetch, flaky_apply),
    )
    event = journey.server.event("checkout.session.completed", session)
    with journey.capture(execute=True):
        failed = journey.server.post_to_client(journey.client, event)
    assert failed.status_code == 500
    stored = StripeEvent.objects.get()
    assert stored.status == "failed" and "database went away" in stored.error
    assert not Subscription.objects.exists()
    assert not mail.outbox

    with journey.capture(execute=True):
        retried = journey.server.post_to_client(journey.client, event)
    assert retried.status_code == 200
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 2)
    assert Subscription.objects.get().member == member
    assert _subject_count("Welcome") == 1


def test_renewal_and_failed_payment(journey, catalogue, member, stripe_live):
    session = journey.complete(catalogue["digital/month"])
    subscription = Subscription.objects.get(member=member)
    first_end = subscription.current_period_end

    renewal = stripe_live.renew(session["subscription"])
    assert journey.webhook("invoice.paid", renewal).status_code == 200
    subscription.refresh_from_db()
    assert subscription.current_period_start == first_end
    assert Payment.objects.filter(subscription=subscription).count() == 2
    assert _subject_count("Receipt") == 2

    failed = stripe_live.renew(session["subscription"], card="4000000000000341")
    assert failed["status"] == "open"
    assert journey.webhook("invoice.payment_failed", failed).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE
    assert subscription.payment_failed_at is not None
    assert _subject_count("failed") == 1
    # Stripe's next retry for the same invoice: one email per episode.
    assert journey.webhook("invoice.payment_failed", failed).status_code == 200
    assert _subject_count("failed") == 1


def test_events_for_prices_that_are_not_ours_are_ignored(journey, stripe_live, catalogue):
    product = stripe_live.post("/v1/products", {"name": "Someone else's"})
    price = stripe_live.post(
        "/v1/prices",
        {
            "product": product["id"],
            "unit_amount": 500,
            "currency": "usd",
            "recurring": {"interval": "month"},
        },
    )
    customer = stripe_live.post("/v1/customers", {"email": "x@example.com"})
    subscription = stripe_live.post(
        "/v1/subscriptions",
        {"customer": customer["id"], "items": [{"price": price["id"]}], "trial_period_days": 30},
    )
    response = journey.webhook("customer.subscription.created", subscription)
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == "processed"
    assert not Subscription.objects.exists()


def test_unhandled_event_types_are_stored_and_acknowledged(journey, stripe_live):
    response = journey.webhook("customer.created", {"id": "cus_x", "object": "customer"})
    assert (response.status_code, response.content) == (200, b"ignored")
    assert StripeEvent.objects.get().type == "customer.created"


def test_subscription_deleted_ends_access(journey, catalogue, member, stripe_live):
    session = journey.complete(catalogue["digital/month"])
    ended = stripe_live.end_period(session["subscription"])
    assert journey.webhook("customer.subscription.deleted", ended).status_code == 200
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.CANCELED
    assert subscription.ended_at is not None


def test_a_failed_async_gift_payment_marks_the_gift_failed(journey, catalogue, stripe_live):
    from masthead.billing.models import Gift

    response = journey.client.post(
        "/gift/",
        {
            "plan": catalogue["digital/month"].plan.pk,
            "months": 3,
            "recipient_email": "f@example.com",
        },
    )
    session = stripe_live.get(f"/v1/checkout/sessions/{response['Location'].rsplit('/', 1)[-1]}")
    assert journey.webhook("checkout.session.async_payment_failed", session).status_code == 200
    assert Gift.objects.get().status == Gift.Status.FAILED
    assert not mail.outbox
