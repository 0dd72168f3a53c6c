"""Stripe webhooks: verify, store, handle once.

`receive(payload, signature)` checks the signature on the raw body with the
stripe library (5 minutes' tolerance, so a captured delivery cannot be
replayed later); a forged or stale one gets a 400 and writes nothing. Each
handler is a pair: `fetch` asks Stripe for the current state of what the
event is about (never trusting the order events arrive in), with no
transaction open; `apply` stores it. `apply` runs in one transaction with
storing the event's row: a stored event's row is locked first
(select_for_update); a new event is inserted, already processed, at the end,
and a concurrent delivery of it that applied it too fails on the unique key
and rolls back. Either way concurrent deliveries of one event change state
once. The event is marked processed only when `apply`
succeeded; a failure is recorded on the row with its error and answered
with a 500 so that Stripe delivers again, and the retry can succeed. An
event that no retry could handle (no type, or a handled type without the
object it is about) is recorded as failed with the reason and answered 200,
as Stripe advises, so that it is not delivered again for days.
A delivery of an event already processed is answered 200 and changes
nothing: a delivery is handled without looking for its row first (nearly
every one is new), so a redelivery is found out when storing it clashes,
and what it applied is rolled back.
"""

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from . import actions, stripe_api
from .models import StripeEvent
from .remote import RemoteCharge, RemoteInvoice, RemoteSubscription, SignatureError

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None

logger = logging.getLogger(__name__)

# A Stripe event as it arrived: JSON, checked by `malformed` before a handler
# reads it.
Event = dict[str, Any]
Fetch = TypeVar("Fetch")


@dataclass(frozen=True)
class Outcome:
    status: int
    result: str  # "processed", "duplicate", "ignored", "failed", "malformed", "forged"


@dataclass(frozen=True)
class Handler(Generic[Fetch]):
    """`fetch` reads what an event is about from Stripe; `apply` stores it
    (what `apply` returns is not used)."""

    fetch: Callable[[Event], Fetch]
    apply: Callable[[Event, Fetch], object]


def _object(event: Event) -> dict[str, Any]:
    thing: dict[str, Any] = event["data"]["object"]
    return thing


# Handlers ----------------------------------------------------------------------------


def fetch_checkout(event: Event) -> actions.CheckoutState:
    state: actions.CheckoutState = actions.fetch_checkout(_object(event)["id"])
    return state


def apply_checkout(event: Event, state: actions.CheckoutState) -> object:
    return actions.apply_checkout(state)


def apply_checkout_failed(event: Event, state: actions.CheckoutState) -> object:
    checkout = state.checkout
    if checkout.mode == "payment" and checkout.metadata.get("kind") == "gift":
        actions.fail_gift(checkout)
        return None
    if checkout.mode == "payment" and checkout.metadata.get("kind") == actions.ISSUE_KIND:
        actions.fail_issue_purchase(checkout)
        return None
    if state.subscription is not None:
        return actions.store_subscription(
            state.subscription,
            fetched_at=state.fetched_at,
            member_hint=checkout.client_reference_id,
        )
    return None


@dataclass
class Fetched:
    subscription: RemoteSubscription
    fetched_at: datetime


def fetch_subscription(event: Event) -> Fetched:
    fetched_at = timezone.now()
    return Fetched(stripe_api.retrieve_subscription(_object(event)["id"]), fetched_at)


def apply_subscription(event: Event, fetched: Fetched) -> object:
    return actions.store_subscription(fetched.subscription, fetched_at=fetched.fetched_at)


@dataclass
class FetchedInvoice:
    invoice: RemoteInvoice
    subscription: RemoteSubscription | None  # None for an invoice not a subscription's
    fetched_at: datetime


def fetch_invoice(event: Event) -> FetchedInvoice:
    invoice = stripe_api.read_invoice(_object(event))
    fetched_at = timezone.now()
    if not invoice.subscription_id:
        return FetchedInvoice(invoice, None, fetched_at)
    return FetchedInvoice(
        invoice, stripe_api.retrieve_subscription(invoice.subscription_id), fetched_at
    )


