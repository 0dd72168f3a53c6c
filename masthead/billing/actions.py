"""Every billing state change, one function each.

Calls to Stripe (or to test mode) happen outside database transactions; what
they return is then stored in a short transaction that locks the rows it
changes, writes an audit row, and leaves emails and hooks to run on commit.
The webhook handlers, the checkout success page, the account page's buttons
and the nightly reconciliation all store Stripe's state through
`store_subscription` and `store_invoice`, so a subscription comes out the
same whichever of them gets there first.
"""

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.http import urlencode

from masthead.core.email import send_email

from . import gateway
from .models import (
    BillingAuditLog,
    BillingSettings,
    Gift,
    Invoice,
    IssuePurchase,
    Offer,
    Payment,
    Plan,
    Price,
    Refund,
    Subscription,
    by_stripe_id,
    format_money,
    hash_token,
)
from .remote import (
    Buyer,
    GatewayError,
    RemoteCharge,
    RemoteCheckout,
    RemoteInvoice,
    RemoteSubscription,
)

if TYPE_CHECKING:
    from datetime import date

    from django.contrib.auth.models import AnonymousUser

    from masthead.accounts.models import User
    from masthead.issues.models import IssuePage

    from .models import Organisation, OrganisationSeat

logger = logging.getLogger(__name__)
Row = TypeVar("Row")

REFUND_WINDOW = timedelta(days=60)
GIFT_REDEEM_WINDOW = timedelta(days=365)

# Called as hook(member, subscription) after a refund has ended a member's
# access, once the transaction commits. Apps that hand out long-lived access
# (feed tokens, download links) append a callable here from AppConfig.ready().
ACCESS_REVOKED_HOOKS: list[Callable[..., object]] = []

# Called as hook(subscription, from_article) once a subscription's checkout
# is fulfilled, after the transaction commits; `from_article` is the page id
# of the article whose paywall the checkout began from, or None. Insights
# counts checkouts by article with it (registered from its ready()).
CHECKOUT_FULFILLED_HOOKS: list[Callable[..., object]] = []

STATUS_FROM_STRIPE = {
    "incomplete": Subscription.Status.INCOMPLETE,
    "incomplete_expired": Subscription.Status.CANCELED,
    "trialing": Subscription.Status.TRIALING,
    "active": Subscription.Status.ACTIVE,
    "past_due": Subscription.Status.PAST_DUE,
    "unpaid": Subscription.Status.UNPAID,
    "paused": Subscription.Status.UNPAID,
    "canceled": Subscription.Status.CANCELED,
}


class BillingError(Exception):
    """A request the rules refuse; the message is written for the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MemberNotFound(Exception):
    """A Stripe subscription that names no member Masthead knows (yet)."""


def audit(
    action: str,
    *,
    member: "User | None" = None,
    subscription: Subscription | None = None,
    actor: "User | None" = None,
    **detail: object,
) -> BillingAuditLog:
    return BillingAuditLog.objects.create(
        action=action,
        member=member if member is not None else getattr(subscription, "member", None),
        subscription=subscription,
        actor=actor,
        detail=detail,
    )


def absolute_url(path: str) -> str:
    return settings.SITE_URL + path


def display_date(value: datetime | None) -> str:
    return format_date(timezone.localtime(value), "F j, Y") if value else ""


def _email_context(subscription: Subscription, **extra: object) -> dict[str, object]:
    member = subscription.member
    return {
        "name": member.get_short_name() if member else "",
        "plan": subscription.plan.name,
        "includes_print": subscription.plan.includes_print,
        "period_end": display_date(subscription.current_period_end or subscription.ends_at),
        "account_url": absolute_url("/account/"),
        **extra,
    }


def _notify(template: str, subscription: Subscription, **extra: object) -> None:
    if subscription.member and subscription.member.email:
        send_email(template, subscription.member.email, _email_context(subscription, **extra))


# Looking things up ---------------------------------------------------------------


def one(queryset: "QuerySet[Any, Row]") -> Row | None:
    """The row a unique lookup finds, or None: `first()` without the ORDER BY
    it would add (the webhook path runs these on every event)."""
    return next(iter(queryset.order_by()[:1]), None)


def find_price_ids(price_id: str | None) -> tuple[int, int] | None:
    """(price pk, plan pk) of our Price for a Stripe price id (or a test-mode
    one), or None for a price that is not ours."""
    if not price_id:
        return None
    prices: QuerySet[Price, tuple[int, int]] = Price.objects.values_list("pk", "plan_id")
    if price_id.startswith("tm_price_"):
        pk = price_id.removeprefix("tm_price_")
        return one(prices.filter(pk=pk)) if pk.isdigit() else None
    return one(by_stripe_id(prices, "stripe_price_id", price_id))


def live_subscription(member: "User | AnonymousUser | None") -> Subscription | None:
    """The member's paid subscription that still bills, if any."""
    if member is None or not member.is_authenticated:
        return None
    return (
        Subscription.objects.live()
        .filter(member=member)
        .exclude(status=Subscription.Status.INCOMPLETE)
        .select_related("plan", "price")
        .order_by("-created_at")
        .first()
    )


def _resolve_member(remote: RemoteSubscription, member_hint: object) -> "User":
    from masthead.accounts.models import User

    for candidate in (member_hint, remote.member_id):
        if candidate and str(candidate).isdigit():
            member: User | None = User.objects.filter(pk=int(str(candidate))).first()
            if member is not None:
                return member
    if remote.customer_id:
        known = (
            Subscription.objects.filter(stripe_customer_id=remote.customer_id, member__isnull=False)
            .select_related("member")
            .first()
        )
        if known is not None and known.member is not None:
            return known.member
    raise MemberNotFound(
        f"Subscription {remote.id} (customer {remote.customer_id or '-'}) names no known member."
    )


# Storing Stripe's state ---------------------------------------------------------------


@dataclass
class Stored:
    subscription: Subscription
    created: bool
    changes: dict[str, tuple[str, str]]


TRACKED_FIELDS = (
    "status",
    "price_id",
    "cancel_at_period_end",
    "current_period_end",
    "canceled_at",
    "ended_at",
)
STORED_FIELDS = (
    "plan_id",
    "price_id",
    "stripe_customer_id",
    "stripe_item_id",
    "status",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "payment_failed_at",
    "stripe_synced_at",
)


def store_subscription(
    remote: RemoteSubscription, *, fetched_at: datetime, member_hint: object = None
) -> Stored | None:
    """Store `remote` (fetched from Stripe at `fetched_at`). Call inside a
    transaction. Returns a `Stored`, or None for a price that is not ours.

    A fetch older than the one already stored is ignored, so webhooks that
    arrive out of order cannot move a subscription back in time.
    """
    subscription = one(
        by_stripe_id(
            Subscription.objects.select_for_update(of=("self",)).select_related(
                "member", "plan", "price"
            ),
            "stripe_subscription_id",
            remote.id,
        )
    )
    if (
        subscription is not None
        and subscription.price
        and subscription.price.stripe_price_id == remote.price_id
    ):
        # No change of price: no lookup.
        ids: tuple[int, int] | None = (subscription.price.pk, subscription.plan_id)
    else:
        ids = find_price_ids(remote.price_id)
    if ids is None:
        logger.info("Ignoring subscription %s: price %s is not ours", remote.id, remote.price_id)
        return None
    price_pk, plan_pk = ids
    created = subscription is None
    before: dict[str, object]
    if subscription is None:
        if remote.metadata.get("kind") == ORGANISATION_KIND:
            # Seats bought by card: the checkout's fulfilment makes the row
            # with its organisation; Stripe's events about it before then
            # have nothing to update.
            return None
        member = _resolve_member(remote, member_hint)
        subscription = Subscription(member=member, stripe_subscription_id=remote.id)
        before = {}
    else:
        if subscription.stripe_synced_at and fetched_at < subscription.stripe_synced_at:
            return Stored(subscription, False, {})
        before = {name: getattr(subscription, name) for name in STORED_FIELDS}

    was_cancelling = subscription.cancel_at_period_end
    subscription.plan_id = plan_pk
    subscription.price_id = price_pk
    subscription.stripe_customer_id = remote.customer_id or subscription.stripe_customer_id
    subscription.stripe_item_id = remote.item_id or subscription.stripe_item_id
    if subscription.status != Subscription.Status.REFUNDED:
        subscription.status = STATUS_FROM_STRIPE.get(remote.status, Subscription.Status.INCOMPLETE)
    subscription.current_period_start = remote.current_period_start
    subscription.current_period_end = remote.current_period_end
    subscription.trial_end = remote.trial_end
    subscription.cancel_at_period_end = remote.cancel_at_period_end
    subscription.canceled_at = remote.canceled_at
    subscription.ended_at = remote.ended_at
    if subscription.status == Subscription.Status.ACTIVE:
        subscription.payment_failed_at = None
    subscription.stripe_synced_at = fetched_at
    if created:
        try:
            with transaction.atomic():
                subscription.save()
        except IntegrityError:
            # A concurrent transaction stored it first (PostgreSQL lets both
            # look before either inserts): store onto its row instead.
            return store_subscription(remote, fetched_at=fetched_at, member_hint=member_hint)
    else:
        changed = [name for name in STORED_FIELDS if before[name] != getattr(subscription, name)]
        subscription.save(update_fields=changed)

    changes = {
        name: (str(before.get(name)), str(getattr(subscription, name)))
        for name in TRACKED_FIELDS
        if before.get(name) != getattr(subscription, name)
    }
    if created:
        audit("subscription_created", subscription=subscription, stripe_id=remote.id)
        others = (
            Subscription.objects.live()
            .filter(member=subscription.member)
            .exclude(pk=subscription.pk)
            .exclude(status=Subscription.Status.INCOMPLETE)
        )
        if subscription.status in Subscription.LIVE_STATUSES and others.exists():
            audit(
                "duplicate_subscription",
                subscription=subscription,
                others=[other.stripe_subscription_id for other in others],
            )
    elif set(changes) - {"current_period_end"}:
        # A renewal (only the period moved) is recorded by its payment.
        audit("subscription_updated", subscription=subscription, changes=changes)

    if subscription.welcomed_at is None and subscription.status in (
        Subscription.Status.ACTIVE,
        Subscription.Status.TRIALING,
    ):
        subscription.welcomed_at = timezone.now()
        subscription.save(update_fields=["welcomed_at"])
        _notify("billing_welcome", subscription, trial=subscription.status == "trialing")
    if subscription.cancel_at_period_end and not was_cancelling and not created:
        _notify("billing_cancellation", subscription)
    return Stored(subscription, created, changes)


