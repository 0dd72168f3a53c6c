"""Cancel anytime, resume, plan switches and the Customer Portal."""

from datetime import timedelta

from django.core import mail
from freezegun import freeze_time

from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import BillingAuditLog, Subscription
from tests.billing.conftest import SHIPPING


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def test_cancel_then_resume(journey, catalogue, member, stripe_live):
    session = journey.complete(catalogue["digital/month"])
    mail.outbox.clear()

    with journey.capture(execute=True):
        response = journey.client.post("/billing/cancel/", {"reason": "  Too   busy to read  "})
    assert response.status_code == 302
    subscription = Subscription.objects.get(member=member)
    assert subscription.cancel_at_period_end is True
    assert subscription.cancellation_reason == "Too busy to read"
    assert (
        stripe_live.get(f"/v1/subscriptions/{session['subscription']}")["cancel_at_period_end"]
        is True
    )
    assert [m.subject for m in mail.outbox] == ["Your subscription to Digital is cancelled"]
    entitlement = current_entitlement(member)
    assert entitlement.kind == "paid" and entitlement.ends_at == subscription.current_period_end

    with journey.capture(execute=True):
        journey.client.post("/billing/resume/")
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end is False
    assert subscription.cancellation_reason == ""
    assert (
        stripe_live.get(f"/v1/subscriptions/{session['subscription']}")["cancel_at_period_end"]
        is False
    )
    assert list(
        BillingAuditLog.objects.filter(
            subscription=subscription, action__in=["cancel_requested", "resumed"]
        )
        .order_by("created_at", "pk")
        .values_list("action", flat=True)
    ) == ["cancel_requested", "resumed"]


def test_cancel_then_period_end(journey, catalogue, member, stripe_live):
    session = journey.complete(catalogue["digital/month"])
    journey.client.post("/billing/cancel/")
    subscription = Subscription.objects.get(member=member)
    period_end = subscription.current_period_end

    # Access lasts to the end of the paid period, and not a moment longer,
    # even before Stripe's webhook says the subscription ended.
    with freeze_time(period_end - timedelta(minutes=1)):
        assert current_entitlement(member) is not None
    with freeze_time(period_end + timedelta(seconds=1)):
        assert current_entitlement(member) is None

    ended = stripe_live.end_period(session["subscription"])
    assert journey.webhook("customer.subscription.deleted", ended).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert current_entitlement(member) is None
    # The cancellation (with its reason) stays visible to the publisher.
    assert subscription.canceled_at is not None


def test_cancelling_from_the_customer_portal_sends_the_email_once(
    journey, catalogue, member, stripe_live
):
    session = journey.complete(catalogue["digital/month"])
    mail.outbox.clear()
    stripe_live.post(f"/v1/subscriptions/{session['subscription']}", {"cancel_at_period_end": True})
    updated = stripe_live.get(f"/v1/subscriptions/{session['subscription']}")
    journey.webhook("customer.subscription.updated", updated)
    journey.webhook("customer.subscription.updated", updated)
    assert [m.subject for m in mail.outbox] == ["Your subscription to Digital is cancelled"]


def test_a_second_subscription_cannot_be_started(journey, catalogue, member, stripe_live):
    journey.complete(catalogue["digital/month"])
    before = len(stripe_live.checkout_sessions)
    response = journey.client.post(
        f"/subscribe/checkout/{catalogue['digital-print/month'].pk}/", follow=True
    )
    assert (
        "You already subscribe to Digital. Change plans from your account page instead."
        in _messages(response)
    )
    assert len(stripe_live.checkout_sessions) == before


def test_switching_to_print_needs_an_address_then_moves_the_stripe_subscription(
    journey, catalogue, member, stripe_live
):
    from masthead.accounts.actions import update_shipping_address

    session = journey.complete(catalogue["digital/month"])
    target = catalogue["digital-print/month"]
    response = journey.client.post(f"/billing/switch/{target.pk}/", follow=True)
    assert "Add a shipping address on your account page before adding print." in _messages(response)

    update_shipping_address(member, **SHIPPING["address"], name=SHIPPING["name"])
    journey.client.post(f"/billing/switch/{target.pk}/")
    subscription = Subscription.objects.get(member=member)
    assert subscription.price == target and subscription.plan.includes_print
    remote = stripe_live.get(f"/v1/subscriptions/{session['subscription']}")
    assert remote["items"]["data"][0]["price"]["id"] == target.stripe_price_id
    switch = BillingAuditLog.objects.get(action="plan_switched")
    # Insights reads which price ran when from these.
    assert switch.detail["old_price_id"] == catalogue["digital/month"].pk
    assert switch.detail["new_price_id"] == target.pk
    assert current_entitlement(member).includes_print is True


def test_customer_portal_link(journey, catalogue, member, stripe_live):
    session = journey.complete(catalogue["digital/month"])
    response = journey.client.post("/billing/portal/")
    assert response.status_code == 303
    portal_id = response["Location"].rsplit("/", 1)[-1]
    portal = stripe_live.portal_sessions[portal_id]
    assert portal["customer"] == session["customer"]
    assert portal["return_url"] == "http://testserver/account/"


def test_account_billing_shows_status_and_buttons(journey, catalogue, member, rf):
    from django.template.loader import render_to_string

    journey.complete(catalogue["digital/month"])
    request = rf.get("/account/")
    request.user = member
    html = render_to_string("billing/includes/account_billing.html", {"request": request})
    subscription = Subscription.objects.get(member=member)
    assert "Digital</strong>, $8.00 per month" in html
    assert f"renews on {subscription.current_period_end:%B} " in html
    assert "Payment method and invoices" in html
    assert "Cancel subscription" in html
    assert "Refund my subscription" in html
    assert "Change plan" in html

    journey.client.post("/billing/cancel/")
    html = render_to_string("billing/includes/account_billing.html", {"request": request})
    assert "Cancelled: access until" in html and "Resume subscription" in html


def test_deleting_an_account_cancels_its_subscription(journey, catalogue, member, stripe_live):
    from masthead.billing.actions import cancel_for_deleted_member

    session = journey.complete(catalogue["digital/month"])
    cancel_for_deleted_member(member)
    assert stripe_live.get(f"/v1/subscriptions/{session['subscription']}")["status"] == "canceled"
    assert Subscription.objects.get().status == Subscription.Status.CANCELED
