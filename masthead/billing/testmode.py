"""Payments without Stripe, for the embedded demo and local development.

With no STRIPE_SECRET_KEY the subscribe and gift buttons lead to a local,
clearly labelled checkout page that takes Stripe's test card numbers. This
module plays Stripe's part: it answers the same calls as `stripe_api` with the
same `remote` objects (ids start "tm_"), so fulfilment, cancellation, refunds
and the reconciliation run exactly the code they run against Stripe. The
database is its only state: a test-mode subscription's "Stripe side" is its
own row.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from dateutil.relativedelta import relativedelta
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import (
    BillingSettings,
    Gift,
    IssuePurchase,
    Offer,
    Organisation,
    Payment,
    Price,
    Subscription,
    by_stripe_id,
)
from .remote import (
    Buyer,
    CardDeclined,
    GatewayError,
    RemoteCheckout,
    RemoteInvoice,
    RemotePayment,
    RemoteRefund,
    RemoteSubscription,
)

if TYPE_CHECKING:
    from . import actions

SESSION_PREFIX = "tm_cs_"
SESSION_SALT = "masthead.billing.testmode.session"
SESSION_MAX_AGE = 24 * 3600


class SessionNote(TypedDict):
    """What a test-mode session id signs (short keys keep the id short)."""

    m: int  # the member's pk
    n: str  # random, so that two sessions never share an id
    p: NotRequired[int]  # the price's pk, for a subscription
    g: NotRequired[int]  # the gift's pk, for a gift
    i: NotRequired[int]  # the IssuePurchase's pk, for a single issue
    a: NotRequired[int]  # the article whose paywall the reader came from
    r: NotRequired[str]  # where the buyer goes once they have paid
    o: NotRequired[int]  # the offer's pk, when bought with one
    s: NotRequired[int]  # the seats an organisation buys at the price
    on: NotRequired[str]  # that organisation's name


# Stripe's test cards: https://docs.stripe.com/testing
APPROVED_CARDS = {
    "4242424242424242": "Visa",
    "4000056655665556": "Visa (debit)",
    "5555555555554444": "Mastercard",
    "2223003122003222": "Mastercard (2-series)",
    "378282246310005": "American Express",
    "6011111111111117": "Discover",
}
DECLINED_CARDS = {
    "4000000000000002": ("card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("lost_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": ("processing_error", "An error occurred while processing your card."),
}


def _digest(text: str, length: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# Checkout sessions ------------------------------------------------------------------


def new_session(
    *,
    member: int,
    price: int | None = None,
    gift: int | None = None,
    issue_purchase: int | None = None,
    from_article: int | None = None,
    return_to: str = "",
    offer: int | None = None,
    seats: int | None = None,
    organisation: str = "",
) -> str:
    """A test-mode Checkout Session id: a signed note of what is being bought
    (and from which article's paywall), and where the buyer goes once they
    have paid."""
    data: SessionNote = {"m": member, "n": get_random_string(12)}
    if return_to:
        data["r"] = return_to
    if gift is not None:
        data["g"] = gift
    elif issue_purchase is not None:
        data["i"] = issue_purchase
    elif price is not None:
        data["p"] = price
    else:
        raise ValueError("A checkout session is for a price, a gift or an issue.")
    if from_article:
        data["a"] = from_article
    if offer is not None:
        data["o"] = offer
    if seats is not None:
        data["s"] = seats
        data["on"] = organisation
    return SESSION_PREFIX + signing.dumps(data, salt=SESSION_SALT, compress=True)


def load_session(session_id: str) -> SessionNote:
    """The session's contents, or GatewayError for a forged or stale one."""
    if not session_id.startswith(SESSION_PREFIX):
        raise GatewayError("Unknown checkout session.", code="resource_missing")
    try:
        # Signed by new_session, so it is a SessionNote.
        note: SessionNote = signing.loads(
            session_id.removeprefix(SESSION_PREFIX), salt=SESSION_SALT, max_age=SESSION_MAX_AGE
        )
    except signing.BadSignature:
        raise GatewayError(
            "This checkout has expired. Please start again.", code="resource_missing"
        )
    return note


def checkout_url(session_id: str) -> str:
    return reverse("billing:test_checkout", args=[session_id])


def subscription_id_for(session_id: str) -> str:
    return "tm_sub_" + _digest(session_id)


def charge_card(
    number: str,
    exp_month: int | str,
    exp_year: int | str,
    cvc: str,
    today: date | None = None,
) -> str:
    """Check a test card as Stripe would; returns its description, raises
    CardDeclined for the decline cards and for anything that is not a test card."""
    number = "".join(str(number).split()).replace("-", "")
    today = today or timezone.localdate()
    if number in DECLINED_CARDS:
        code, message = DECLINED_CARDS[number]
        raise CardDeclined(message, code=code, http_status=402)
    if number not in APPROVED_CARDS:
        raise CardDeclined(
            "Test mode takes only Stripe's test cards, such as 4242 4242 4242 4242.",
            code="invalid_number",
            http_status=402,
        )
    try:
        month, year = int(exp_month), int(exp_year)
    except (TypeError, ValueError):
        raise CardDeclined("Enter the card's expiry date.", code="invalid_expiry", http_status=402)
    if year < 100:
        year += 2000
    if not 1 <= month <= 12 or date(year, month, 1) + relativedelta(months=1) <= today:
        raise CardDeclined("Your card has expired.", code="expired_card", http_status=402)
    if not str(cvc).isdigit() or len(str(cvc)) not in (3, 4):
        raise CardDeclined(
            "Your card's security code is incorrect.", code="incorrect_cvc", http_status=402
        )
    return f"{APPROVED_CARDS[number]} ending {number[-4:]}"


def with_tax(amount: int) -> tuple[int, int]:
    """(what the buyer pays, the part of it that is tax) for a price of
    `amount`, at the publisher's test-mode rate when they collect tax: added
    to the price, or taken out of it when prices include tax. Stripe Tax's
    rates by place are not played here: one rate, to try the flow."""
    billing_settings: BillingSettings = BillingSettings.load()
    if not billing_settings.tax_enabled or amount <= 0:
        return amount, 0
    rate = billing_settings.test_mode_tax_rate / 100
    if billing_settings.prices_include_tax:
        net = (Decimal(amount) / (1 + rate)).quantize(Decimal(1), ROUND_HALF_UP)
        return amount, amount - int(net)
    tax = int((Decimal(amount) * rate).quantize(Decimal(1), ROUND_HALF_UP))
    return amount + tax, tax


def _interval(price: Price) -> relativedelta:
    return (
        relativedelta(years=1) if price.interval == Price.Interval.YEAR else relativedelta(months=1)
    )


# A test-mode customer who started a free trial without a card: the trial
# ends cancelled (there is no Customer Portal in test mode to add one).
NO_CARD = "_nocard"


def has_card(subscription: Subscription) -> bool:
    return not subscription.stripe_customer_id.endswith(NO_CARD)


def _subscription_metadata(data: SessionNote) -> dict[str, str]:
    """What Masthead gives a subscription's checkout, as `actions` does."""
    if "s" in data:
        from .actions import ORGANISATION_KIND

        return {
            "kind": ORGANISATION_KIND,
            "buyer_id": str(data["m"]),
            "price_id": str(data["p"]),
            "organisation_name": data.get("on", ""),
            "seats": str(data["s"]),
        }
    return {"member_id": str(data["m"]), "price_id": str(data["p"])}


def _issue_checkout(session_id: str, data: SessionNote, paid: bool) -> RemoteCheckout:
    purchase = IssuePurchase.objects.filter(pk=data["i"]).first()
    return RemoteCheckout(
        id=session_id,
        url="" if paid else checkout_url(session_id),
        mode="payment",
        status="complete" if paid else "open",
        payment_status="paid" if paid else "unpaid",
        client_reference_id=str(data["m"]),
        payment_intent_id="tm_pi_" + _digest(session_id),
        amount_total=purchase.amount if purchase else 0,
        currency=purchase.currency if purchase else "usd",
        metadata={
            "kind": "issue",
            "issue_purchase_id": str(data["i"]),
            "issue_id": str(purchase.issue_id if purchase else ""),
            "member_id": str(data["m"]),
        },
    )


def complete_checkout(
    session_id: str,
    *,
    shipping: dict[str, Any] | None = None,
    buyer: Buyer | None = None,
    with_card: bool = True,
) -> "actions.Fulfilled | None":
    """Pay for a session whose card `charge_card` accepted (or, for a free
    trial that asks for none, without a card), and fulfil it through the
    same action as Stripe's webhook. Safe to submit twice. `buyer`: the
    billing details given at checkout, for the invoice."""
    from . import actions

    data = load_session(session_id)
    now = timezone.now()
    if "i" in data:
        with transaction.atomic():
            return actions.apply_checkout(
                actions.CheckoutState(_issue_checkout(session_id, data, True), None, [], now)
            )
    if "g" in data:
        gift = Gift.objects.get(pk=data["g"])
        total, tax = with_tax(gift.amount)
        checkout = RemoteCheckout(
            id=session_id,
            url="",
            mode="payment",
            status="complete",
            payment_status="paid",
            client_reference_id=str(data["m"]),
            payment_intent_id="tm_pi_" + _digest(session_id),
            amount_total=total,
            currency=gift.currency,
            metadata={"kind": "gift", "gift_id": str(gift.pk), "member_id": str(data["m"])},
            amount_tax=tax,
            customer=buyer,
        )
        with transaction.atomic():
            fulfilled: actions.Fulfilled | None = actions.apply_checkout(
                actions.CheckoutState(checkout, None, [], now)
            )
        return fulfilled

    subscription_id = subscription_id_for(session_id)
    existing = by_stripe_id(Subscription.objects, "stripe_subscription_id", subscription_id).first()
    if existing is not None:
        return existing
    price = Price.objects.select_related("plan").get(pk=data["p"])
    offer = Offer.objects.filter(pk=data["o"]).first() if "o" in data else None
    trial_days = offer.trial_days or 0 if offer is not None and offer.is_trial else price.trial_days
    trial_end = now + relativedelta(days=trial_days) if trial_days else None
    seats = data.get("s", 1)
    remote = RemoteSubscription(
        id=subscription_id,
        customer_id=f"tm_cus_{data['m']}" + ("" if with_card else NO_CARD),
        status="trialing" if trial_end else "active",
        price_id=f"tm_price_{price.pk}",
        item_id="tm_si_" + _digest(session_id),
        metadata=_subscription_metadata(data),
        current_period_start=now,
        current_period_end=trial_end or now + _interval(price),
        trial_end=trial_end,
        quantity=seats,
    )
    invoices: list[RemoteInvoice] = []
    first_amount = _amount(price, offer, 0) * seats
    if not trial_end:
        invoices.append(_invoice(remote, price, 1, now, first_amount, buyer))
    checkout = RemoteCheckout(
        id=session_id,
        url="",
        mode="subscription",
        status="complete",
        payment_status="no_payment_required" if trial_end else "paid",
        client_reference_id=str(data["m"]),
        customer_id=remote.customer_id,
        subscription_id=remote.id,
        amount_total=0 if trial_end else invoices[0].amount_paid,
        currency=price.currency,
        metadata={
            **remote.metadata,
            **({"from_article": str(data["a"])} if "a" in data else {}),
            **({"offer_id": str(data["o"])} if "o" in data else {}),
        },
        shipping=shipping,
        amount_tax=0 if trial_end else invoices[0].tax,
        customer=buyer,
    )
    with transaction.atomic():
        fulfilled = actions.apply_checkout(actions.CheckoutState(checkout, remote, invoices, now))
    return fulfilled


def _amount(
    price: Price,
    offer: Offer | None,
    paid_periods: int,
    subscription: Subscription | None = None,
    period_start: datetime | None = None,
) -> int:
    """What the invoice after `paid_periods` paid periods costs, with the
    offer's discount while it lasts, or a retention offer's."""
    amount = price.amount
    if offer is not None:
        months = paid_periods * (12 if price.interval == Price.Interval.YEAR else 1)
        amount = offer.discounted(price.amount, months)
    if subscription is not None and subscription.retention_accepted_at and period_start:
        ends = subscription.retention_accepted_at + relativedelta(
            months=subscription.retention_months or 0
        )
        if period_start < ends:
            amount = price.amount - round(
                price.amount * (subscription.retention_percent_off or 0) / 100
            )
    return amount


def _invoice(
    remote: RemoteSubscription,
    price: Price,
    number: int,
    paid_at: datetime,
    amount: int,
    buyer: Buyer | None = None,
) -> RemoteInvoice:
    total, tax = with_tax(amount)
    return RemoteInvoice(
        id=f"tm_in_{remote.id.removeprefix('tm_sub_')}_{number}",
        status="paid",
        subscription_id=remote.id,
        customer_id=remote.customer_id,
        amount_paid=total,
        currency=price.currency,
        paid_at=paid_at,
        billing_reason="subscription_create" if number == 1 else "subscription_cycle",
        number=f"TEST-{remote.id[-6:].upper()}-{number:04d}",
        tax=tax,
        customer=buyer,
    )


def retrieve_checkout(session_id: str) -> RemoteCheckout:
    data = load_session(session_id)
    if "i" in data:
        paid = IssuePurchase.objects.filter(
            pk=data["i"], status__in=(IssuePurchase.Status.PAID, IssuePurchase.Status.REFUNDED)
        ).exists()
        return _issue_checkout(session_id, data, paid)
    if "g" in data:
        gift = Gift.objects.filter(pk=data["g"]).first()
        paid = gift is not None and gift.status in (Gift.Status.PAID, Gift.Status.REDEEMED)
        return RemoteCheckout(
            id=session_id,
            url=checkout_url(session_id),
            mode="payment",
            status="complete" if paid else "open",
            payment_status="paid" if paid else "unpaid",
            client_reference_id=str(data["m"]),
            amount_total=gift.amount if gift else 0,
            currency=gift.currency if gift else "usd",
            metadata={"kind": "gift", "gift_id": str(data["g"])},
        )
    subscription_id = subscription_id_for(session_id)
    exists = by_stripe_id(Subscription.objects, "stripe_subscription_id", subscription_id).exists()
    return RemoteCheckout(
        id=session_id,
        url=checkout_url(session_id),
        mode="subscription",
        status="complete" if exists else "open",
        payment_status="paid" if exists else "unpaid",
        client_reference_id=str(data["m"]),
        subscription_id=subscription_id if exists else "",
        metadata=_subscription_metadata(data),
    )


# The "Stripe side" of test-mode subscriptions ------------------------------------------


def retrieve_subscription(subscription_id: str) -> RemoteSubscription:
    subscription = by_stripe_id(
        Subscription.objects, "stripe_subscription_id", subscription_id
    ).first()
    if subscription is None:
        raise GatewayError(f"No such subscription: {subscription_id}", code="resource_missing")
    status = subscription.status
    if status == Subscription.Status.REFUNDED:
        status = "canceled"
    organisation = Organisation.objects.filter(subscription=subscription).first()
    return RemoteSubscription(
        id=subscription_id,
        customer_id=subscription.stripe_customer_id,
        status=str(status),
        price_id=f"tm_price_{subscription.price_id}",
        item_id=subscription.stripe_item_id,
        metadata={"member_id": str(subscription.member_id or "")},
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        trial_end=subscription.trial_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        canceled_at=subscription.canceled_at,
        ended_at=subscription.ended_at,
        quantity=organisation.seats if organisation else 1,
        collection_method=(
            "send_invoice"
            if organisation and organisation.pays_by_invoice
            else "charge_automatically"
        ),
    )


def list_subscriptions() -> Iterator[RemoteSubscription]:
    for subscription_id in Subscription.objects.filter(
        stripe_subscription_id__startswith="tm_sub_"
    ).values_list("stripe_subscription_id", flat=True):
        yield retrieve_subscription(subscription_id)


def set_cancel_at_period_end(subscription_id: str, cancel: bool) -> RemoteSubscription:
    remote = retrieve_subscription(subscription_id)
    return replace(
        remote, cancel_at_period_end=bool(cancel), canceled_at=timezone.now() if cancel else None
    )


def give_discount(subscription_id: str, *, percent_off: int, months: int) -> RemoteSubscription:
    # The discount lives on the subscription's row (retention_*), which
    # `renew_due` reads.
    return retrieve_subscription(subscription_id)


def switch_price(subscription_id: str, *, item_id: str, price_id: str) -> RemoteSubscription:
    return replace(retrieve_subscription(subscription_id), price_id=price_id)


def create_customer(*, name: str, email: str, metadata: dict[str, str]) -> str:
    return f"tm_cus_{get_random_string(14)}"


def create_group_subscription(
    *,
    customer_id: str,
    price_id: str,
    seats: int,
    metadata: dict[str, str],
    days_until_due: int,
) -> RemoteSubscription:
    # Test mode sends no invoice: the subscription runs from now, as Stripe's
    # does while its first invoice is open.
    price = Price.objects.get(pk=int(price_id.removeprefix("tm_price_")))
    now = timezone.now()
    return RemoteSubscription(
        id=f"tm_sub_{get_random_string(14)}",
        customer_id=customer_id,
        status="active",
        price_id=price_id,
        item_id=f"tm_si_{get_random_string(14)}",
        metadata=metadata,
        current_period_start=now,
        current_period_end=now + _interval(price),
        quantity=seats,
        collection_method="send_invoice",
    )


def set_quantity(subscription_id: str, *, item_id: str, seats: int) -> RemoteSubscription:
    return replace(retrieve_subscription(subscription_id), quantity=seats)


def cancel_subscription(subscription_id: str) -> RemoteSubscription:
    remote = retrieve_subscription(subscription_id)
    if remote.status == "canceled":
        return remote
    now = timezone.now()
    return replace(
        remote, status="canceled", cancel_at_period_end=False, canceled_at=now, ended_at=now
    )


def list_paid_invoices(subscription_id: str) -> list[RemoteInvoice]:
    payments = Payment.objects.filter(subscription__stripe_subscription_id=subscription_id)
    return [
        RemoteInvoice(
            id=payment.stripe_invoice_id,
            status="paid",
            subscription_id=subscription_id,
            customer_id="",
            amount_paid=payment.amount,
            currency=payment.currency,
            paid_at=payment.paid_at,
            tax=payment.tax_amount,
        )
        for payment in payments.exclude(stripe_invoice_id="")
    ]


def invoice_payment(invoice_id: str) -> RemotePayment:
    return RemotePayment(payment_intent_id="tm_pi_" + _digest(invoice_id))


def refund(
    *,
    payment_intent_id: str = "",
    charge_id: str = "",
    amount: int,
    idempotency_key: str,
    metadata: dict[str, str],
) -> RemoteRefund:
    # The same key always names the same refund, as with Stripe.
    return RemoteRefund(id="tm_re_" + _digest(idempotency_key), status="succeeded", amount=amount)


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    raise GatewayError("Test mode has no Customer Portal.", code="test_mode")


def renew_due(now: datetime | None = None) -> list[str]:
    """Play Stripe's renewals: charge the test card for every period that has
    ended, or end the subscriptions that were cancelled. Returns what changed."""
    from . import actions

    now = now or timezone.now()
    changes: list[str] = []
    due = Subscription.objects.filter(
        stripe_subscription_id__startswith="tm_sub_",
        status__in=(Subscription.Status.ACTIVE, Subscription.Status.TRIALING),
        current_period_end__lte=now,
    ).select_related("price", "member", "offer")
    for subscription in due:
        remote = retrieve_subscription(subscription.stripe_subscription_id)
        price = subscription.price
        with transaction.atomic():
            if remote.status == "trialing" and not has_card(subscription):
                remote = replace(remote, cancel_at_period_end=True)
            if remote.cancel_at_period_end:
                ended = replace(remote, status="canceled", ended_at=remote.current_period_end)
                actions.store_subscription(ended, fetched_at=now)
                changes.append(f"{subscription.member}: {remote.id} ended at the period's end")
                continue
            number = subscription.payments.count() + 1
            # The query chose subscriptions whose period has an end, and
            # complete_checkout makes each one with a price.
            period_end = remote.current_period_end
            assert period_end is not None and price is not None
            while period_end <= now:
                start = period_end
                period_end = start + _interval(price)
                remote = replace(
                    remote,
                    status="active",
                    current_period_start=start,
                    current_period_end=period_end,
                    trial_end=None,
                )
                stored = actions.store_subscription(remote, fetched_at=now)
                assert stored is not None  # the price is a test-mode price of ours
                # Stripe charges every seat of an organisation's subscription.
                amount = remote.quantity * _amount(
                    price, subscription.offer, number - 1, subscription, start
                )
                actions.store_invoice(
                    stored.subscription, _invoice(remote, price, number, start, amount)
                )
                changes.append(f"{subscription.member}: {remote.id} renewed from {start:%Y-%m-%d}")
                number += 1
    return changes