def store_invoice(subscription: Subscription, invoice: RemoteInvoice) -> Payment | None:
    """Record a paid invoice as a Payment, once. Call inside a transaction that
    holds the subscription's row. Returns the Payment, or None for an invoice
    that took no money (a trial's)."""
    if invoice.status != "paid" or invoice.amount_paid <= 0:
        return None
    paid_at = invoice.paid_at or timezone.now()
    try:
        # Recorded already (the success page and the webhook both fulfil a
        # checkout)? The invoice's unique key says so, for less than a look
        # first would cost: nearly every invoice is new.
        with transaction.atomic():
            payment = Payment.objects.create(
                stripe_invoice_id=invoice.id,
                subscription=subscription,
                member=subscription.member,
                amount=invoice.amount_paid,
                tax_amount=min(invoice.tax, invoice.amount_paid),
                currency=invoice.currency,
                paid_at=paid_at,
            )
    except IntegrityError:
        return by_stripe_id(Payment.objects, "stripe_invoice_id", invoice.id).get()
    issued = issue_invoice(
        payment,
        description=f"{subscription.plan.name} subscription",
        buyer=invoice.customer,
        ships_print=subscription.plan.includes_print,
    )
    fields = []
    if subscription.payment_failed_at is not None:
        subscription.payment_failed_at = None
        fields.append("payment_failed_at")
    if subscription.first_paid_at is None or paid_at < subscription.first_paid_at:
        subscription.first_paid_at = paid_at
        fields.append("first_paid_at")
    if fields:
        subscription.save(update_fields=fields)
    audit(
        "payment_received",
        subscription=subscription,
        invoice=invoice.id,
        amount=invoice.amount_paid,
        currency=invoice.currency,
    )
    _notify(
        "billing_receipt",
        subscription,
        amount=format_money(invoice.amount_paid, invoice.currency),
        tax=format_money(payment.tax_amount, invoice.currency) if payment.tax_amount else "",
        paid_on=display_date(paid_at),
        invoice_number=issued.reference,
        invoice_url=absolute_url(reverse("billing:invoice_pdf", args=[issued.number])),
    )
    return payment


# Invoices ---------------------------------------------------------------------------------


def seller_details() -> tuple[str, str, str]:
    """(name, address, tax ID) of the seller, as the publisher set them in
    the billing settings; the magazine's publisher when no name is set."""
    from wagtail.models import Site

    from masthead.core.models import MagazineSettings

    billing_settings: BillingSettings = BillingSettings.load()
    name = billing_settings.seller_name
    if not name:
        site = Site.objects.filter(is_default_site=True).first()
        magazine = MagazineSettings.for_site(site) if site else MagazineSettings()
        name = magazine.publisher or magazine.name
    return name, billing_settings.seller_address, billing_settings.seller_tax_id


def _address_text(address: Mapping[str, str]) -> str:
    from masthead.accounts.countries import COUNTRIES

    locality = " ".join(
        part
        for part in (address.get("city"), address.get("state"), address.get("postal_code"))
        if part
    )
    country = address.get("country", "")
    lines = (address.get("line1"), address.get("line2"), locality, COUNTRIES.get(country, country))
    return "\n".join(line for line in lines if line)


def issue_invoice(
    payment: Payment, *, description: str, buyer: Buyer | None, ships_print: bool = False
) -> Invoice:
    """Number and issue the invoice for `payment`, once. Call inside the
    transaction that records the payment. The buyer's details are those
    they gave at checkout, else their account's; tax is owed where print
    copies ship to, else where the buyer is."""
    from masthead.accounts.models import ShippingAddress

    existing = Invoice.objects.filter(payment=payment).first()
    if existing is not None:
        return existing
    member = payment.member
    shipping = ShippingAddress.objects.filter(user=member).first() if member is not None else None
    last = (
        Invoice.objects.filter(payment__subscription_id=payment.subscription_id).first()
        if buyer is None and payment.subscription_id is not None
        else None
    )
    if last is not None:
        # A renewal: billed to whoever the subscription's last invoice was.
        name, email, tax_id = last.buyer_name, last.buyer_email, last.buyer_tax_id
        address, tax_country = last.buyer_address, last.tax_country
    else:
        buyer = buyer or Buyer()
        name, email, tax_id = buyer.name, buyer.email, buyer.tax_id
        address, tax_country = _address_text(buyer.address), buyer.country
    if not address and shipping is not None:
        address = "\n".join(shipping.lines())
    if ships_print and shipping is not None:
        tax_country = shipping.country
    seller_name, seller_address, seller_tax_id = seller_details()
    billing_settings: BillingSettings = BillingSettings.load()
    fields = {
        "payment": payment,
        "member": member,
        "issued_at": payment.paid_at,
        "description": description[:200],
        "currency": payment.currency,
        "total": payment.amount,
        "tax_amount": payment.tax_amount,
        "prices_include_tax": billing_settings.prices_include_tax,
        "tax_country": tax_country[:2],
        "seller_name": seller_name,
        "seller_address": seller_address,
        "seller_tax_id": seller_tax_id,
        "buyer_name": name or (member.get_full_name() if member else ""),
        "buyer_email": email or (member.email if member else ""),
        "buyer_address": address,
        "buyer_tax_id": tax_id[:50],
    }
    # Numbers run in sequence without repeats: the next one after the
    # highest, and again should another transaction take it first (the
    # unique key says so).
    for _attempt in range(5):
        number = (Invoice.objects.aggregate(highest=Max("number"))["highest"] or 0) + 1
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(number=number, **fields)
        except IntegrityError:
            continue
        audit(
            "invoice_issued",
            member=member,
            subscription=payment.subscription,
            invoice=invoice.reference,
            payment=payment.pk,
            tax=payment.tax_amount,
        )
        return invoice
    raise IntegrityError(f"No invoice number could be taken for payment {payment.pk}.")


def store_payment_failure(subscription: Subscription, invoice_id: str) -> bool:
    """Note a failed renewal (once per episode) and tell the member."""
    if by_stripe_id(Payment.objects, "stripe_invoice_id", invoice_id).exists():
        return False  # a late failure for an invoice that has since been paid
    if subscription.payment_failed_at is not None:
        return False
    subscription.payment_failed_at = timezone.now()
    subscription.save(update_fields=["payment_failed_at"])
    audit("payment_failed", subscription=subscription, invoice=invoice_id)
    grace = BillingSettings.load().payment_grace_days
    _notify(
        "billing_payment_failed",
        subscription,
        grace_days=grace,
        access_until=display_date(subscription.payment_failed_at + timedelta(days=grace)),
    )
    return True


def store_shipping_address(
    member: "User", shipping: Mapping[str, Any], subscription: Subscription | None = None
) -> bool:
    """Keep the address Checkout collected, through accounts' rules. An address
    they refuse is noted for staff rather than failing the payment."""
    from masthead.accounts.actions import update_shipping_address

    address = dict(shipping.get("address") or {})
    fields = {
        key: address.get(key) or ""
        for key in ("line1", "line2", "city", "state", "postal_code", "country")
    }
    fields["name"] = shipping.get("name") or ""
    try:
        update_shipping_address(member, source="checkout", **fields)
    except ValidationError as error:
        audit(
            "shipping_address_refused",
            member=member,
            subscription=subscription,
            errors=error.message_dict if hasattr(error, "message_dict") else error.messages,
        )
        return False
    return True


# Checkout ----------------------------------------------------------------------------


def shipping_countries() -> list[str]:
    billing_settings: BillingSettings = BillingSettings.load()
    return billing_settings.shipping_country_codes()


def tax_enabled() -> bool:
    billing_settings: BillingSettings = BillingSettings.load()
    return billing_settings.tax_enabled


def tax_note() -> str:
    """What the prices on offer mean for tax, said next to them; "" when the
    publisher collects none."""
    billing_settings: BillingSettings = BillingSettings.load()
    if not billing_settings.tax_enabled:
        return ""
    if billing_settings.prices_include_tax:
        return "Prices include sales tax or VAT where it applies."
    return "Sales tax or VAT is added at checkout where it applies."


