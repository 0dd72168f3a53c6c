"""A member's history, newest first, gathered from the apps that recorded
it: account events, subscriptions, payments, refunds, billing's audit trail,
gifts, edition downloads, print runs, vacation holds, and what staff did."""

from dataclasses import dataclass
from datetime import datetime

from masthead.accounts.models import AccountEvent
from masthead.billing.models import (
    BillingAuditLog,
    Gift,
    Payment,
    Refund,
    Subscription,
    format_money,
)
from masthead.editions.models import EditionDownload
from masthead.printing.models import PrintRunEntry, VacationHold

from .models import MemberNote, StaffAction

AUDIT_WORDS = {
    "cancel_requested": "Asked to cancel",
    "resumed": "Resumed the subscription",
    "plan_switched": "Switched plan",
    "complimentary_granted": "Complimentary subscription granted",
    "refund_requested": "Asked for a refund",
    "canceled_for_deletion": "Subscription ended with the account",
}


@dataclass
class Event:
    at: datetime
    kind: str
    text: str


def timeline(member, limit=500):
    events = []
    for event in AccountEvent.objects.filter(user=member)[:limit]:
        events.append(Event(event.created_at, "account", event.get_kind_display()))
    for subscription in Subscription.objects.filter(member=member).select_related("plan", "price"):
        what = subscription.get_status_display()
        started = (
            "Gift redeemed"
            if subscription.gift_id
            else (
                "Complimentary grant"
                if subscription.status == Subscription.Status.COMPLIMENTARY
                else "Checkout"
            )
        )
        events.append(
            Event(
                subscription.created_at,
                "subscription",
                f"{started}: {subscription.plan} ({what} now)",
            )
        )
        if subscription.trial_end and subscription.first_paid_at is None:
            events.append(
                Event(
                    subscription.trial_end,
                    "subscription",
                    f"Trial of {subscription.plan} ended unpaid",
                )
            )
        if subscription.canceled_at and subscription.status != Subscription.Status.REFUNDED:
            events.append(
                Event(subscription.canceled_at, "cancellation", f"Cancelled {subscription.plan}")
            )
        if subscription.ended_at:
            events.append(
                Event(subscription.ended_at, "subscription", f"{subscription.plan} ended")
            )
    for payment in Payment.objects.filter(member=member):
        text = f"Paid {payment.display_amount}"
        if payment.amount_refunded:
            text += f" ({format_money(payment.amount_refunded, payment.currency)} refunded)"
        events.append(Event(payment.paid_at, "payment", text))
    for refund in Refund.objects.filter(member=member):
        events.append(
            Event(
                refund.completed_at or refund.requested_at,
                "refund",
                f"Refund {refund.get_status_display().lower()}: {refund.display_amount}",
            )
        )
    for entry in BillingAuditLog.objects.filter(member=member).exclude(
        action__in=("complimentary_granted",)
    )[:limit]:
        if entry.action in AUDIT_WORDS:
            events.append(Event(entry.created_at, "billing", AUDIT_WORDS[entry.action]))
    for gift in Gift.objects.filter(buyer=member).select_related("plan"):
        if gift.paid_at:
            events.append(Event(gift.paid_at, "gift", f"Bought a gift: {gift}"))
    for download in EditionDownload.objects.filter(member=member).select_related("issue")[:limit]:
        events.append(
            Event(
                download.downloaded_at,
                "download",
                f"Downloaded {download.issue.title} ({download.get_format_display()})",
            )
        )
    for entry in PrintRunEntry.objects.filter(member=member).select_related("run__issue"):
        run = entry.run
        events.append(
            Event(
                run.closed_at or run.cutoff_at,
                "print",
                f"In the print run of {run.issue.title} ({entry.copies} copies)",
            )
        )
    for hold in VacationHold.objects.filter(member=member):
        events.append(
            Event(
                hold.created_at,
                "hold",
                f"Vacation hold from {hold.first_issue_date:%b %-d, %Y} to {hold.last_issue_date:%b %-d, %Y}",
            )
        )
    for action in StaffAction.objects.filter(member=member).select_related("actor"):
        events.append(
            Event(
                action.created_at,
                "staff",
                f"Staff ({action.actor or '?'}): {action.action.replace('_', ' ')}",
            )
        )
    for note in MemberNote.objects.filter(member=member).select_related("author"):
        events.append(Event(note.created_at, "note", f"Note by {note.author or '?'}"))
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]
