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
from dataclasses import replace
from datetime import date

from dateutil.relativedelta import relativedelta
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string

from .models import Gift, Payment, Price, Subscription, by_stripe_id
from .remote import (
    CardDeclined,
    GatewayError,
    RemoteCheckout,
    RemoteInvoice,
    RemotePayment,
    RemoteRefund,
    RemoteSubscription,
)

SESSION_PREFIX = "tm_cs_"
SESSION_SALT = "masthead.billing.testmode.session"
SESSION_MAX_AGE = 24 * 3600

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


def _digest(text, length: int = 24):
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# Checkout sessions ------------------------------------------------------------------


def new_session(*, member, price=None, gift=None, return_to=""):
    """A test-mode Checkout Session id: a signed note of what is being bought,
    and where the buyer goes once they have paid."""
    data = {"m": member, "n": get_random_string(12)}
    if return_to:
        data["r"] = return_to
    if gift is not None:
        data["g"] = gift
    else:
        data["p"] = price
    return SESSION_PREFIX + signing.dumps(data, salt=SESSION_SALT, compress=True)


def load_session(session_id):
    """The session's contents, or GatewayError for a forged or stale one."""
    if not session_id.startswith(SESSION_PREFIX):
        raise GatewayError("Unknown checkout session.", code="resource_missing")
    try:
        return signing.loads(
            session_id.removeprefix(SESSION_PREFIX), salt=SESSION_SALT, max_age=SESSION_MAX_AGE
        )
    except signing.BadSignature:
        raise GatewayError(
            "This checkout has expired. Please start again.", code="resource_missing"
        )


def checkout_url(session_id):
    return reverse("billing:test_checkout", args=[session_id])


def subscription_id_for(session_id):
    return "tm_sub_" + _digest(session_id)


def charge_card(number, exp_month, exp_year, cvc, today=None) -> str:
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


def _interval(price):
    return (
        relativedelta(years=1) if price.interval == Price.Interval.YEAR else relativedelta(months=1)
    )


def complete_checkout(session_id, *, shipping=None):
    """Pay for a session whose card `charge_card` accepted, and fulfil it
    through the same action as Stripe's webhook. Safe to submit twice."""
    from . import actions

    data = load_session(session_id)
    now = timezone.now()
    if "g" in data:
        gift = Gift.objects.get(pk=data["g"])
        checkout = RemoteCheckout(
            id=session_id,
            url="",
            mode="payment",
            status="complete",
            payment_status="paid",
            client_reference_id=str(data["m"]),
            payment_intent_id="tm_pi_" + _digest(session_id),
            amount_total=gift.amount,
            currency=gift.currency,
            metadata={"kind": "gift", "gift_id": str(gift.pk), "member_id": str(data["m"])},
        )
        with transaction.atomic():
            return actions.apply_checkout(actions.CheckoutState(checkout, None, [], now))

    subscription_id = subscription_id_for(session_id)
    existing = by_stripe_id(Subscription.objects, "stripe_subscription_id", subscription_id).first()
    if existing is not None:
        return existing
    price = Price.objects.select_related("plan").get(pk=data["p"])
    trial_end = now + relativedelta(days=price.trial_days) if price.trial_days else None
    remote = RemoteSubscription(
        id=subscription_id,
        customer_id=f"tm_cus_{data['m']}",
        status="trialing" if trial_end else "active",
        price_id=f"tm_price_{price.pk}",
        item_id="tm_si_" + _digest(session_id),
        metadata={"member_id": str(data["m"]), "price_id": str(price.pk)},
        current_period_start=now,
        current_period_end=trial_end or now + _interval(price),
        trial_end=trial_end,
    )
    invoices = []
    if not trial_end:
        invoices.append(_invoice(remote, price, 1, now))
    checkout = RemoteCheckout(
        id=session_id,
        url="",
        mode="subscription",
        status="complete",
        payment_status="no_payment_required" if trial_end else "paid",
        client_reference_id=str(data["m"]),
        customer_id=remote.customer_id,
        subscription_id=remote.id,
        amount_total=0 if trial_end else price.amount,
        currency=price.currency,
        metadata=remote.metadata,
        shipping=shipping,
    )
    with transaction.atomic():
        return actions.apply_checkout(actions.CheckoutState(checkout, remote, invoices, now))