def start_checkout(
    member: "User",
    price: Price,
    from_article: int | None = None,
    *,
    return_to: str = "",
    offer: Offer | None = None,
) -> str:
    """Begin subscribing `member` to `price`, with `offer` if given; returns
    the URL to send them to. `from_article`: the page id of the article whose
    paywall led here, kept with the checkout. `return_to`, a path on this
    site (that article), is where the success page sends them once they
    have paid."""
    if not price.active or not price.plan.active:
        raise BillingError("That plan is no longer offered.")
    current = live_subscription(member)
    if current is not None:
        raise BillingError(
            f"You already subscribe to {current.plan.name}. "
            "Change plans from your account page instead."
        )
    if offer is not None:
        problem = offer.refusal(price)
        if problem:
            raise BillingError(problem)
        if offer.is_trial and Subscription.objects.paid().filter(member=member).exists():
            raise BillingError("Free trials are for new subscribers.")
    metadata = {"member_id": str(member.pk), "price_id": str(price.pk), "kind": "subscription"}
    if from_article:
        metadata["from_article"] = str(from_article)
    if offer is not None:
        metadata["offer_id"] = str(offer.pk)
    countries = shipping_countries() if price.plan.includes_print else []
    if gateway.test_mode():
        from . import testmode

        url = testmode.checkout_url(
            testmode.new_session(
                member=member.pk,
                price=price.pk,
                from_article=from_article,
                return_to=return_to,
                offer=offer.pk if offer else None,
            )
        )
        _count_offer_checkout(offer)
        return url
    if not price.stripe_price_id:
        raise BillingError("That plan is not set up for payments yet.")
    known_customer = (
        Subscription.objects.filter(member=member)
        .exclude(stripe_customer_id="")
        .exclude(stripe_customer_id__startswith="tm_")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    from . import stripe_api

    promotion_code_id = ""
    if offer is not None and not offer.is_trial:
        promotion_code_id = put_offer_on_stripe(offer).stripe_promotion_code_id
    trial_days = offer.trial_days or 0 if offer is not None and offer.is_trial else price.trial_days
    checkout = stripe_api.create_subscription_checkout(
        price_id=price.stripe_price_id,
        member_id=member.pk,
        email=member.email,
        customer_id=known_customer or "",
        success_url=success_url(reverse("billing:success"), "{CHECKOUT_SESSION_ID}", return_to),
        cancel_url=absolute_url(reverse("billing:checkout_cancel")),
        metadata=metadata,
        trial_days=trial_days,
        trial_without_card=offer is not None
        and offer.is_trial
        and offer.trial_end == Offer.TrialEnd.CANCEL,
        promotion_code_id=promotion_code_id,
        shipping_countries=countries,
        automatic_tax=tax_enabled(),
    )
    audit(
        "checkout_started",
        member=member,
        actor=member,
        session=checkout.id,
        price=price.pk,
        offer=offer.pk if offer else None,
    )
    _count_offer_checkout(offer)
    return checkout.url


def success_url(path: str, session_id: str, return_to: str = "") -> str:
    """The address a paid checkout comes back to: `path` with the session's
    id, and where to go next when the checkout began in front of an article."""
    query = f"?session_id={session_id}"
    if return_to:
        query += "&" + urlencode({"next": return_to})
    return absolute_url(path) + query


@dataclass
class CheckoutState:
    """What a completed Checkout Session led to, as fetched from Stripe."""

    checkout: RemoteCheckout
    subscription: RemoteSubscription | None
    invoices: list[RemoteInvoice]
    fetched_at: datetime


def fetch_checkout(session_id: str) -> CheckoutState:
    """Everything needed to fulfil a Checkout Session (network; no transaction)."""
    backend = gateway.for_id(session_id)
    fetched_at = timezone.now()
    checkout = backend.retrieve_checkout(session_id)
    remote = None
    invoices = []
    if checkout.mode == "subscription" and checkout.subscription_id:
        remote = backend.retrieve_subscription(checkout.subscription_id)
        if checkout.is_paid:
            invoices = backend.list_paid_invoices(remote.id)
    return CheckoutState(checkout, remote, invoices, fetched_at)


Fulfilled = Subscription | Gift | IssuePurchase


def apply_checkout(state: CheckoutState) -> Fulfilled | None:
    """Fulfil a fetched checkout. Call inside a transaction. Idempotent: the
    webhook and the success page may both arrive, in either order, twice."""
    checkout = state.checkout
    if not checkout.is_paid:
        return None
    if checkout.mode == "payment" and checkout.metadata.get("kind") == "gift":
        return fulfil_gift(checkout)
    if checkout.mode == "payment" and checkout.metadata.get("kind") == ISSUE_KIND:
        return fulfil_issue_purchase(checkout)
    if checkout.metadata.get("kind") == ORGANISATION_KIND:
        return fulfil_organisation_checkout(state)
    if state.subscription is None:
        return None
    stored = store_subscription(
        state.subscription,
        fetched_at=state.fetched_at,
        member_hint=checkout.client_reference_id,
    )
    if stored is None:
        return None
    subscription = stored.subscription
    first_fulfilment = not subscription.checkout_session_id
    member = subscription.member
    if first_fulfilment and checkout.shipping and subscription.plan.includes_print and member:
        # Before the invoices: their tax is owed where print copies go.
        store_shipping_address(member, checkout.shipping, subscription)
    for invoice in state.invoices:
        store_invoice(subscription, invoice)
    if first_fulfilment:
        subscription.checkout_session_id = checkout.id
        subscription.save(update_fields=["checkout_session_id"])
        offer = _checkout_offer(checkout)
        if offer is not None:
            redeem_offer(offer, subscription)
        from_article = (checkout.metadata or {}).get("from_article", "")
        transaction.on_commit(
            partial(
                run_checkout_fulfilled_hooks,
                subscription,
                int(from_article) if from_article.isdigit() else None,
            )
        )
    return subscription


def run_checkout_fulfilled_hooks(subscription: Subscription, from_article: int | None) -> None:
    for hook in list(CHECKOUT_FULFILLED_HOOKS):
        try:
            hook(subscription, from_article)
        except Exception:  # a count must never undo or fail a checkout
            logger.exception("Checkout hook %r failed", hook)


def fulfil_checkout(session_id: str) -> Fulfilled | None:
    """Fulfil a Checkout Session from the success page: the webhook's code path."""
    state = fetch_checkout(session_id)
    with transaction.atomic():
        return apply_checkout(state)


# Offers ---------------------------------------------------------------------------------


def find_offer(code: str) -> Offer | None:
    return Offer.objects.by_code(code)


def count_offer_view(offer: Offer) -> None:
    Offer.objects.filter(pk=offer.pk).update(views=F("views") + 1)


def _count_offer_checkout(offer: Offer | None) -> None:
    if offer is not None:
        Offer.objects.filter(pk=offer.pk).update(checkouts=F("checkouts") + 1)


def offer_prices(offer: Offer) -> list[tuple[Price, str]]:
    """The prices an offer is good for, each with what its first invoice
    costs with it, formatted."""
    prices = offer.prices.filter(active=True, plan__active=True).select_related("plan")
    return [
        (price, format_money(offer.discounted(price.amount, 0), price.currency))
        for price in prices.order_by("plan__sort_order", "plan__name", "-interval")
    ]


def _checkout_offer(checkout: RemoteCheckout) -> Offer | None:
    """The offer a checkout was bought with: the one Masthead started it
    with, or the one whose code the buyer typed on Stripe's page."""
    offer_id = str((checkout.metadata or {}).get("offer_id", ""))
    if offer_id.isdigit():
        return Offer.objects.filter(pk=offer_id).first()
    if checkout.promotion_code_id:
        return one(
            by_stripe_id(Offer.objects, "stripe_promotion_code_id", checkout.promotion_code_id)
        )
    return None


def redeem_offer(offer: Offer, subscription: Subscription) -> None:
    """Count a subscription bought with `offer`, once. Call inside the
    transaction that fulfils its checkout."""
    if subscription.offer_id is not None:
        return
    subscription.offer = offer
    subscription.save(update_fields=["offer"])
    Offer.objects.filter(pk=offer.pk).update(redemptions=F("redemptions") + 1)
    audit("offer_redeemed", subscription=subscription, offer=offer.pk, code=offer.code)


# What Stripe's coupon and promotion code carry of an offer.
OFFER_TERMS_ON_STRIPE = (
    "code",
    "kind",
    "percent_off",
    "amount_off",
    "currency",
    "duration",
    "duration_in_months",
    "ends_at",
    "max_redemptions",
    "active",
)


def offer_changed(offer: Offer, before: Offer, prices_before: set[int]) -> Offer:
    """The publisher edited an offer already on Stripe in a way Stripe's
    copy carries: its code stops working there, and an offer still on sale
    gets a new coupon and code at once, so a code typed on Stripe's page
    follows the offer as it is now."""
    changed = any(getattr(offer, name) != getattr(before, name) for name in OFFER_TERMS_ON_STRIPE)
    changed = changed or prices_before != set(offer.prices.values_list("pk", flat=True))
    if not changed or not offer.stripe_promotion_code_id or gateway.test_mode():
        return offer
    from . import stripe_api

    stripe_api.deactivate_promotion_code(offer.stripe_promotion_code_id)
    audit("offer_withdrawn_from_stripe", offer=offer.pk, code=offer.stripe_promotion_code_id)
    offer.stripe_coupon_id = offer.stripe_promotion_code_id = ""
    offer.save(update_fields=["stripe_coupon_id", "stripe_promotion_code_id"])
    if offer.refusal() is None and not offer.is_trial:
        put_offer_on_stripe(offer)
    return offer


def put_offer_on_stripe(offer: Offer) -> Offer:
    """Make the offer's coupon and promotion code on Stripe, once; a code
    typed on Stripe's checkout page then works too, within the offer's end
    date and cap, which Stripe enforces there."""
    if offer.stripe_promotion_code_id:
        return offer
    from . import stripe_api

    metadata = {"masthead_offer": str(offer.pk)}
    if not offer.stripe_coupon_id:
        products = sorted(
            {
                product
                for product in offer.prices.values_list("plan__stripe_product_id", flat=True)
                if product
            }
        )
        offer.stripe_coupon_id = stripe_api.create_coupon(
            name=offer.name,
            percent_off=offer.percent_off if offer.kind == Offer.Kind.PERCENT_OFF else None,
            amount_off=offer.amount_off if offer.kind == Offer.Kind.AMOUNT_OFF else None,
            currency=offer.currency,
            duration=offer.duration,
            duration_in_months=offer.duration_in_months,
            product_ids=products,
            metadata=metadata,
        )
        offer.save(update_fields=["stripe_coupon_id"])
    offer.stripe_promotion_code_id = stripe_api.create_promotion_code(
        coupon_id=offer.stripe_coupon_id,
        code=offer.code,
        expires_at=int(offer.ends_at.timestamp()) if offer.ends_at else None,
        max_redemptions=offer.max_redemptions,
        metadata=metadata,
    )
    offer.save(update_fields=["stripe_promotion_code_id"])
    audit("offer_created_on_stripe", offer=offer.pk, coupon=offer.stripe_coupon_id)
    return offer


# Trials -----------------------------------------------------------------------------------

TRIAL_REMINDER = timedelta(days=3)


def remind_trial_ending(subscription: Subscription, now: datetime | None = None) -> bool:
    """Tell a member on a free trial, a few days before it ends, what they
    will be charged and when (or that it ends, when it will be cancelled or
    asked no card). Once per subscription: call inside a transaction."""
    now = now or timezone.now()
    locked = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("member", "plan", "price", "offer")
        .get(pk=subscription.pk)
    )
    if (
        locked.status != Subscription.Status.TRIALING
        or locked.trial_end is None
        or locked.trial_reminded_at is not None
        or not now < locked.trial_end <= now + TRIAL_REMINDER
    ):
        return False
    locked.trial_reminded_at = now
    locked.save(update_fields=["trial_reminded_at"])
    price = locked.price
    offer = locked.offer
    audit("trial_reminder_sent", subscription=locked, trial_end=str(locked.trial_end))
    _notify(
        "billing_trial_ending",
        locked,
        trial_end=display_date(locked.trial_end),
        amount=price.display_amount if price else "",
        interval=price.interval if price else "",
        will_charge=not locked.cancel_at_period_end,
        card_optional=bool(offer and offer.is_trial and offer.trial_end == Offer.TrialEnd.CANCEL),
    )
    return True


def remind_trials_ending(now: datetime | None = None) -> list[Subscription]:
    """Nightly: remind every trial that ends within the next few days."""
    now = now or timezone.now()
    reminded = []
    due = Subscription.objects.filter(
        status=Subscription.Status.TRIALING,
        trial_reminded_at__isnull=True,
        trial_end__gt=now,
        trial_end__lte=now + TRIAL_REMINDER,
    )
    for subscription in due:
        with transaction.atomic():
            if remind_trial_ending(subscription, now):
                reminded.append(subscription)
    return reminded


# Changing a subscription -------------------------------------------------------------------


def _member_subscription(member: "User", *statuses: str) -> Subscription:
    subscription = live_subscription(member)
    if subscription is None or (statuses and subscription.status not in statuses):
        raise BillingError("You have no subscription to change.")
    return subscription