def apply_invoice_paid(event: Event, fetched: FetchedInvoice) -> object:
    if fetched.subscription is None:
        return None  # not a subscription's invoice
    stored = actions.store_subscription(fetched.subscription, fetched_at=fetched.fetched_at)
    if stored is None:
        return None
    return actions.store_invoice(stored.subscription, fetched.invoice)


def apply_invoice_failed(event: Event, fetched: FetchedInvoice) -> object:
    if fetched.subscription is None:
        return None
    stored = actions.store_subscription(fetched.subscription, fetched_at=fetched.fetched_at)
    if stored is None:
        return None
    return actions.store_payment_failure(stored.subscription, fetched.invoice.id)


def apply_trial_will_end(event: Event, fetched: Fetched) -> object:
    """Stripe's notice, three days before a trial ends: the member's reminder."""
    stored = actions.store_subscription(fetched.subscription, fetched_at=fetched.fetched_at)
    if stored is None:
        return None
    return actions.remind_trial_ending(stored.subscription)


def fetch_charge(event: Event) -> RemoteCharge:
    return stripe_api.retrieve_charge(_object(event)["id"])


def apply_charge_refunded(event: Event, charge: RemoteCharge) -> object:
    return actions.record_charge_refunds(charge)


HANDLERS: dict[str, Handler[Any]] = {
    "checkout.session.completed": Handler(fetch_checkout, apply_checkout),
    "checkout.session.async_payment_succeeded": Handler(fetch_checkout, apply_checkout),
    "checkout.session.async_payment_failed": Handler(fetch_checkout, apply_checkout_failed),
    "customer.subscription.created": Handler(fetch_subscription, apply_subscription),
    "customer.subscription.updated": Handler(fetch_subscription, apply_subscription),
    "customer.subscription.deleted": Handler(fetch_subscription, apply_subscription),
    "customer.subscription.trial_will_end": Handler(fetch_subscription, apply_trial_will_end),
    "invoice.paid": Handler(fetch_invoice, apply_invoice_paid),
    "invoice.payment_failed": Handler(fetch_invoice, apply_invoice_failed),
    "charge.refunded": Handler(fetch_charge, apply_charge_refunded),
}


# Receiving ----------------------------------------------------------------------------


def receive(payload: bytes | str, signature: str | None) -> Outcome:
    """Handle one webhook delivery; returns an Outcome (HTTP status and why)."""
    try:
        event = stripe_api.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except SignatureError as error:
        logger.warning("Refused a webhook: %s", error)
        return Outcome(400, "forged")
    # Nearly every delivery is of a new event: it is handled without looking
    # for its row first. One already stored is found out when storing it
    # clashes, and handled again as stored (see `handle`).
    return handle(event, stored=False)


class _StoredMeanwhile(Exception):
    """A concurrent delivery stored the event first."""


def _status(event: Event) -> str | None:
    status: str | None = actions.one(
        StripeEvent.objects.filter(event_id=event["id"]).values_list("status", flat=True)
    )
    return status


def _locked_event_row(event: Event) -> StripeEvent:
    """The stored event's row, locked until the transaction ends."""
    return StripeEvent.objects.select_for_update(of=("self",)).get(event_id=event["id"])


def _store_processed(event: Event) -> None:
    """Store a new event as processed, at the end of the transaction that
    applied it. Its unique key is the lock: a concurrent delivery of the same
    event that applied it too waits here until this one commits, then fails
    and rolls its whole transaction back (see `handle`)."""
    try:
        # No savepoint: on a clash the whole transaction is rolled back.
        StripeEvent.objects.create(
            event_id=event["id"],
            type=event["type"],
            payload=event,
            status=StripeEvent.Status.PROCESSED,
            attempts=1,
            processed_at=timezone.now(),
        )
    except IntegrityError:
        raise _StoredMeanwhile