def _invoice(remote, price, number, paid_at):
    return RemoteInvoice(
        id=f"tm_in_{remote.id.removeprefix('tm_sub_')}_{number}",
        status="paid",
        subscription_id=remote.id,
        customer_id=remote.customer_id,
        amount_paid=price.amount,
        currency=price.currency,
        paid_at=paid_at,
        billing_reason="subscription_create" if number == 1 else "subscription_cycle",
        number=f"TEST-{remote.id[-6:].upper()}-{number:04d}",
    )


def retrieve_checkout(session_id):
    data = load_session(session_id)
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
        metadata={"member_id": str(data["m"]), "price_id": str(data["p"])},
    )


# The "Stripe side" of test-mode subscriptions ------------------------------------------


def retrieve_subscription(subscription_id):
    subscription = by_stripe_id(
        Subscription.objects, "stripe_subscription_id", subscription_id
    ).first()
    if subscription is None:
        raise GatewayError(f"No such subscription: {subscription_id}", code="resource_missing")
    status = subscription.status
    if status == Subscription.Status.REFUNDED:
        status = "canceled"
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
    )


def list_subscriptions():
    for subscription_id in Subscription.objects.filter(
        stripe_subscription_id__startswith="tm_sub_"
    ).values_list("stripe_subscription_id", flat=True):
        yield retrieve_subscription(subscription_id)


def set_cancel_at_period_end(subscription_id, cancel):
    remote = retrieve_subscription(subscription_id)
    return replace(
        remote, cancel_at_period_end=bool(cancel), canceled_at=timezone.now() if cancel else None
    )


def switch_price(subscription_id, *, item_id, price_id):
    return replace(retrieve_subscription(subscription_id), price_id=price_id)


def cancel_subscription(subscription_id):
    remote = retrieve_subscription(subscription_id)
    if remote.status == "canceled":
        return remote
    now = timezone.now()
    return replace(
        remote, status="canceled", cancel_at_period_end=False, canceled_at=now, ended_at=now
    )


def list_paid_invoices(subscription_id):
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
        )
        for payment in payments.exclude(stripe_invoice_id="")
    ]


def invoice_payment(invoice_id):
    return RemotePayment(payment_intent_id="tm_pi_" + _digest(invoice_id))


def refund(*, payment_intent_id: str = "", charge_id: str = "", amount, idempotency_key, metadata):
    # The same key always names the same refund, as with Stripe.
    return RemoteRefund(id="tm_re_" + _digest(idempotency_key), status="succeeded", amount=amount)


def create_portal_session(*, customer_id, return_url):
    raise GatewayError("Test mode has no Customer Portal.", code="test_mode")


def renew_due(now=None):
    """Play Stripe's renewals: charge the test card for every period that has
    ended, or end the subscriptions that were cancelled. Returns what changed."""
    from . import actions

    now = now or timezone.now()
    changes = []
    due = Subscription.objects.filter(
        stripe_subscription_id__startswith="tm_sub_",
        status__in=(Subscription.Status.ACTIVE, Subscription.Status.TRIALING),
        current_period_end__lte=now,
    ).select_related("price", "member")
    for subscription in due:
        remote = retrieve_subscription(subscription.stripe_subscription_id)
        price = subscription.price
        with transaction.atomic():
            if remote.cancel_at_period_end:
                ended = replace(remote, status="canceled", ended_at=remote.current_period_end)
                actions.store_subscription(ended, fetched_at=now)
                changes.append(f"{subscription.member}: {remote.id} ended at the period's end")
                continue
            number = subscription.payments.count() + 1
            while remote.current_period_end <= now:
                start = remote.current_period_end
                remote = replace(
                    remote,
                    status="active",
                    current_period_start=start,
                    current_period_end=start + _interval(price),
                    trial_end=None,
                )
                stored = actions.store_subscription(remote, fetched_at=now)
                actions.store_invoice(stored.subscription, _invoice(remote, price, number, start))
                changes.append(f"{subscription.member}: {remote.id} renewed from {start:%Y-%m-%d}")
                number += 1
    return changes