def _store_from(
    backend_call: Callable[[], RemoteSubscription], subscription: Subscription
) -> Subscription:
    fetched_at = timezone.now()
    remote = backend_call()
    with transaction.atomic():
        stored = store_subscription(remote, fetched_at=fetched_at)
    return stored.subscription if stored else subscription


def cancel_subscription(member: "User", reason: str = "") -> Subscription:
    """Stop renewing at the end of the paid period; access lasts until then."""
    subscription = _member_subscription(member)
    if subscription.cancel_at_period_end:
        return subscription
    backend = gateway.for_subscription(subscription)
    subscription = _store_from(
        lambda: backend.set_cancel_at_period_end(subscription.stripe_subscription_id, True),
        subscription,
    )
    with transaction.atomic():
        subscription.cancellation_reason = " ".join(reason.split())[:200]
        subscription.save(update_fields=["cancellation_reason"])
        audit(
            "cancel_requested",
            subscription=subscription,
            actor=member,
            reason=subscription.cancellation_reason,
            access_until=str(subscription.current_period_end),
        )
    return subscription


def retention_offer(subscription: Subscription | None) -> str:
    """The retention offer a subscriber about to cancel may take, in their
    words, or "" when there is none for them: the publisher offers none, the
    subscription is not a paying monthly one (months off a yearly price
    would reach no invoice), or they took it before."""
    if (
        subscription is None
        or subscription.status != Subscription.Status.ACTIVE
        or subscription.price is None
        or subscription.price.interval != Price.Interval.MONTH
        or subscription.cancel_at_period_end
        or subscription.retention_accepted_at is not None
    ):
        return ""
    billing_settings: BillingSettings = BillingSettings.load()
    return billing_settings.retention_offer


def accept_retention_offer(member: "User", reason: str = "") -> Subscription:
    """Stay instead of cancelling, at the publisher's retention price (so
    much off for so many months), with the reason they gave for leaving."""
    subscription = _member_subscription(member, Subscription.Status.ACTIVE)
    if not retention_offer(subscription):
        raise BillingError("This offer is not available on your subscription.")
    billing_settings: BillingSettings = BillingSettings.load()
    percent_off = billing_settings.retention_percent_off
    months = billing_settings.retention_months
    backend = gateway.for_subscription(subscription)
    subscription = _store_from(
        lambda: backend.give_discount(
            subscription.stripe_subscription_id, percent_off=percent_off, months=months
        ),
        subscription,
    )
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update(of=("self",)).get(pk=subscription.pk)
        if subscription.retention_accepted_at is not None:
            return subscription  # a double click: recorded once
        subscription.retention_accepted_at = timezone.now()
        subscription.retention_percent_off = percent_off
        subscription.retention_months = months
        subscription.cancellation_reason = " ".join(reason.split())[:200]
        subscription.save(
            update_fields=[
                "retention_accepted_at",
                "retention_percent_off",
                "retention_months",
                "cancellation_reason",
            ]
        )
        audit(
            "retention_offer_accepted",
            subscription=subscription,
            actor=member,
            reason=subscription.cancellation_reason,
            percent_off=percent_off,
            months=months,
        )
    return subscription


def resume_subscription(member: "User") -> Subscription:
    """Undo a cancellation before the period ends."""
    subscription = _member_subscription(member)
    if not subscription.cancel_at_period_end:
        return subscription
    if subscription.current_period_end and subscription.current_period_end <= timezone.now():
        raise BillingError("This subscription has already ended. Subscribe again to come back.")
    backend = gateway.for_subscription(subscription)
    subscription = _store_from(
        lambda: backend.set_cancel_at_period_end(subscription.stripe_subscription_id, False),
        subscription,
    )
    with transaction.atomic():
        subscription.cancellation_reason = ""
        subscription.save(update_fields=["cancellation_reason"])
        audit("resumed", subscription=subscription, actor=member)
    return subscription


def member_has_shipping_address(member: "User") -> bool:
    from masthead.accounts.models import ShippingAddress

    return ShippingAddress.objects.filter(user=member).exists()


def switch_plan(member: "User", price: Price) -> Subscription:
    """Move a live subscription to another plan or interval (prorated)."""
    subscription = _member_subscription(
        member, Subscription.Status.ACTIVE, Subscription.Status.TRIALING
    )
    if subscription.price_id == price.pk:
        return subscription
    if not price.active or not price.plan.active:
        raise BillingError("That plan is no longer offered.")
    if price.plan.includes_print and not member_has_shipping_address(member):
        raise BillingError("Add a shipping address on your account page before adding print.")
    backend = gateway.for_subscription(subscription)
    target = f"tm_price_{price.pk}" if subscription.is_test_mode else price.stripe_price_id
    if not target:
        raise BillingError("That plan is not set up for payments yet.")
    old_price = subscription.price
    subscription = _store_from(
        lambda: backend.switch_price(
            subscription.stripe_subscription_id,
            item_id=subscription.stripe_item_id,
            price_id=target,
        ),
        subscription,
    )
    audit(
        "plan_switched",
        subscription=subscription,
        actor=member,
        old_price=str(old_price) if old_price else "",
        new_price=str(price),
        # The dashboard's revenue history reads which price ran when.
        old_price_id=old_price.pk if old_price else None,
        new_price_id=price.pk,
    )
    return subscription


def portal_url(member: "User", return_url: str) -> str | None:
    """A Stripe Customer Portal link for the member's payment method and
    invoices; None in test mode or before they have a Stripe customer."""
    subscription = (
        Subscription.objects.filter(member=member)
        .exclude(stripe_customer_id="")
        .exclude(stripe_customer_id__startswith="tm_")
        .first()
    )
    if subscription is None or gateway.test_mode():
        return None
    from . import stripe_api

    return stripe_api.create_portal_session(
        customer_id=subscription.stripe_customer_id, return_url=return_url
    )


def cancel_for_deleted_member(user: "User") -> None:
    """Accounts' deletion hook: end the member's paid subscriptions now, so
    nobody is billed for an account that no longer exists."""
    for subscription in Subscription.objects.live().filter(member=user):
        backend = gateway.for_subscription(subscription)
        remote = backend.cancel_subscription(subscription.stripe_subscription_id)
        store_subscription(remote, fetched_at=timezone.now())
        audit("canceled_for_deletion", subscription=subscription, member=user)


# The 60-day money-back guarantee -------------------------------------------------------


REFUNDABLE_STATUSES = (
    Subscription.Status.ACTIVE,
    Subscription.Status.TRIALING,
    Subscription.Status.PAST_DUE,
    Subscription.Status.UNPAID,
    Subscription.Status.CANCELED,
)


def refund_deadline(subscription: Subscription | None) -> datetime | None:
    if subscription is None or subscription.first_paid_at is None:
        return None
    return subscription.first_paid_at + REFUND_WINDOW


def refundable_subscription(
    member: "User", now: datetime | None = None
) -> tuple[Subscription | None, str | None]:
    """(subscription, None) when the member may ask for their money back now,
    else (None or the subscription, the reason written for them)."""
    now = now or timezone.now()
    if Refund.objects.filter(member=member, status=Refund.Status.SUCCEEDED).exists():
        return None, "You have already used the 60-day money-back guarantee."
    subscription = (
        Subscription.objects.paid()
        .filter(member=member, status__in=REFUNDABLE_STATUSES, first_paid_at__isnull=False)
        .select_related("plan", "price")
        .order_by("-first_paid_at")
        .first()
    )
    if subscription is None:
        return None, "There is no payment to refund."
    deadline = refund_deadline(subscription)
    if deadline is not None and now > deadline:
        return subscription, (
            "The 60-day money-back guarantee ended on "
            f"{display_date(deadline)}. You can still cancel at any time."
        )
    return subscription, None


def refund_amount(subscription: Subscription) -> str:
    """What a refund of `subscription` would pay back now, formatted: every
    payment of it, less anything already refunded."""
    payments = Payment.objects.filter(subscription=subscription)
    total = sum(payment.amount - payment.amount_refunded for payment in payments)
    currency = subscription.price.currency if subscription.price else "usd"
    return format_money(total, currency)


def can_refund(member: "User", now: datetime | None = None) -> bool:
    subscription, problem = refundable_subscription(member, now)
    return problem is None


class RefundIncomplete(BillingError):
    """Stripe did not finish the refund; the request is kept and retried."""


def refund_subscription(member: "User", reason: str = "", now: datetime | None = None) -> Refund:
    """Refund every payment of the member's subscription in full, end it now and
    revoke access. Safe to call twice, from two tabs at once, or again after a
    crash: the Refund row is unique per member and its key makes Stripe refund
    each payment once."""
    now = now or timezone.now()
    with transaction.atomic():
        # Serialise requests for this member (two tabs, double clicks).
        list(
            Subscription.objects.select_for_update(of=("self",))
            .filter(member=member)
            .values_list("pk")
        )
        refund = Refund.objects.select_for_update(of=("self",)).filter(member=member).first()
        if refund is None:
            subscription, problem = refundable_subscription(member, now)
            if problem or subscription is None:
                raise BillingError(problem or "There is no payment to refund.")
            refund = Refund.objects.create(
                subscription=subscription,
                member=member,
                reason=" ".join(reason.split())[:200],
                currency=subscription.price.currency if subscription.price else "usd",
            )
            audit(
                "refund_requested",
                subscription=subscription,
                actor=member,
                reason=refund.reason,
                refund=refund.pk,
            )
        elif refund.status == Refund.Status.SUCCEEDED:
            # A repeat of the request that succeeded answers the same; a request
            # about a later subscription is a second use of the guarantee.
            later = (
                Subscription.objects.paid()
                .filter(member=member, created_at__gt=refund.subscription.created_at)
                .exists()
            )
            if later:
                raise BillingError("You have already used the 60-day money-back guarantee.")
            return refund
    return carry_out_refund(refund.pk)


