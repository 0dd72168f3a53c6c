"""The 60-day money-back guarantee, against the local Stripe."""

from datetime import timedelta

import pytest
from django.core import mail
from freezegun import freeze_time

from masthead.billing import actions, stripe_api
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import Payment, Refund, Subscription
from masthead.billing.remote import GatewayError


@pytest.fixture
def paid_twice(journey, catalogue, member, stripe_live):
    """A monthly subscription that has renewed once: two payments."""
    session = journey.complete(catalogue["digital/month"])
    renewal = stripe_live.renew(session["subscription"])
    assert journey.webhook("invoice.paid", renewal).status_code == 200
    mail.outbox.clear()
    return Subscription.objects.get(member=member)


def _charges(server, subscription):
    invoices = server.get(f"/v1/invoices?subscription={subscription.stripe_subscription_id}")[
        "data"
    ]
    charges = []
    for invoice in invoices:
        payments = server.get(f"/v1/invoice_payments?invoice={invoice['id']}")["data"]
        intent = server.get(f"/v1/payment_intents/{payments[0]['payment']['payment_intent']}")
        charges.append(intent["latest_charge"]["id"])
    return charges


def _refunds_on_stripe(server, subscription):
    return {charge: server.refunds_of_charge(charge) for charge in _charges(server, subscription)}


def test_refund_returns_every_payment_ends_the_subscription_and_revokes_access(
    paid_twice, journey, member, stripe_live, monkeypatch
):
    revoked = []
    monkeypatch.setattr(actions, "ACCESS_REVOKED_HOOKS", [lambda m, s: revoked.append((m, s.pk))])
    assert current_entitlement(member) is not None

    with journey.capture(execute=True):
        response = journey.client.post("/billing/refund/", {"reason": "Not for me"})
    assert response.status_code == 302

    refund = Refund.objects.get(member=member)
    assert (refund.status, refund.amount, refund.amount_refunded) == ("succeeded", 1600, 1600)
    assert refund.reason == "Not for me"
    assert len(refund.stripe_refund_ids) == 2
    on_stripe = _refunds_on_stripe(stripe_live, paid_twice)
    assert [len(refunds) for refunds in on_stripe.values()] == [1, 1]
    assert sorted(r["amount"] for refunds in on_stripe.values() for r in refunds) == [800, 800]
    assert {r["reason"] for refunds in on_stripe.values() for r in refunds} == {
        "requested_by_customer"
    }
    assert (
        stripe_live.get(f"/v1/subscriptions/{paid_twice.stripe_subscription_id}")["status"]
        == "canceled"
    )

    paid_twice.refresh_from_db()
    assert paid_twice.status == Subscription.Status.REFUNDED
    assert paid_twice.ended_at is not None
    assert set(Payment.objects.values_list("amount_refunded", flat=True)) == {800}
    assert current_entitlement(member) is None
    assert revoked == [(member, paid_twice.pk)]
    assert [m.subject for m in mail.outbox] == ["Your refund of $16.00"]

    # The subscription.deleted webhook that follows does not undo "refunded".
    ended = stripe_live.get(f"/v1/subscriptions/{paid_twice.stripe_subscription_id}")
    assert journey.webhook("customer.subscription.deleted", ended).status_code == 200
    paid_twice.refresh_from_db()
    assert paid_twice.status == Subscription.Status.REFUNDED


def test_double_submission_refunds_once(paid_twice, journey, member, stripe_live):
    with journey.capture(execute=True):
        first = journey.client.post("/billing/refund/")
        second = journey.client.post("/billing/refund/")
    assert first.status_code == second.status_code == 302
    assert Refund.objects.count() == 1
    assert [len(r) for r in _refunds_on_stripe(stripe_live, paid_twice).values()] == [1, 1]
    assert sum("refund" in m.subject for m in mail.outbox) == 1


def test_a_crash_after_stripe_refunded_is_retried_without_refunding_twice(
    paid_twice, member, stripe_live, monkeypatch, django_capture_on_commit_callbacks
):
    real_refund = stripe_api.refund
    calls = []

    def refund_then_crash(**kwargs):
        result = real_refund(**kwargs)
        calls.append(kwargs["idempotency_key"])
        if len(calls) == 2:
            raise GatewayError("worker killed", retryable=True)
        return result

    monkeypatch.setattr(stripe_api, "refund", refund_then_crash)
    with pytest.raises(actions.RefundIncomplete):
        actions.refund_subscription(member, "two tabs")
    refund = Refund.objects.get()
    assert refund.status == "pending"
    assert refund.attempts == 1 and "worker killed" in refund.error
    # The second payment was refunded on Stripe, but Masthead did not hear.
    assert Payment.objects.filter(stripe_refund_id="").count() == 1

    monkeypatch.setattr(stripe_api, "refund", real_refund)
    from masthead.billing.tasks import complete_refund

    with django_capture_on_commit_callbacks(execute=True):
        assert complete_refund.call(refund.pk) == "succeeded"
    assert [len(r) for r in _refunds_on_stripe(stripe_live, paid_twice).values()] == [1, 1]
    refund.refresh_from_db()
    assert (refund.status, refund.amount_refunded) == ("succeeded", 1600)
    # Same keys on the retry: the second refund is Stripe's replay of the first.
    assert calls[1] == refund.idempotency_key(Payment.objects.order_by("paid_at", "pk")[1])


