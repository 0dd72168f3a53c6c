"""The nightly reconciliation: Stripe against what Masthead stored.

Webhooks can be lost (an outage longer than Stripe's retries, a misconfigured
endpoint); this pass makes every member's subscription and payments match
Stripe again, fulfils single issues paid for but never fulfilled, ends gifts and complimentary grants whose time is up, plays
renewals in test mode, and retries refunds and events that failed. It
returns one line per change, for the command's output and the task log.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import ModuleType

from django.db import transaction
from django.utils import timezone

from . import actions, gateway, stripe_api, testmode, webhooks
from .models import IssuePurchase, Refund, Subscription
from .remote import GatewayError, RemoteSubscription

logger = logging.getLogger(__name__)


def _describe(subscription: Subscription, changes: Mapping[str, tuple[object, object]]) -> str:
    parts = [f"{name} {old} → {new}" for name, (old, new) in changes.items()]
    return (
        f"{subscription.member or 'deleted member'} {subscription.stripe_subscription_id}: "
        + "; ".join(parts)
    )


def sync_subscription(
    backend: ModuleType, remote: RemoteSubscription, fetched_at: datetime
) -> list[str]:
    """Store one subscription and its paid invoices; the lines that changed.
    `backend` is `stripe_api` or `testmode` (see `gateway`)."""
    lines: list[str] = []
    invoices = backend.list_paid_invoices(remote.id) if remote.status != "incomplete" else []
    with transaction.atomic():
        try:
            stored = actions.store_subscription(remote, fetched_at=fetched_at)
        except actions.MemberNotFound as error:
            return [f"skipped {remote.id}: {error}"]
        if stored is None:
            return []
        subscription = stored.subscription
        if stored.created:
            lines.append(f"{subscription.member} {remote.id}: recorded (missed by webhooks)")
        elif stored.changes:
            lines.append(_describe(subscription, stored.changes))
        known = set(subscription.payments.values_list("stripe_invoice_id", flat=True))
        for invoice in invoices:
            if invoice.id not in known and actions.store_invoice(subscription, invoice):
                lines.append(f"{subscription.member} {remote.id}: recorded payment {invoice.id}")
    return lines


# Stripe's Checkout Sessions expire within a day; a purchase left pending
# longer than this was never paid.
MISSED_CHECKOUT_WINDOW = timedelta(days=3)


def fulfil_missed_issue_purchases(now: datetime) -> list[str]:
    """Single issues paid on Stripe whose webhook and success page never
    arrived: fetched and fulfilled as the webhook would have."""
    lines: list[str] = []
    pending = (
        IssuePurchase.objects.filter(
            status=IssuePurchase.Status.PENDING, created_at__gte=now - MISSED_CHECKOUT_WINDOW
        )
        .exclude(stripe_checkout_session_id="")
        .exclude(stripe_checkout_session_id__startswith="tm_")
    )
    for purchase in pending.select_related("member", "issue"):
        try:
            state = actions.fetch_checkout(purchase.stripe_checkout_session_id)
        except GatewayError as error:
            lines.append(f"error {purchase.stripe_checkout_session_id}: {error.message}")
            continue
        with transaction.atomic():
            fulfilled = actions.apply_checkout(state)
        if fulfilled is not None:
            lines.append(
                f"{purchase.member} bought {purchase.issue}: recorded (missed by webhooks)"
            )
    return lines


def reconcile(now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    lines: list[str] = []
    seen: set[str] = set()
    if not gateway.test_mode():
        fetched_at = timezone.now()
        for remote in stripe_api.list_subscriptions():
            seen.add(remote.id)
            try:
                lines += sync_subscription(stripe_api, remote, fetched_at)
            except GatewayError as error:
                lines.append(f"error {remote.id}: {error.message}")
        # Anything still live here that the listing did not return.
        missing = (
            Subscription.objects.live()
            .exclude(stripe_subscription_id__startswith="tm_")
            .exclude(stripe_subscription_id__in=seen)
        )
        for stripe_id in missing.values_list("stripe_subscription_id", flat=True):
            try:
                fetched_at = timezone.now()
                lines += sync_subscription(
                    stripe_api, stripe_api.retrieve_subscription(stripe_id), fetched_at
                )
            except GatewayError as error:
                lines.append(f"error {stripe_id}: {error.message}")

        lines += fulfil_missed_issue_purchases(now)

    lines += testmode.renew_due(now)

    for subscription in actions.remind_trials_ending(now):
        lines.append(f"{subscription.member} trial of {subscription.plan.name}: reminded")

    for subscription in actions.end_expired_grants(now):
        lines.append(
            f"{subscription.member} {subscription.get_status_display().lower()} "
            f"{subscription.plan.name}: ended {subscription.ends_at:%Y-%m-%d}"
        )

    for refund in Refund.objects.filter(status=Refund.Status.PENDING).order_by("requested_at"):
        try:
            actions.carry_out_refund(refund.pk)
            lines.append(f"{refund.member} refund {refund.pk}: completed on retry")
        except actions.BillingError as error:
            lines.append(f"{refund.member} refund {refund.pk}: still pending ({error.message})")

    if not gateway.test_mode():
        for event_id, outcome in webhooks.retry_failed():
            lines.append(f"event {event_id}: retried, {outcome.result}")
    return lines