def carry_out_refund(refund_id: int) -> Refund:
    """Do (or finish) a refund request. Every step checks what is already done."""
    refund = Refund.objects.select_related("subscription__plan", "subscription__member").get(
        pk=refund_id
    )
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    subscription = refund.subscription
    backend = gateway.for_subscription(subscription)
    try:
        invoices = backend.list_paid_invoices(subscription.stripe_subscription_id)
        with transaction.atomic():
            locked = Subscription.objects.select_for_update(of=("self",)).get(pk=subscription.pk)
            for invoice in invoices:
                store_invoice(locked, invoice)
        for payment in subscription.payments.order_by("paid_at", "pk"):
            _refund_payment(refund, payment, backend)
        fetched_at = timezone.now()
        remote = backend.cancel_subscription(subscription.stripe_subscription_id)
    except GatewayError as error:
        Refund.objects.filter(pk=refund.pk).update(
            error=error.message[:2000], attempts=F("attempts") + 1
        )
        logger.warning("Refund %s incomplete: %s", refund.pk, error.message)
        raise RefundIncomplete(
            "Your refund has been requested but Stripe has not confirmed it yet. "
            "It will be retried automatically; there is nothing more to do."
        )

    with transaction.atomic():
        refund = Refund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        store_subscription(remote, fetched_at=fetched_at)
        subscription = (
            Subscription.objects.select_for_update(of=("self",))
            .select_related("plan", "member")
            .get(pk=subscription.pk)
        )
        subscription.status = Subscription.Status.REFUNDED
        subscription.cancel_at_period_end = False
        subscription.ended_at = subscription.ended_at or timezone.now()
        subscription.save()
        payments = list(subscription.payments.all())
        refund.amount = sum(payment.amount for payment in payments)
        refund.amount_refunded = sum(payment.amount_refunded for payment in payments)
        refund.stripe_refund_ids = [p.stripe_refund_id for p in payments if p.stripe_refund_id]
        refund.status = Refund.Status.SUCCEEDED
        refund.completed_at = timezone.now()
        refund.attempts += 1
        refund.error = ""
        refund.save()
        audit(
            "refunded",
            subscription=subscription,
            refund=refund.pk,
            amount=refund.amount_refunded,
            stripe_refund_ids=refund.stripe_refund_ids,
        )
        _notify(
            "billing_refund",
            subscription,
            amount=format_money(refund.amount_refunded, refund.currency),
        )
        member = subscription.member
        transaction.on_commit(lambda: run_access_revoked_hooks(member, subscription))
    return refund


def _refund_payment(refund: Refund, payment: Payment, backend: ModuleType) -> None:
    if payment.stripe_refund_id:
        return
    if not (payment.stripe_payment_intent_id or payment.stripe_charge_id):
        source = backend.invoice_payment(payment.stripe_invoice_id)
        payment.stripe_payment_intent_id = source.payment_intent_id
        payment.stripe_charge_id = source.charge_id
        Payment.objects.filter(pk=payment.pk).update(
            stripe_payment_intent_id=source.payment_intent_id, stripe_charge_id=source.charge_id
        )
    try:
        result = backend.refund(
            payment_intent_id=payment.stripe_payment_intent_id,
            charge_id=payment.stripe_charge_id,
            amount=payment.amount,
            idempotency_key=refund.idempotency_key(payment),
            metadata={"refund_request": str(refund.request_key), "payment": str(payment.pk)},
        )
        refund_id = result.id
    except GatewayError as error:
        if error.code != "charge_already_refunded":
            raise
        refund_id = "already-refunded"
    Payment.objects.filter(pk=payment.pk).update(
        stripe_refund_id=refund_id, amount_refunded=payment.amount
    )
    payment.stripe_refund_id = refund_id
    payment.amount_refunded = payment.amount


def run_access_revoked_hooks(member: "User | None", subscription: Subscription) -> None:
    for hook in list(ACCESS_REVOKED_HOOKS):
        try:
            hook(member, subscription)
        except Exception:
            logger.exception("Access-revoked hook %r failed", hook)


def record_charge_refunds(charge: RemoteCharge) -> int:
    """Stripe says a charge was refunded (by us or from its dashboard)."""
    payments = Payment.objects.select_for_update(of=("self",)).filter(stripe_charge_id=charge.id)
    if charge.payment_intent_id:
        payments = payments | Payment.objects.select_for_update(of=("self",)).filter(
            stripe_payment_intent_id=charge.payment_intent_id
        )
    changed = 0
    for payment in payments.select_related("issue_purchase"):
        purchase = payment.issue_purchase
        if purchase is not None and charge.amount_refunded >= payment.amount:
            # A single issue refunded in full (from Stripe's dashboard too):
            # the buyer no longer has it.
            _mark_issue_refunded(purchase, "")
        if payment.amount_refunded != charge.amount_refunded:
            payment.amount_refunded = min(charge.amount_refunded, payment.amount)
            payment.stripe_charge_id = payment.stripe_charge_id or charge.id
            payment.save(update_fields=["amount_refunded", "stripe_charge_id"])
            audit(
                "charge_refunded",
                member=payment.member,
                subscription=payment.subscription,
                charge=charge.id,
                amount_refunded=charge.amount_refunded,
            )
            changed += 1
    return changed


# Gifts and complimentary subscriptions -------------------------------------------------


def gift_amount(plan: Plan, months: int) -> tuple[int, str]:
    """What a gift costs: the yearly price for 12 months, else monthly × months."""
    prices = {p.interval: p for p in plan.prices.all() if p.active}
    if months == 12 and Price.Interval.YEAR in prices:
        price = prices[Price.Interval.YEAR]
        return price.amount, price.currency
    if Price.Interval.MONTH in prices:
        price = prices[Price.Interval.MONTH]
        return price.amount * months, price.currency
    raise BillingError("That plan cannot be given as a gift.")


@dataclass
class GiftPrices:
    """One plan's gift prices, for the gift page: [(months, formatted or
    None where that length cannot be bought)]."""

    plan: Plan
    lengths: list[tuple[str, str | None]]


def gift_prices() -> list[GiftPrices]:
    """What each active plan costs as a gift, for every length on offer."""
    table = []
    plans = Plan.objects.filter(active=True).order_by("sort_order", "name")
    for plan in plans.prefetch_related("prices"):
        lengths: list[tuple[str, str | None]] = []
        for months, label in Gift.Months.choices:
            try:
                amount, currency = gift_amount(plan, months)
            except BillingError:
                lengths.append((str(label), None))
            else:
                lengths.append((str(label), format_money(amount, currency)))
        if any(amount for label, amount in lengths):
            table.append(GiftPrices(plan, lengths))
    return table


def start_gift_checkout(
    buyer: "User",
    plan: Plan,
    months: int,
    recipient_email: str,
    recipient_name: str = "",
    message: str = "",
) -> str:
    if months not in Gift.Months.values:
        raise BillingError("Choose 3, 6 or 12 months.")
    amount, currency = gift_amount(plan, months)
    gift = Gift.objects.create(
        buyer=buyer,
        buyer_email=buyer.email,
        recipient_email=recipient_email.strip().lower(),
        recipient_name=recipient_name.strip(),
        message=message.strip(),
        plan=plan,
        months=months,
        amount=amount,
        currency=currency,
    )
    audit("gift_started", member=buyer, actor=buyer, gift=gift.pk)
    if gateway.test_mode():
        from . import testmode

        session = testmode.new_session(member=buyer.pk, gift=gift.pk)
        Gift.objects.filter(pk=gift.pk).update(stripe_checkout_session_id=session)
        return testmode.checkout_url(session)
    from . import stripe_api

    billing_settings: BillingSettings = BillingSettings.load()
    checkout = stripe_api.create_payment_checkout(
        name=f"Gift: {gift.get_months_display()} of {plan.name}",
        amount=amount,
        currency=currency,
        email=buyer.email,
        client_reference_id=buyer.pk,
        success_url=absolute_url(reverse("billing:gift_thanks"))
        + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=absolute_url(reverse("billing:gift")),
        metadata={"kind": "gift", "gift_id": str(gift.pk), "member_id": str(buyer.pk)},
        tax_behavior=billing_settings.tax_behavior if billing_settings.tax_enabled else "",
    )
    Gift.objects.filter(pk=gift.pk).update(stripe_checkout_session_id=checkout.id)
    return checkout.url


def fulfil_gift(checkout: RemoteCheckout) -> Gift:
    """A paid gift checkout: record the payment and send the recipient a
    redemption link. Call inside a transaction; runs once per gift."""
    gift_id = checkout.metadata.get("gift_id", "")
    gift = (
        Gift.objects.select_for_update(of=("self",))
        .select_related("plan")
        .filter(pk=gift_id)
        .first()
        if gift_id.isdigit()
        else None
    )
    if gift is None:
        raise LookupError(f"Checkout {checkout.id} names no gift.")
    if gift.status != Gift.Status.PENDING:
        return gift
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    gift.status = Gift.Status.PAID
    gift.paid_at = now
    gift.expires_at = now + GIFT_REDEEM_WINDOW
    gift.token_hash = hash_token(token)
    gift.stripe_checkout_session_id = checkout.id
    gift.save()
    amount = checkout.amount_total or gift.amount
    payment = Payment.objects.create(
        gift=gift,
        member=gift.buyer,
        stripe_payment_intent_id=checkout.payment_intent_id,
        amount=amount,
        tax_amount=min(checkout.amount_tax, amount),
        currency=checkout.currency or gift.currency,
        paid_at=now,
    )
    invoice = issue_invoice(
        payment,
        description=f"Gift: {gift.get_months_display()} of {gift.plan.name}",
        buyer=checkout.customer,
    )
    audit("gift_paid", member=gift.buyer, gift=gift.pk, amount=gift.amount)
    context = {
        "plan": gift.plan.name,
        "months": gift.months,
        "buyer_email": gift.buyer_email,
        # The giver by name, as the recipient knows them; else by address.
        "buyer_name": (gift.buyer.get_full_name() if gift.buyer else "") or gift.buyer_email,
        "recipient_name": gift.recipient_name,
        "message": gift.message,
        "amount": payment.display_amount,
        "tax": payment.display_tax if payment.tax_amount else "",
        "invoice_number": invoice.reference,
        "invoice_url": absolute_url(reverse("billing:invoice_pdf", args=[invoice.number])),
        "redeem_url": absolute_url(reverse("billing:gift_redeem", args=[token])),
        "expires_on": display_date(gift.expires_at),
    }
    send_email("billing_gift_received", gift.recipient_email, context)
    send_email("billing_gift_receipt", gift.buyer_email, context)
    return gift


def fail_gift(checkout: RemoteCheckout) -> None:
    gift_id = checkout.metadata.get("gift_id", "")
    if gift_id.isdigit():
        Gift.objects.filter(pk=gift_id, status=Gift.Status.PENDING).update(
            status=Gift.Status.FAILED
        )


def find_gift(token: str | None) -> Gift | None:
    if not token:
        return None
    return Gift.objects.select_related("plan").filter(token_hash=hash_token(token)).first()