@contextmanager
def _one_sqlite_writer_at_a_time() -> Iterator[None]:
    """On SQLite, wait for the one writer's turn on a file lock.

    SQLite lets one connection write at a time, and a connection that finds
    the database locked polls it with growing sleeps (up to 100 ms each), so
    under a burst of webhooks most of the time goes to sleeping while the
    lock is free. Queueing webhook transactions on an flock instead hands the
    turn straight to the next worker process. Other databases lock rows.
    """
    connection = connections["default"]
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or fcntl is None or "memory" in name:
        yield
        return
    with open(f"{name}.webhook-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def malformed(event: Event) -> str:
    """Why no delivery of this event could ever be handled, or "" if it can."""
    event_type = event.get("type")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        return "The event has no type."
    if event_type in HANDLERS:
        data = event.get("data")
        thing = data.get("object") if isinstance(data, dict) else None
        if not isinstance(thing, dict) or not isinstance(thing.get("id"), str) or not thing["id"]:
            return f"A {event_type} event without the object it is about (data.object.id)."
    return ""


def handle(event: Event, stored: bool = True) -> Outcome:
    """Fetch what the event is about, then apply it and mark the event
    processed in one transaction. A failure is stored on the event's row.
    `stored` says whether the event may already have a row."""
    if stored and _status(event) == StripeEvent.Status.PROCESSED:
        return Outcome(200, "duplicate")
    reason = malformed(event)
    if reason:
        # Stripe would retry a 4xx or 5xx for days: answered 200, recorded as
        # failed, for a person to look at.
        logger.error("Webhook %s is malformed: %s", event["id"], reason)
        _record_failure(event, f"Malformed event: {reason}", StripeEvent.Status.MALFORMED)
        return Outcome(200, "malformed")
    handler = HANDLERS.get(event["type"])
    try:
        fetched = handler.fetch(event) if handler else None
        with _one_sqlite_writer_at_a_time(), transaction.atomic():
            row = _locked_event_row(event) if stored else None
            if row is not None and row.status == StripeEvent.Status.PROCESSED:
                return Outcome(200, "duplicate")
            if handler is not None:
                handler.apply(event, fetched)
            if row is None:
                _store_processed(event)
            else:
                row.status = StripeEvent.Status.PROCESSED
                row.error = ""
                row.attempts += 1
                row.processed_at = timezone.now()
                row.save(update_fields=["status", "error", "attempts", "processed_at"])
    except _StoredMeanwhile:
        return handle(event, stored=True)
    except Exception as error:
        if not stored and _status(event) == StripeEvent.Status.PROCESSED:
            # A redelivery of an event handled before, which would not apply
            # now (Stripe unreachable, say): it was handled, all the same.
            return Outcome(200, "duplicate")
        logger.exception("Webhook %s (%s) failed", event.get("id"), event.get("type"))
        _record_failure(
            event, f"{error.__class__.__name__}: {error}\n{traceback.format_exc(limit=5)}"
        )
        return Outcome(500, "failed")
    return Outcome(200, "processed" if handler else "ignored")


def _record_failure(event: Event, message: str, status: str = StripeEvent.Status.FAILED) -> None:
    message = message[:5000]
    pending = StripeEvent.objects.filter(event_id=event["id"]).exclude(
        status=StripeEvent.Status.PROCESSED
    )
    if pending.update(status=status, error=message, attempts=F("attempts") + 1):
        return
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event["id"],
                type=str(event.get("type", ""))[:100],
                payload=event,
                status=status,
                error=message,
                attempts=1,
            )
    except IntegrityError:
        pending.update(status=status, error=message, attempts=F("attempts") + 1)


def process(stored: StripeEvent) -> Outcome:
    """Handle a stored event again (a retry of one that failed)."""
    return handle(stored.payload)


def retry_failed(limit: int = 100) -> list[tuple[str, Outcome]]:
    """Handle again the events whose handling failed (the reconciliation's job
    when Stripe has given up retrying). Malformed events are not among them:
    they would fail the same way, and take the places of those that may not."""
    outcomes: list[tuple[str, Outcome]] = []
    for stored in StripeEvent.objects.filter(status=StripeEvent.Status.FAILED).order_by(
        "received_at"
    )[:limit]:
        outcomes.append((stored.event_id, process(stored)))
    return outcomes