def test_a_stripe_outage_during_cancel_is_retried_by_the_reconciliation(
    paid_twice, member, stripe_live, monkeypatch, django_capture_on_commit_callbacks
):
    def down(subscription_id):
        raise GatewayError("Stripe unavailable", retryable=True)

    monkeypatch.setattr(stripe_api, "cancel_subscription", down)
    with pytest.raises(actions.RefundIncomplete):
        actions.refund_subscription(member)
    assert current_entitlement(member) is not None
    monkeypatch.undo()

    from masthead.billing.reconciliation import reconcile

    with django_capture_on_commit_callbacks(execute=True):
        lines = reconcile()
    assert any("completed on retry" in line for line in lines)
    assert Refund.objects.get().status == "succeeded"
    assert [len(r) for r in _refunds_on_stripe(stripe_live, paid_twice).values()] == [1, 1]
    assert current_entitlement(member) is None


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [
        (timedelta(days=59, hours=23), True),
        (timedelta(days=60), True),
        (timedelta(days=60, minutes=1), False),
        (timedelta(days=61), False),
    ],
)
def test_day_60_versus_day_61(journey, catalogue, member, stripe_live, elapsed, allowed):
    journey.complete(catalogue["digital/year"])
    subscription = Subscription.objects.get(member=member)

    with freeze_time(subscription.first_paid_at + elapsed):
        journey.client.force_login(member)  # the real session expired meanwhile
        assert actions.can_refund(member) is allowed
        with journey.capture(execute=True):
            response = journey.client.post("/billing/refund/", follow=True)
    assert response.status_code == 200
    message = "Refunded $80.00" if allowed else "The 60-day money-back guarantee ended on"
    assert message in response.content.decode() or message in str(
        [str(m) for m in response.context["messages"]]
    )
    subscription.refresh_from_db()
    if allowed:
        assert subscription.status == Subscription.Status.REFUNDED
        assert Refund.objects.get().status == "succeeded"
    else:
        assert subscription.status == Subscription.Status.ACTIVE
        assert not Refund.objects.exists()
        with (
            freeze_time(subscription.first_paid_at + elapsed),
            pytest.raises(actions.BillingError, match="guarantee ended on"),
        ):
            actions.refund_subscription(member)


def test_the_refund_button_shows_only_within_the_window(journey, catalogue, member, rf):
    from django.template.loader import render_to_string

    journey.complete(catalogue["digital/month"])
    subscription = Subscription.objects.get(member=member)
    request = rf.get("/account/")
    request.user = member

    def render():
        return render_to_string("billing/includes/account_billing.html", {"request": request})

    with freeze_time(subscription.first_paid_at + timedelta(days=30)):
        assert "Refund my subscription" in render()
    with freeze_time(subscription.first_paid_at + timedelta(days=61)):
        html = render()
        assert "Refund my subscription" not in html
        assert "Cancel subscription" in html


def test_the_guarantee_is_once_per_member(journey, catalogue, member, stripe_live):
    journey.complete(catalogue["digital/month"])
    with journey.capture(execute=True):
        actions.refund_subscription(member)
    journey.complete(catalogue["digital/month"])
    assert Subscription.objects.filter(member=member).count() == 2

    assert actions.can_refund(member) is False
    with pytest.raises(actions.BillingError, match="already used"):
        actions.refund_subscription(member)
    response = journey.client.post("/billing/refund/", follow=True)
    assert "You have already used the 60-day money-back guarantee." in [
        str(message) for message in response.context["messages"]
    ]
    assert Refund.objects.count() == 1


def test_nothing_to_refund_during_a_free_trial(member, plans, db):
    Subscription.objects.create(
        member=member,
        plan=plans["digital/month"].plan,
        price=plans["digital/month"],
        status=Subscription.Status.TRIALING,
        stripe_subscription_id="sub_trial",
    )
    with pytest.raises(actions.BillingError, match="no payment to refund"):
        actions.refund_subscription(member)