def redeem_gift(
    member: "User", token: str | None, shipping: Mapping[str, str] | None = None
) -> Subscription:
    """Turn a gift link into a gift subscription for `member`. A print gift
    needs a shipping address (given here, or already on the account)."""
    with transaction.atomic():
        gift = (
            Gift.objects.select_for_update(of=("self",))
            .select_related("plan")
            .filter(token_hash=hash_token(token or ""))
            .first()
        )
        now = timezone.now()
        if gift is None or gift.status not in (Gift.Status.PAID,):
            raise BillingError("This gift link is not valid, or the gift was already redeemed.")
        if gift.expires_at and gift.expires_at < now:
            raise BillingError("This gift link has expired. Please contact us.")
        if gift.plan.includes_print:
            if shipping:
                from masthead.accounts.actions import update_shipping_address

                update_shipping_address(member, source="checkout", **shipping)
            elif not member_has_shipping_address(member):
                raise BillingError("A print gift needs a shipping address.")
        running = (
            Subscription.objects.filter(
                member=member, status=Subscription.Status.GIFT, ends_at__gt=now
            )
            .order_by("-ends_at")
            .values_list("ends_at", flat=True)
            .first()
        )
        start = max(now, running) if running else now
        subscription = Subscription.objects.create(
            member=member,
            plan=gift.plan,
            status=Subscription.Status.GIFT,
            current_period_start=start,
            current_period_end=start + relativedelta(months=gift.months),
            ends_at=start + relativedelta(months=gift.months),
            gift=gift,
            welcomed_at=now,
        )
        gift.status = Gift.Status.REDEEMED
        gift.redeemed_by = member
        gift.redeemed_at = now
        gift.save()
        audit("gift_redeemed", subscription=subscription, actor=member, gift=gift.pk)
        _notify("billing_welcome", subscription, gift=True)
    return subscription


def grant_complimentary(
    member: "User",
    plan: Plan,
    *,
    ends_at: datetime | None = None,
    granted_by: "User | None" = None,
    note: str = "",
) -> Subscription:
    """A staff grant: access to `plan` until `ends_at` (for good when None)."""
    with transaction.atomic():
        subscription = Subscription.objects.create(
            member=member,
            plan=plan,
            status=Subscription.Status.COMPLIMENTARY,
            ends_at=ends_at,
            current_period_start=timezone.now(),
            current_period_end=ends_at,
            granted_by=granted_by,
            note=note[:200],
            welcomed_at=timezone.now(),
        )
        audit(
            "complimentary_granted",
            subscription=subscription,
            actor=granted_by,
            ends_at=str(ends_at) if ends_at else "",
            note=note,
        )
    return subscription


def grant_complimentary_many(
    grants: list[tuple["User", Plan, datetime | None]], *, note: str = ""
) -> list[Subscription]:
    """Staff grants in bulk (an import's comped readers): `grants` is a list
    of (member, plan, ends_at). One insert for the subscriptions and one for
    their audit rows (the subscriptions' queryset reports the members whose
    entitlement changed)."""
    now = timezone.now()
    with transaction.atomic():
        subscriptions = Subscription.objects.bulk_create(
            [
                Subscription(
                    member=member,
                    plan=plan,
                    status=Subscription.Status.COMPLIMENTARY,
                    ends_at=ends_at,
                    current_period_start=now,
                    current_period_end=ends_at,
                    note=note[:200],
                    welcomed_at=now,
                )
                for member, plan, ends_at in grants
            ]
        )
        BillingAuditLog.objects.bulk_create(
            [
                BillingAuditLog(
                    action="complimentary_granted",
                    member=subscription.member,
                    subscription=subscription,
                    detail={
                        "ends_at": str(subscription.ends_at) if subscription.ends_at else "",
                        "note": note,
                    },
                )
                for subscription in subscriptions
            ]
        )
    return subscriptions


def end_expired_grants(now: datetime | None = None) -> list[Subscription]:
    """Mark gifts and complimentary grants whose end date passed as ended."""
    now = now or timezone.now()
    ended = []
    with transaction.atomic():
        expired = Subscription.objects.select_for_update(of=("self",)).filter(
            status__in=(Subscription.Status.COMPLIMENTARY, Subscription.Status.GIFT),
            ends_at__lte=now,
            ended_at__isnull=True,
        )
        for subscription in expired.select_related("member", "plan"):
            subscription.ended_at = subscription.ends_at
            subscription.save(update_fields=["ended_at"])
            audit("grant_ended", subscription=subscription, ends_at=str(subscription.ends_at))
            ended.append(subscription)
    return ended


# Catalogue ------------------------------------------------------------------------------


class PlanSpec(TypedDict):
    code: str
    name: str
    description: str
    includes_print: bool
    sort_order: int
    prices: dict[str, int]


DEFAULT_PLANS: list[PlanSpec] = [
    {
        "code": "digital",
        "name": "Digital",
        "description": "Every article, the full archive, audio narration and the EPUB and PDF editions.",
        "includes_print": False,
        "sort_order": 10,
        "prices": {"month": 800, "year": 8000},
    },
    {
        "code": "digital-print",
        "name": "Digital + Print",
        "description": "Everything in Digital, and the printed magazine mailed to you, 24 issues a year.",
        "includes_print": True,
        "sort_order": 20,
        "prices": {"month": 1400, "year": 14000},
    },
]


def ensure_default_plans() -> list[Plan]:
    """Create Digital and Digital + Print (monthly and yearly, USD) when the
    publisher has no plans yet. Returns the plans created."""
    if Plan.objects.exists():
        return []
    created = []
    with transaction.atomic():
        for spec in DEFAULT_PLANS:
            plan = Plan.objects.create(
                code=spec["code"],
                name=spec["name"],
                description=spec["description"],
                includes_print=spec["includes_print"],
                sort_order=spec["sort_order"],
            )
            for interval, amount in spec["prices"].items():
                Price.objects.create(plan=plan, interval=interval, amount=amount, currency="usd")
            created.append(plan)
    return created


def create_plan_on_stripe(plan: Plan, actor: "User | None" = None) -> list[Price]:
    """Create the plan's product and its prices on Stripe (those not there yet)."""
    if gateway.test_mode():
        raise BillingError("Stripe keys are not configured: the site is in test mode.")
    from . import stripe_api

    if not plan.stripe_product_id:
        plan.stripe_product_id = stripe_api.create_product(
            name=plan.name, description=plan.description, metadata={"plan_code": plan.code}
        )
        plan.save(update_fields=["stripe_product_id"])
    made = []
    billing_settings: BillingSettings = BillingSettings.load()
    for price in plan.prices.filter(stripe_price_id=""):
        price.stripe_price_id = stripe_api.create_price(
            product_id=plan.stripe_product_id,
            amount=price.amount,
            currency=price.currency,
            interval=price.interval,
            metadata={"plan_code": plan.code, "masthead_price": str(price.pk)},
            # Stripe fixes a price's tax behaviour once set: set only when
            # the publisher collects tax.
            tax_behavior=billing_settings.tax_behavior if billing_settings.tax_enabled else "",
        )
        price.save(update_fields=["stripe_price_id"])
        made.append(price)
    audit("plan_created_on_stripe", actor=actor, plan=plan.code, prices=[p.pk for p in made])
    return made


# Single issues ----------------------------------------------------------------------

# The `kind` in a single issue's Checkout metadata.
ISSUE_KIND = "issue"


def single_issue_price() -> tuple[int, str]:
    """(amount, currency) of one issue bought on its own; amount 0 when the
    publisher does not sell single issues."""
    billing_settings: BillingSettings = BillingSettings.load()
    return billing_settings.single_issue_price, billing_settings.single_issue_currency


def single_issue_offer() -> str | None:
    """What a single issue costs, formatted, or None when none is sold."""
    amount, currency = single_issue_price()
    return format_money(amount, currency) if amount else None


def has_bought(member: "User | AnonymousUser | None", issue: "IssuePage") -> bool:
    if member is None or not member.is_authenticated:
        return False
    return IssuePurchase.objects.filter(
        member_id=member.pk, issue_id=issue.pk, status=IssuePurchase.Status.PAID
    ).exists()


def start_issue_checkout(member: "User", issue: "IssuePage", *, return_to: str = "") -> str:
    """Begin buying one issue on its own (a one-time Checkout payment);
    returns the URL to send the member to. `return_to`, a path on this
    site, is where the success page sends them once they have paid."""
    amount, currency = single_issue_price()
    if not amount:
        raise BillingError("Single issues are not on sale.")
    if not issue.live:
        raise BillingError("That issue is not published.")
    if has_bought(member, issue):
        raise BillingError(f"You already have {issue.title}.")
    purchase = IssuePurchase.objects.create(
        member=member, issue=issue, amount=amount, currency=currency
    )
    audit(
        "issue_checkout_started", member=member, actor=member, issue=issue.pk, purchase=purchase.pk
    )
    metadata = {
        "kind": ISSUE_KIND,
        "issue_purchase_id": str(purchase.pk),
        "issue_id": str(issue.pk),
        "member_id": str(member.pk),
    }
    if gateway.test_mode():
        from . import testmode

        session = testmode.new_session(
            member=member.pk, issue_purchase=purchase.pk, return_to=return_to
        )
        IssuePurchase.objects.filter(pk=purchase.pk).update(stripe_checkout_session_id=session)
        return testmode.checkout_url(session)
    from . import stripe_api

    checkout = stripe_api.create_payment_checkout(
        name=f"{issue.title} ({issue.label})",
        amount=amount,
        currency=currency,
        email=member.email,
        client_reference_id=member.pk,
        success_url=success_url(
            reverse("billing:issue_bought"), "{CHECKOUT_SESSION_ID}", return_to
        ),
        cancel_url=absolute_url(issue.url),
        metadata=metadata,
    )
    IssuePurchase.objects.filter(pk=purchase.pk).update(stripe_checkout_session_id=checkout.id)
    return checkout.url


def fulfil_issue_purchase(checkout: RemoteCheckout) -> IssuePurchase:
    """A paid single-issue checkout: the buyer has the issue from now on.
    Call inside a transaction; runs once per purchase."""
    purchase_id = checkout.metadata.get("issue_purchase_id", "")
    purchase = (
        IssuePurchase.objects.select_for_update(of=("self",))
        .select_related("issue")
        .filter(pk=purchase_id)
        .first()
        if purchase_id.isdigit()
        else None
    )
    if purchase is None:
        raise LookupError(f"Checkout {checkout.id} names no issue purchase.")
    if str(purchase.member_id) != checkout.client_reference_id:
        raise LookupError(f"Checkout {checkout.id} is not its purchase's member's.")
    if purchase.status in (IssuePurchase.Status.PAID, IssuePurchase.Status.REFUNDED):
        return purchase
    now = timezone.now()
    purchase.status = IssuePurchase.Status.PAID
    purchase.paid_at = now
    purchase.stripe_checkout_session_id = checkout.id
    purchase.stripe_payment_intent_id = checkout.payment_intent_id
    purchase.amount = checkout.amount_total or purchase.amount
    purchase.currency = checkout.currency or purchase.currency
    purchase.save()
    Payment.objects.create(
        issue_purchase=purchase,
        member_id=purchase.member_id,
        stripe_payment_intent_id=checkout.payment_intent_id,
        amount=purchase.amount,
        currency=purchase.currency,
        paid_at=now,
    )
    audit(
        "issue_bought",
        member=purchase.member,
        issue=purchase.issue_id,
        purchase=purchase.pk,
        amount=purchase.amount,
    )
    if purchase.member is not None:
        send_email(
            "billing_issue_receipt",
            purchase.member.email,
            {
                "issue": purchase.issue.title,
                "label": purchase.issue.label,
                "amount": purchase.display_amount,
                "issue_url": absolute_url(purchase.issue.url),
                "account_url": absolute_url("/account/"),
                "refund_until": display_date(issue_refund_deadline(purchase)),
            },
        )
    return purchase


