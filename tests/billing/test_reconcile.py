"""The nightly reconciliation against the local Stripe."""

from io import StringIO

from django.core.management import call_command

from masthead.billing.models import Payment, StripeEvent, Subscription
from masthead.billing.reconciliation import reconcile


def test_reconciliation_repairs_drift_and_reports_it(journey, catalogue, member, stripe_live):
    # A subscription whose every webhook was lost.
    lost = journey.pay(catalogue["digital/month"])
    assert not Subscription.objects.exists()

    out = StringIO()
    with journey.capture(execute=True):
        call_command("reconcile_subscriptions", stdout=out)
    output = out.getvalue()
    subscription = Subscription.objects.get(stripe_subscription_id=lost["subscription"])
    assert subscription.status == Subscription.Status.ACTIVE
    assert f"{member} {lost['subscription']}: recorded (missed by webhooks)" in output
    assert f"recorded payment {lost['invoice']}" in output
    assert Payment.objects.count() == 1

    # Renewed, then cancelled on Stripe's side, without a word to Masthead.
    renewal = stripe_live.renew(lost["subscription"])
    stripe_live.end_period(lost["subscription"])
    with journey.capture(execute=True):
        lines = reconcile()
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert any("status active → canceled" in line for line in lines)
    assert any(f"recorded payment {renewal['id']}" in line for line in lines)

    # Nothing left to repair.
    assert reconcile() == []


def test_reconciliation_retries_failed_events(journey, catalogue, member, monkeypatch):
    from masthead.billing import webhooks

    session = journey.pay(catalogue["digital/month"])
    original = webhooks.HANDLERS["checkout.session.completed"]

    def broken(event, state):
        raise RuntimeError("bug")

    monkeypatch.setitem(
        webhooks.HANDLERS, "checkout.session.completed", webhooks.Handler(original.fetch, broken)
    )
    assert journey.webhook("checkout.session.completed", session).status_code == 500
    monkeypatch.undo()
    with journey.capture(execute=True):
        lines = reconcile()
    assert any("retried, processed" in line for line in lines)
    assert StripeEvent.objects.get().status == "processed"


def test_reconcile_task(journey, catalogue, member):
    from masthead.billing.tasks import reconcile_subscriptions

    journey.pay(catalogue["digital/month"])
    with journey.capture(execute=True):
        result = reconcile_subscriptions.enqueue()
    assert result.status == "SUCCESSFUL"
    assert Subscription.objects.filter(member=member).exists()
