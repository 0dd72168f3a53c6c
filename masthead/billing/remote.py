"""Stripe's objects as Masthead reads them.

`stripe_api` turns Stripe's JSON into these; `testmode` makes the same ones
without Stripe. Everything downstream (fulfilment, webhooks, refunds, the
reconciliation) works with these and never with Stripe's shapes.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def from_timestamp(value: int | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


class GatewayError(Exception):
    """A payment provider call failed. `code` is Stripe's error code when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or ""
        self.http_status = http_status
        self.retryable = retryable


class CardDeclined(GatewayError):
    pass


class SignatureError(Exception):
    """A webhook whose signature or timestamp does not verify."""


@dataclass(frozen=True)
class Buyer:
    """Who paid, as an invoice names them: their name (or business's), email,
    billing address (Stripe's keys: line1, city, postal_code, country...),
    and tax ID (its value, such as a VAT number)."""

    name: str = ""
    email: str = ""
    address: dict[str, str] = field(default_factory=dict)
    tax_id: str = ""

    @property
    def country(self) -> str:
        return (self.address.get("country") or "").upper()


@dataclass(frozen=True)
class RemoteSubscription:
    id: str
    customer_id: str
    status: str  # Stripe's status
    price_id: str
    item_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    trial_end: datetime | None = None
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    ended_at: datetime | None = None
    # An organisation's seats; "send_invoice" for one that pays by invoice.
    quantity: int = 1
    collection_method: str = "charge_automatically"

    @property
    def member_id(self) -> int | None:
        value = self.metadata.get("member_id")
        return int(value) if value and str(value).isdigit() else None


@dataclass(frozen=True)
class RemoteInvoice:
    id: str
    status: str
    subscription_id: str
    customer_id: str
    amount_paid: int
    currency: str
    paid_at: datetime | None = None
    billing_reason: str = ""
    hosted_invoice_url: str = ""
    number: str = ""
    tax: int = 0  # the part of amount_paid that is tax
    customer: Buyer | None = None  # as the invoice names them


@dataclass(frozen=True)
class RemotePayment:
    """Where an invoice's money came from, for refunding it."""

    payment_intent_id: str = ""
    charge_id: str = ""


@dataclass(frozen=True)
class RemoteCheckout:
    id: str
    url: str
    mode: str  # "subscription" or "payment"
    status: str  # "open", "complete", "expired"
    payment_status: str  # "paid", "unpaid", "no_payment_required"
    client_reference_id: str = ""
    customer_id: str = ""
    subscription_id: str = ""
    payment_intent_id: str = ""
    amount_total: int = 0
    currency: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    shipping: dict[str, Any] | None = None  # {"name":..., "address": {...}} as Stripe names them
    amount_tax: int = 0  # the part of amount_total that is tax
    customer: Buyer | None = None  # the details the buyer gave at checkout
    # The promotion code the buyer typed on Stripe's page, or Masthead gave.
    promotion_code_id: str = ""

    @property
    def is_paid(self) -> bool:
        return self.status == "complete" and self.payment_status in ("paid", "no_payment_required")


@dataclass(frozen=True)
class RemoteRefund:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class RemoteCharge:
    id: str
    payment_intent_id: str
    amount: int
    amount_refunded: int