def fail_issue_purchase(checkout: RemoteCheckout) -> None:
    purchase_id = checkout.metadata.get("issue_purchase_id", "")
    if purchase_id.isdigit():
        IssuePurchase.objects.filter(pk=purchase_id, status=IssuePurchase.Status.PENDING).update(
            status=IssuePurchase.Status.FAILED
        )


def issue_refund_deadline(purchase: IssuePurchase) -> datetime | None:
    return purchase.paid_at + REFUND_WINDOW if purchase.paid_at else None


def issue_refund_problem(purchase: IssuePurchase, now: datetime | None = None) -> str | None:
    """None when the buyer may have their money back for this issue now
    (the 60-day guarantee, as for subscriptions), else why not."""
    if purchase.status == IssuePurchase.Status.REFUNDED:
        return "This issue has already been refunded."
    deadline = issue_refund_deadline(purchase)
    if purchase.status != IssuePurchase.Status.PAID or deadline is None:
        return "There is no payment to refund."
    if (now or timezone.now()) > deadline:
        return f"The 60-day money-back guarantee ended on {display_date(deadline)}."
    return None


def refund_issue_purchase(
    member: "User", purchase_id: int, reason: str = "", now: datetime | None = None
) -> IssuePurchase:
    """Refund a single issue in full through Stripe and take the issue away.
    Safe to call twice: the purchase's key makes Stripe refund it once."""
    purchase = IssuePurchase.objects.filter(pk=purchase_id, member=member).first()
    if purchase is None:
        raise BillingError("There is no payment to refund.")
    if purchase.status == IssuePurchase.Status.REFUNDED:
        return purchase
    problem = issue_refund_problem(purchase, now)
    if problem:
        raise BillingError(problem)
    backend = gateway.for_id(purchase.stripe_checkout_session_id)
    try:
        result = backend.refund(
            payment_intent_id=purchase.stripe_payment_intent_id,
            amount=purchase.amount,
            idempotency_key=purchase.refund_idempotency_key(),
            metadata={"issue_purchase": str(purchase.pk), "refund_key": str(purchase.refund_key)},
        )
        refund_id = result.id
    except GatewayError as error:
        if error.code != "charge_already_refunded":
            logger.warning("Refund of issue purchase %s incomplete: %s", purchase.pk, error.message)
            raise RefundIncomplete(
                "Stripe has not confirmed the refund yet. Nothing has changed; "
                "please try again in a moment."
            )
        refund_id = "already-refunded"
    with transaction.atomic():
        purchase = IssuePurchase.objects.select_for_update(of=("self",)).get(pk=purchase.pk)
        _mark_issue_refunded(
            purchase, refund_id, actor=member, reason=" ".join(reason.split())[:200]
        )
    return purchase


def _mark_issue_refunded(
    purchase: IssuePurchase, refund_id: str, actor: "User | None" = None, reason: str = ""
) -> None:
    """The purchase's money went back: the buyer no longer has the issue.
    Call inside a transaction, with the purchase locked."""
    if purchase.status == IssuePurchase.Status.REFUNDED:
        return
    purchase.status = IssuePurchase.Status.REFUNDED
    purchase.refunded_at = timezone.now()
    purchase.stripe_refund_id = refund_id or purchase.stripe_refund_id
    purchase.save()
    purchase.payments.update(
        amount_refunded=F("amount"), stripe_refund_id=refund_id or F("stripe_refund_id")
    )
    audit(
        "issue_refunded",
        member=purchase.member,
        actor=actor,
        issue=purchase.issue_id,
        purchase=purchase.pk,
        amount=purchase.amount,
        reason=reason,
    )


# Organisations: group seats, email domains, invoices ----------------------------------------

INVITE_TOKEN_BYTES = 24


def organisation_price(plan: Plan) -> Price:
    """The price an organisation's seats are billed at: the plan's yearly
    price when it has one (institutions budget by the year), else monthly."""
    prices = {price.interval: price for price in plan.prices.filter(active=True)}
    price = prices.get(Price.Interval.YEAR) or prices.get(Price.Interval.MONTH)
    if price is None:
        raise BillingError(f"The plan {plan.name} has no price to bill seats at.")
    return price


def _stripe_price_id(price: Price, backend: ModuleType) -> str:
    from . import testmode

    target = f"tm_price_{price.pk}" if backend is testmode else price.stripe_price_id
    if not target:
        raise BillingError(f"The plan {price.plan.name} is not set up for payments yet.")
    return target


def _store_organisation_subscription(
    organisation: "Organisation", remote: RemoteSubscription, price: Price
) -> Subscription:
    """The organisation's own Subscription row: it has no member, so it
    entitles nobody but the seat holders (billing.entitlements)."""
    subscription = Subscription.objects.create(
        member=None,
        plan=price.plan,
        price=price,
        stripe_subscription_id=remote.id,
        stripe_customer_id=remote.customer_id,
        stripe_item_id=remote.item_id,
        status=STATUS_FROM_STRIPE.get(remote.status, Subscription.Status.INCOMPLETE),
        current_period_start=remote.current_period_start,
        current_period_end=remote.current_period_end,
        stripe_synced_at=timezone.now(),
        welcomed_at=timezone.now(),
        note=f"Seats of {organisation.name}"[:200],
    )
    organisation.subscription = subscription
    organisation.save(update_fields=["subscription"])
    return subscription


def bill_by_invoice(organisation: "Organisation", actor: "User | None" = None) -> Subscription:
    """Start the organisation's Stripe subscription of `seats` seats, paid by
    invoices Stripe emails to its billing address (no card)."""
    if organisation.subscription_id is not None:
        raise BillingError(f"{organisation.name} already has a subscription.")
    email = organisation.billing_email or (
        organisation.manager.email if organisation.manager else ""
    )
    if not email:
        raise BillingError("An organisation billed by invoice needs a billing email.")
    price = organisation_price(organisation.plan)
    backend = gateway.current()
    target = _stripe_price_id(price, backend)
    metadata = {"organisation_id": str(organisation.pk)}
    customer_id = backend.create_customer(name=organisation.name, email=email, metadata=metadata)
    remote = backend.create_group_subscription(
        customer_id=customer_id,
        price_id=target,
        seats=organisation.seats,
        metadata=metadata,
        days_until_due=organisation.days_until_due,
    )
    with transaction.atomic():
        subscription = _store_organisation_subscription(organisation, remote, price)
        audit(
            "organisation_invoiced",
            subscription=subscription,
            actor=actor,
            organisation=organisation.pk,
            seats=organisation.seats,
            billing_email=email,
            days_until_due=organisation.days_until_due,
        )
    return subscription


def create_organisation(
    *,
    name: str,
    plan: Plan,
    seats: int,
    manager: "User | None" = None,
    domains: str = "",
    pays_by_invoice: bool = False,
    billing_email: str = "",
    days_until_due: int = 30,
    contract_starts: "date | None" = None,
    contract_ends: "date | None" = None,
    access_notice: str = "",
    actor: "User | None" = None,
    start_billing: bool = True,
) -> "Organisation":
    """A new organisation; one that pays by invoice gets its Stripe
    subscription (quantity = seats) at once, unless `start_billing` is False
    (the admin starts it once its own save has committed). One without gets
    access by its contract dates only."""
    from .models import Organisation

    if seats < 1:
        raise BillingError("An organisation needs at least one seat.")
    with transaction.atomic():
        organisation = Organisation.objects.create(
            name=name,
            plan=plan,
            seats=seats,
            manager=manager,
            domains=domains,
            pays_by_invoice=pays_by_invoice,
            billing_email=billing_email,
            days_until_due=days_until_due,
            contract_starts=contract_starts,
            contract_ends=contract_ends,
            access_notice=access_notice,
        )
        audit(
            "organisation_created",
            member=manager,
            actor=actor,
            organisation=organisation.pk,
            seats=seats,
        )
    if pays_by_invoice and start_billing:
        bill_by_invoice(organisation, actor=actor)
    return organisation


ORGANISATION_KIND = "organisation"
# Fewer than two seats is a personal subscription; more than this, a
# contract with the publisher.
MIN_BOUGHT_SEATS = 2
MAX_BOUGHT_SEATS = 1000


def seats_problem(seats: int) -> str:
    """Why an organisation may not buy `seats` seats by card, or ""."""
    if seats < MIN_BOUGHT_SEATS:
        return (
            f"An organisation buys at least {MIN_BOUGHT_SEATS} seats; "
            "for one reader, subscribe yourself."
        )
    if seats > MAX_BOUGHT_SEATS:
        return f"For more than {MAX_BOUGHT_SEATS} seats, please write to us for a contract."
    return ""


def start_organisation_checkout(member: "User", *, name: str, plan: Plan, seats: int) -> str:
    """Begin `member` buying `seats` seats of `plan` for the organisation
    `name`, paid by card on Stripe Checkout (quantity = seats); returns the
    URL to send them to. The organisation is made when the checkout is paid
    (`fulfil_organisation_checkout`), with them as its manager."""
    name = " ".join(name.split())
    if not name:
        raise BillingError("Give the organisation's name.")
    if len(name) > 200:
        raise BillingError("The organisation's name is too long (200 characters at most).")
    problem = seats_problem(seats)
    if problem:
        raise BillingError(problem)
    if not plan.active:
        raise BillingError("That plan is no longer offered.")
    price = organisation_price(plan)
    metadata = {
        "kind": ORGANISATION_KIND,
        "buyer_id": str(member.pk),
        "price_id": str(price.pk),
        "organisation_name": name,
        "seats": str(seats),
    }
    if gateway.test_mode():
        from . import testmode

        return testmode.checkout_url(
            testmode.new_session(member=member.pk, price=price.pk, seats=seats, organisation=name)
        )
    if not price.stripe_price_id:
        raise BillingError("That plan is not set up for payments yet.")
    from . import stripe_api

    checkout = stripe_api.create_subscription_checkout(
        price_id=price.stripe_price_id,
        member_id=member.pk,
        email=member.email,
        customer_id="",
        success_url=success_url(reverse("billing:success"), "{CHECKOUT_SESSION_ID}"),
        cancel_url=absolute_url(reverse("billing:organisations")),
        metadata=metadata,
        automatic_tax=tax_enabled(),
        quantity=seats,
    )
    audit(
        "organisation_checkout_started",
        member=member,
        actor=member,
        session=checkout.id,
        price=price.pk,
        seats=seats,
    )
    return checkout.url


def fulfil_organisation_checkout(state: CheckoutState) -> Subscription | None:
    """Make the organisation a paid checkout bought: its seats are the
    Stripe subscription's quantity, its manager the buyer. Call inside a
    transaction. Idempotent, as `apply_checkout`."""
    from masthead.accounts.models import User

    from .models import Organisation

    checkout, remote = state.checkout, state.subscription
    if remote is None:
        return None
    existing = (
        by_stripe_id(Subscription.objects.select_for_update(), "stripe_subscription_id", remote.id)
        .select_related("plan")
        .first()
    )
    if existing is not None:
        for invoice in state.invoices:
            store_invoice(existing, invoice)
        return existing
    ids = find_price_ids(remote.price_id)
    if ids is None:
        logger.info("Ignoring organisation checkout %s: price not ours", checkout.id)
        return None
    price = Price.objects.select_related("plan").get(pk=ids[0])
    buyer_id = checkout.metadata.get("buyer_id") or checkout.client_reference_id
    buyer = User.objects.filter(pk=int(buyer_id)).first() if str(buyer_id).isdigit() else None
    name = str(checkout.metadata.get("organisation_name") or "").strip()[:200]
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=name or (buyer.email if buyer else checkout.id),
                plan=price.plan,
                seats=remote.quantity,
                manager=buyer,
                billing_email=buyer.email if buyer else "",
            )
            subscription = _store_organisation_subscription(organisation, remote, price)
    except IntegrityError:
        # The webhook and the success page at once (PostgreSQL lets both
        # look before either inserts): the other one made it.
        return by_stripe_id(Subscription.objects, "stripe_subscription_id", remote.id).first()
    subscription.checkout_session_id = checkout.id
    subscription.save(update_fields=["checkout_session_id"])
    for invoice in state.invoices:
        store_invoice(subscription, invoice)
    audit(
        "organisation_bought",
        member=buyer,
        actor=buyer,
        subscription=subscription,
        organisation=organisation.pk,
        seats=remote.quantity,
        session=checkout.id,
    )
    return subscription


def seats_taken(organisation: "Organisation") -> int:
    """Seats held or promised: accepted ones and pending invitations."""
    return organisation.seat_holders.count()


def change_seats(organisation: "Organisation", seats: int, actor: "User | None" = None) -> None:
    """Set the number of seats; on Stripe the subscription's quantity, with
    the difference prorated on the next invoice."""
    from .models import Organisation

    if seats < 1:
        raise BillingError("An organisation needs at least one seat.")
    taken = seats_taken(organisation)
    if seats < taken:
        raise BillingError(
            f"{taken} seats are taken or invited; remove readers before going down to {seats}."
        )
    before = Organisation.objects.values_list("seats", flat=True).get(pk=organisation.pk)
    subscription = organisation.subscription
    if subscription is not None and subscription.stripe_subscription_id and seats != before:
        backend = gateway.for_subscription(subscription)
        remote = backend.set_quantity(
            subscription.stripe_subscription_id, item_id=subscription.stripe_item_id, seats=seats
        )
        if remote.quantity != seats:
            raise BillingError("Stripe did not take the new number of seats. Please try again.")
    with transaction.atomic():
        organisation.seats = seats
        organisation.save(update_fields=["seats"])
        audit(
            "organisation_seats_changed",
            subscription=subscription,
            actor=actor,
            organisation=organisation.pk,
            old_seats=before,
            new_seats=seats,
        )


def _send_invitation(seat: "OrganisationSeat", token: str) -> None:
    send_email(
        "billing_seat_invitation",
        seat.email,
        {
            "organisation": seat.organisation.name,
            "plan": seat.organisation.plan.name,
            "accept_url": absolute_url(reverse("billing:accept_seat", args=[token])),
        },
    )


def invite_reader(
    organisation: "Organisation", email: str, actor: "User | None" = None
) -> "OrganisationSeat":
    """Offer one of the organisation's seats to `email`: a seat row with a
    one-time token, and an email with the link to accept it."""
    from django.core.validators import validate_email

    from masthead.accounts.actions import normalize_email

    from .models import Organisation, OrganisationSeat

    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise BillingError("That is not an email address.")
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if locked.seat_holders.filter(email__iexact=email).exists():
            raise BillingError(f"{email} already has a seat or an invitation.")
        if seats_taken(locked) >= locked.seats:
            raise BillingError(
                f"All {locked.seats} seats are taken. Remove a reader or ask us for more seats."
            )
        seat = OrganisationSeat.objects.create(
            organisation=locked, email=email, token_hash=hash_token(token)
        )
        audit("seat_invited", actor=actor, organisation=locked.pk, email=email)
        _send_invitation(seat, token)
    return seat


def resend_invitation(seat: "OrganisationSeat", actor: "User | None" = None) -> None:
    """A new link for a pending invitation (the old one stops working)."""
    if seat.accepted_at is not None:
        raise BillingError(f"{seat.email} has already accepted.")
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    with transaction.atomic():
        seat.token_hash = hash_token(token)
        seat.invited_at = timezone.now()
        seat.save(update_fields=["token_hash", "invited_at"])
        audit("seat_reinvited", actor=actor, organisation=seat.organisation_id, email=seat.email)
        _send_invitation(seat, token)


def remove_seat(seat: "OrganisationSeat", actor: "User | None" = None) -> None:
    """Free a seat: its holder loses the organisation's access at once; a
    pending invitation's link stops working."""
    with transaction.atomic():
        audit(
            "seat_removed",
            member=seat.member,
            actor=actor,
            organisation=seat.organisation_id,
            email=seat.email,
            accepted=seat.accepted_at is not None,
        )
        seat.delete()


def release_domain_seats(organisation: "Organisation", actor: "User | None" = None) -> list[str]:
    """Free the seats taken through an email domain the organisation no
    longer lists (invited readers keep theirs); returns their addresses."""
    from .models import OrganisationSeat

    domains = set(organisation.domain_list())
    released = []
    for seat in organisation.seat_holders.filter(source=OrganisationSeat.Source.DOMAIN):
        if seat.email.rpartition("@")[2].lower() not in domains:
            remove_seat(seat, actor=actor)
            released.append(seat.email)
    return released


def find_invitation(token: str | None) -> "OrganisationSeat | None":
    from .models import OrganisationSeat

    if not token:
        return None
    return (
        OrganisationSeat.objects.select_related("organisation__plan")
        .filter(token_hash=hash_token(token), accepted_at__isnull=True)
        .first()
    )


def accept_invitation(member: "User", token: str | None) -> "OrganisationSeat":
    """Take the seat an invitation link offers, for the signed-in `member`
    (whatever address they signed in with: the link went to the invited
    one). The link works once."""
    from .models import OrganisationSeat

    with transaction.atomic():
        seat = (
            OrganisationSeat.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(token_hash=hash_token(token or ""), accepted_at__isnull=True)
            .first()
        )
        if seat is None or not seat.organisation.active:
            raise BillingError("This invitation is not valid, or it was already accepted.")
        if (
            OrganisationSeat.objects.filter(organisation=seat.organisation, member=member)
            .exclude(pk=seat.pk)
            .exists()
        ):
            raise BillingError(f"You already hold a seat of {seat.organisation.name}.")
        seat.member = member
        seat.accepted_at = timezone.now()
        seat.last_seen_at = seat.accepted_at
        seat.token_hash = ""
        seat.save(update_fields=["member", "accepted_at", "last_seen_at", "token_hash"])
        audit(
            "seat_accepted",
            member=member,
            actor=member,
            organisation=seat.organisation_id,
            email=seat.email,
        )
    return seat


def email_is_verified(member: "User") -> bool:
    """Whether the member proved they read mail at their current address: a
    sign-in or sign-up link used, or an address change confirmed."""
    from masthead.accounts.models import EmailChangeRequest, MagicLink

    return (
        MagicLink.objects.filter(email__iexact=member.email, used_at__isnull=False).exists()
        or EmailChangeRequest.objects.filter(
            user=member, new_email__iexact=member.email, used_at__isnull=False
        ).exists()
    )


def take_domain_seats(member: "User") -> list[str]:
    """Give the member a seat (source "domain") in each active organisation
    whose domains include their verified address's, while one is free.
    Returns what to tell them: the organisations that are full."""
    from .models import Organisation, OrganisationSeat

    domain = member.email.rpartition("@")[2].lower()
    if not domain:
        return []
    # A cheap filter first; domain_list() then matches whole lines.
    candidates = [
        organisation
        for organisation in Organisation.objects.filter(active=True, domains__icontains=domain)
        .exclude(seat_holders__member=member)
        .select_related("plan")
        if domain in organisation.domain_list()
    ]
    if not candidates or not email_is_verified(member):
        return []
    full: list[str] = []
    for candidate in candidates:
        with transaction.atomic():
            organisation = Organisation.objects.select_for_update().get(pk=candidate.pk)
            if organisation.seat_holders.filter(member=member).exists():
                continue
            pending = organisation.seat_holders.filter(email__iexact=member.email).first()
            if pending is not None and pending.accepted_at is not None:
                # Someone who held this address before keeps the seat.
                continue
            if pending is not None:
                # Invited at this address: the invitation's seat is theirs.
                pending.member = member
                pending.accepted_at = timezone.now()
                pending.token_hash = ""
                pending.save(update_fields=["member", "accepted_at", "token_hash"])
            elif seats_taken(organisation) >= organisation.seats:
                full.append(
                    f"{organisation.name} gives access to readers at {domain}, but all its "
                    f"{organisation.seats} seats are taken. Ask its manager for a seat."
                )
                continue
            else:
                OrganisationSeat.objects.create(
                    organisation=organisation,
                    email=member.email,
                    member=member,
                    source=OrganisationSeat.Source.DOMAIN,
                    accepted_at=timezone.now(),
                    last_seen_at=timezone.now(),
                )
            audit(
                "seat_taken_by_domain",
                member=member,
                actor=member,
                organisation=organisation.pk,
                email=member.email,
            )
    return full


def note_seats_seen(member: "User") -> None:
    """When the member last signed in, for the manager's list of seats."""
    from .models import OrganisationSeat

    OrganisationSeat.objects.filter(member=member).update(last_seen_at=timezone.now())
