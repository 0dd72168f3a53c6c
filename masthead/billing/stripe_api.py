"""Stripe, as Masthead uses it. The only module that imports `stripe`.

The API version is pinned here, and every response is read into the plain
objects of `remote` before it leaves this module, so a Stripe upgrade is one
edit in one file. The client is built from settings at call time
(STRIPE_SECRET_KEY, STRIPE_API_BASE for a local Stripe in tests) and reused
while they stay the same. With no STRIPE_SECRET_KEY every call raises
GatewayError(code="not_configured") without sending anything.
"""

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote

import requests
import stripe
from django.conf import settings

from .remote import (
    Buyer,
    CardDeclined,
    GatewayError,
    RemoteCharge,
    RemoteCheckout,
    RemoteInvoice,
    RemotePayment,
    RemoteRefund,
    RemoteSubscription,
    SignatureError,
    from_timestamp,
)

if TYPE_CHECKING:
    from stripe.params import (
        CouponCreateParams,
        PriceCreateParams,
        ProductCreateParams,
        PromotionCodeCreateParams,
        RefundCreateParams,
    )
    from stripe.params.checkout import (
        SessionCreateParams,
        SessionCreateParamsCustomerUpdate,
        SessionCreateParamsLineItemPriceData,
        SessionCreateParamsSubscriptionData,
    )

API_VERSION = "2026-10-28.endive"
WEBHOOK_TOLERANCE = 300  # seconds: signatures older or newer are refused (replays)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, max_network_retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=API_VERSION,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=max_network_retries,
        http_client=_http_client(api_base or stripe.DEFAULT_API_BASE),
    )


def _http_client(api_base: str) -> stripe.RequestsClient:
    """Stripe's requests client, with the environment's proxy settings
    (HTTPS_PROXY, NO_PROXY) read once, now. Left to itself, requests reads
    os.environ and looks for ~/.netrc on every call: about a tenth of a
    webhook's CPU time."""
    session = requests.Session()
    session.trust_env = False
    proxies = requests.utils.get_environ_proxies(api_base)
    proxy = {scheme: proxies[scheme] for scheme in ("http", "https") if proxies.get(scheme)}
    # Stripe's type wants both schemes, but the dict goes to requests as it
    # is, and requests takes either one alone.
    return stripe.RequestsClient(
        session=session, proxy=cast("stripe.HTTPClient._Proxy", proxy) if proxy else None
    )


def client() -> stripe.StripeClient:
    """The Stripe client for the configured key. Without a key the site is
    in test mode and nothing may reach Stripe: every call made through this
    module stops here, before any request is sent."""
    if not settings.STRIPE_SECRET_KEY:
        raise GatewayError(
            "Stripe is not configured (no STRIPE_SECRET_KEY), so nothing is sent to it.",
            code="not_configured",
        )
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE or "",
        getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 2),
    )


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        raise CardDeclined(
            error.user_message or "The card was declined.",
            code=error.code or "card_declined",
            http_status=error.http_status,
        )
    except stripe.StripeError as error:
        status = error.http_status
        raise GatewayError(
            error.user_message or str(error) or error.__class__.__name__,
            code=error.code or "",
            http_status=status,
            retryable=isinstance(
                error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError
            )
            or (status is not None and status >= 500)
            or status == 409,
        )


def _dict(obj: stripe.StripeObject) -> dict[str, Any]:
    return obj.to_dict()


def _id(value: str | dict[str, Any] | None) -> str:
    """The id of a field Stripe sends as an id or, expanded, as the object."""
    if isinstance(value, dict):
        expanded: str = value.get("id", "")
        return expanded
    return value or ""


# Reading Stripe's objects -----------------------------------------------------


def read_subscription(data: Mapping[str, Any]) -> RemoteSubscription:
    items = (data.get("items") or {}).get("data") or [{}]
    item = items[0]
    return RemoteSubscription(
        id=data["id"],
        customer_id=_id(data.get("customer")),
        status=data.get("status", ""),
        price_id=_id(item.get("price")),
        item_id=item.get("id", ""),
        metadata=dict(data.get("metadata") or {}),
        current_period_start=from_timestamp(item.get("current_period_start")),
        current_period_end=from_timestamp(item.get("current_period_end")),
        trial_end=from_timestamp(data.get("trial_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        canceled_at=from_timestamp(data.get("canceled_at")),
        ended_at=from_timestamp(data.get("ended_at")),
        quantity=int(item.get("quantity") or 1),
        collection_method=data.get("collection_method") or "charge_automatically",
    )


def _first_tax_id(tax_ids: Iterable[Mapping[str, Any]] | None) -> str:
    for tax_id in tax_ids or ():
        value = tax_id.get("value")
        if value:
            return str(value)
    return ""


def _address(address: Mapping[str, Any] | None) -> dict[str, str]:
    return {key: str(value) for key, value in (address or {}).items() if value}


def read_invoice(data: Mapping[str, Any]) -> RemoteInvoice:
    parent = data.get("parent") or {}
    details = parent.get("subscription_details") or {}
    transitions = data.get("status_transitions") or {}
    # Since API version 2025-03-31 an invoice lists its taxes in
    # `total_taxes`; inclusive ones are inside the subtotal, exclusive ones
    # on top of it, and either way part of what was paid.
    tax = sum(int(item.get("amount") or 0) for item in data.get("total_taxes") or ())
    customer = Buyer(
        name=data.get("customer_name") or "",
        email=data.get("customer_email") or "",
        address=_address(data.get("customer_address")),
        tax_id=_first_tax_id(data.get("customer_tax_ids")),
    )
    return RemoteInvoice(
        id=data["id"],
        status=data.get("status") or "",
        subscription_id=_id(details.get("subscription")),
        customer_id=_id(data.get("customer")),
        amount_paid=int(data.get("amount_paid") or 0),
        currency=data.get("currency") or "usd",
        paid_at=from_timestamp(transitions.get("paid_at")),
        billing_reason=data.get("billing_reason") or "",
        hosted_invoice_url=data.get("hosted_invoice_url") or "",
        number=data.get("number") or "",
        tax=tax,
        customer=customer,
    )


def read_checkout(data: Mapping[str, Any]) -> RemoteCheckout:
    collected = data.get("collected_information") or {}
    shipping = collected.get("shipping_details")
    details = data.get("customer_details") or {}
    totals = data.get("total_details") or {}
    codes = [_id(d.get("promotion_code")) for d in data.get("discounts") or []]
    return RemoteCheckout(
        id=data["id"],
        url=data.get("url") or "",
        mode=data.get("mode") or "",
        status=data.get("status") or "",
        payment_status=data.get("payment_status") or "",
        client_reference_id=data.get("client_reference_id") or "",
        customer_id=_id(data.get("customer")),
        subscription_id=_id(data.get("subscription")),
        payment_intent_id=_id(data.get("payment_intent")),
        amount_total=int(data.get("amount_total") or 0),
        currency=data.get("currency") or "",
        metadata=dict(data.get("metadata") or {}),
        shipping=dict(shipping) if shipping else None,
        amount_tax=int(totals.get("amount_tax") or 0),
        customer=Buyer(
            name=details.get("business_name") or details.get("name") or "",
            email=details.get("email") or "",
            address=_address(details.get("address")),
            tax_id=_first_tax_id(details.get("tax_ids")),
        )
        if details
        else None,
        promotion_code_id=next((code for code in codes if code), ""),
    )


def read_charge(data: Mapping[str, Any]) -> RemoteCharge:
    return RemoteCharge(
        id=data["id"],
        payment_intent_id=_id(data.get("payment_intent")),
        amount=int(data.get("amount") or 0),
        amount_refunded=int(data.get("amount_refunded") or 0),
    )


# Webhooks -----------------------------------------------------------------------


def _signed_at(sig_header: str) -> int:
    """The timestamp (t=) of a Stripe-Signature header the library accepted."""
    for item in sig_header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            return int(value)
    raise ValueError("No timestamp in the signature.")


def construct_event(payload: bytes | str, sig_header: str | None, secret: str) -> dict[str, Any]:
    """The event in a verified webhook body, as a dict. Raises SignatureError
    for a missing or forged signature, one signed more than 5 minutes ago or
    ahead, or a body that is not an event with an id Masthead can store."""
    if not secret:
        raise SignatureError("No webhook secret is configured.")
    if not sig_header:
        raise SignatureError("No Stripe-Signature header.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8") if isinstance(payload, bytes) else payload,
            sig_header,
            secret,
            WEBHOOK_TOLERANCE,
        )
        # The library refuses only timestamps too far in the past; one from
        # the future would let a captured delivery be replayed until then.
        if _signed_at(sig_header) > time.time() + WEBHOOK_TOLERANCE:
            raise SignatureError("The signature's timestamp is in the future.")
        event: object = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        raise SignatureError(str(error))
    event_id = event.get("id") if isinstance(event, dict) else None
    valid_id = isinstance(event_id, str) and 0 < len(event_id) <= 100
    if not isinstance(event, dict) or not valid_id:
        raise SignatureError("Not an event.")
    return event


# Catalogue --------------------------------------------------------------------------


def create_product(*, name: str, description: str, metadata: dict[str, str]) -> str:
    params: ProductCreateParams = {"name": name, "metadata": metadata}
    if description:
        params["description"] = description
    with _errors():
        return client().v1.products.create(params).id


def create_price(
    *,
    product_id: str,
    amount: int,
    currency: str,
    interval: str,
    metadata: dict[str, str],
    tax_behavior: Literal["inclusive", "exclusive", ""] = "",
) -> str:
    """A recurring price. `tax_behavior` says whether Stripe Tax counts the
    amount as including tax or adds tax to it; Stripe lets it be set once."""
    params: PriceCreateParams = {
        "product": product_id,
        "unit_amount": amount,
        "currency": currency,
        "recurring": {"interval": interval},
        "metadata": metadata,
    }
    if tax_behavior:
        params["tax_behavior"] = tax_behavior
    with _errors():
        price = client().v1.prices.create(params)
    return price.id


def _tax_params(params: "SessionCreateParams", *, existing_customer: bool) -> None:
    """Stripe Tax on a Checkout Session: tax worked out from the buyer's
    address (Stripe prefers the shipping address when one is collected, as
    for print), and a business's tax ID collected. A known customer's
    address and name must be saved back to them for Stripe to use them."""
    params["automatic_tax"] = {"enabled": True}
    params["tax_id_collection"] = {"enabled": True}
    params["billing_address_collection"] = "required"
    if existing_customer:
        update: SessionCreateParamsCustomerUpdate = {"address": "auto", "name": "auto"}
        if "shipping_address_collection" in params:
            update["shipping"] = "auto"
        params["customer_update"] = update


def create_coupon(
    *,
    name: str,
    percent_off: int | None,
    amount_off: int | None,
    currency: str,
    duration: str,
    duration_in_months: int | None,
    product_ids: list[str],
    metadata: dict[str, str],
) -> str:
    """A coupon for an offer: percent or amount off, "repeating" for some
    months or "forever", good only for the offer's plans (Stripe products)."""
    params: CouponCreateParams = {"name": name[:40], "duration": duration, "metadata": metadata}
    if percent_off is not None:
        params["percent_off"] = float(percent_off)
    else:
        params["amount_off"] = amount_off or 0
        params["currency"] = currency
    if duration == "repeating":
        params["duration_in_months"] = duration_in_months or 1
    if product_ids:
        params["applies_to"] = {"products": product_ids}
    with _errors():
        return client().v1.coupons.create(params).id


def create_promotion_code(
    *,
    coupon_id: str,
    code: str,
    expires_at: int | None,
    max_redemptions: int | None,
    metadata: dict[str, str],
) -> str:
    """The code a reader types (or an offer's landing page applies) for a coupon."""
    params: PromotionCodeCreateParams = {
        "promotion": {"type": "coupon", "coupon": coupon_id},
        "code": code,
        "metadata": metadata,
    }
    if expires_at:
        params["expires_at"] = expires_at
    if max_redemptions:
        params["max_redemptions"] = max_redemptions
    with _errors():
        return client().v1.promotion_codes.create(params).id


def deactivate_promotion_code(promotion_code_id: str) -> None:
    """Stop a code working on Stripe's checkout page (a coupon's terms cannot
    change: an offer that changes gets a new coupon and code)."""
    with _errors():
        client().v1.promotion_codes.update(promotion_code_id, {"active": False})


# Checkout and the Customer Portal ---------------------------------------------------


def create_subscription_checkout(
    *,
    price_id: str,
    member_id: int,
    email: str,
    customer_id: str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
    trial_days: int = 0,
    trial_without_card: bool = False,
    promotion_code_id: str = "",
    shipping_countries: Iterable[str] = (),
    automatic_tax: bool = False,
    quantity: int = 1,
) -> RemoteCheckout:
    """A Checkout Session in subscription mode for one member (linked by id),
    with Stripe Tax when `automatic_tax`. `quantity`: the seats an
    organisation buys (the buyer is the member). `promotion_code_id` applies an
    offer's code; without one the buyer may type a code on Stripe's page. A
    trial `trial_without_card` asks for no card, and the subscription is
    cancelled at the trial's end unless one was added by then."""
    subscription_data: SessionCreateParamsSubscriptionData = {"metadata": metadata}
    params: SessionCreateParams = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": quantity}],
        "client_reference_id": str(member_id),
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    # Stripe takes either a discount or the code box, not both.
    if promotion_code_id:
        params["discounts"] = [{"promotion_code": promotion_code_id}]
    else:
        params["allow_promotion_codes"] = True
    if trial_days:
        subscription_data["trial_period_days"] = trial_days
        if trial_without_card:
            params["payment_method_collection"] = "if_required"
            subscription_data["trial_settings"] = {
                "end_behavior": {"missing_payment_method": "cancel"}
            }
    if customer_id:
        params["customer"] = customer_id
    else:
        params["customer_email"] = email
    if shipping_countries:
        params["shipping_address_collection"] = {"allowed_countries": list(shipping_countries)}
    if automatic_tax:
        _tax_params(params, existing_customer=bool(customer_id))
    with _errors():
        return read_checkout(_dict(client().v1.checkout.sessions.create(params)))


def create_payment_checkout(
    *,
    name: str,
    amount: int,
    currency: str,
    email: str,
    client_reference_id: int | str,
    success_url: str,
    cancel_url: str,
    metadata: dict[str, str],
    shipping_countries: Iterable[str] = (),
    tax_behavior: Literal["inclusive", "exclusive", ""] = "",
) -> RemoteCheckout:
    """A Checkout Session in payment mode: one charge, for a gift. With a
    `tax_behavior`, Stripe Tax works out the tax on it."""
    price_data: SessionCreateParamsLineItemPriceData = {
        "currency": currency,
        "unit_amount": amount,
        "product_data": {"name": name},
    }
    if tax_behavior:
        price_data["tax_behavior"] = tax_behavior
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if email:
        params["customer_email"] = email
    if client_reference_id:
        params["client_reference_id"] = str(client_reference_id)
    if shipping_countries:
        params["shipping_address_collection"] = {"allowed_countries": list(shipping_countries)}
    if tax_behavior:
        _tax_params(params, existing_customer=False)
    with _errors():
        return read_checkout(_dict(client().v1.checkout.sessions.create(params)))


def retrieve_checkout(session_id: str) -> RemoteCheckout:
    with _errors():
        return read_checkout(_dict(client().v1.checkout.sessions.retrieve(session_id)))


def create_portal_session(*, customer_id: str, return_url: str) -> str:
    with _errors():
        session = client().v1.billing_portal.sessions.create(
            {"customer": customer_id, "return_url": return_url}
        )
    return session.url


# Subscriptions ------------------------------------------------------------------------


def retrieve_subscription(subscription_id: str) -> RemoteSubscription:
    # Every webhook calls this: the raw JSON skips building StripeObjects.
    with _errors():
        response = client().raw_request("get", f"/v1/subscriptions/{quote(subscription_id)}")
    return read_subscription(response.data)


def list_subscriptions() -> Iterator[RemoteSubscription]:
    """Every subscription on the account, whatever its status."""
    with _errors():
        page = client().v1.subscriptions.list({"status": "all", "limit": 100})
        for subscription in page.auto_paging_iter():
            yield read_subscription(_dict(subscription))


def list_customer_subscriptions(customer_id: str) -> list[RemoteSubscription]:
    """A customer's subscriptions, whatever their status (read only: an
    importer links readers who already pay on Stripe)."""
    with _errors():
        response = client().raw_request(
            "get", "/v1/subscriptions", customer=customer_id, status="all", limit=100
        )
    return [read_subscription(data) for data in response.data.get("data") or []]


def retrieve_price(price_id: str) -> tuple[int, str, str]:
    """(amount, currency, interval) of a Stripe price (read only)."""
    with _errors():
        response = client().raw_request("get", f"/v1/prices/{quote(price_id)}")
    data = response.data
    recurring = data.get("recurring") or {}
    return (
        data.get("unit_amount") or 0,
        data.get("currency") or "usd",
        recurring.get("interval", ""),
    )


def set_cancel_at_period_end(subscription_id: str, cancel: bool) -> RemoteSubscription:
    with _errors():
        return read_subscription(
            _dict(
                client().v1.subscriptions.update(
                    subscription_id, {"cancel_at_period_end": bool(cancel)}
                )
            )
        )


def give_discount(subscription_id: str, *, percent_off: int, months: int) -> RemoteSubscription:
    """Put `percent_off` for the next `months` months on a subscription (a
    retention offer). The coupon has a fixed id per offer, made once."""
    coupon_id = f"masthead-retention-{percent_off}-{months}"
    try:
        with _errors():
            client().v1.coupons.create(
                {
                    "id": coupon_id,
                    "name": f"{percent_off}% off for {months} months",
                    "percent_off": float(percent_off),
                    "duration": "repeating",
                    "duration_in_months": months,
                }
            )
    except GatewayError as error:
        if error.code != "resource_already_exists":
            raise
    with _errors():
        return read_subscription(
            _dict(
                client().v1.subscriptions.update(
                    subscription_id, {"discounts": [{"coupon": coupon_id}]}
                )
            )
        )


def switch_price(subscription_id: str, *, item_id: str, price_id: str) -> RemoteSubscription:
    """Move the subscription to another price, prorating the difference."""
    with _errors():
        return read_subscription(
            _dict(
                client().v1.subscriptions.update(
                    subscription_id,
                    {
                        "items": [{"id": item_id, "price": price_id}],
                        "proration_behavior": "create_prorations",
                    },
                )
            )
        )


def create_customer(*, name: str, email: str, metadata: dict[str, str]) -> str:
    """A customer for an organisation; Stripe emails its invoices to `email`."""
    with _errors():
        customer = client().v1.customers.create(
            {"name": name, "email": email, "metadata": metadata}
        )
    return str(customer.id)


def create_group_subscription(
    *,
    customer_id: str,
    price_id: str,
    seats: int,
    metadata: dict[str, str],
    days_until_due: int,
) -> RemoteSubscription:
    """An organisation's subscription of `seats` seats, billed by invoices
    Stripe emails to the customer, due `days_until_due` days after."""
    with _errors():
        return read_subscription(
            _dict(
                client().v1.subscriptions.create(
                    {
                        "customer": customer_id,
                        "items": [{"price": price_id, "quantity": seats}],
                        "collection_method": "send_invoice",
                        "days_until_due": days_until_due,
                        "metadata": metadata,
                    }
                )
            )
        )


def set_quantity(subscription_id: str, *, item_id: str, seats: int) -> RemoteSubscription:
    """Change an organisation's seats, prorating the difference."""
    with _errors():
        return read_subscription(
            _dict(
                client().v1.subscriptions.update(
                    subscription_id,
                    {
                        "items": [{"id": item_id, "quantity": seats}],
                        "proration_behavior": "create_prorations",
                    },
                )
            )
        )


def cancel_subscription(subscription_id: str) -> RemoteSubscription:
    """End the subscription now. Cancelling one already cancelled is not an error."""
    try:
        with _errors():
            return read_subscription(_dict(client().v1.subscriptions.cancel(subscription_id)))
    except GatewayError:
        current = retrieve_subscription(subscription_id)
        if current.status in ("canceled", "incomplete_expired"):
            return current
        raise


# Invoices, payments and refunds ----------------------------------------------------------


def list_paid_invoices(subscription_id: str) -> list[RemoteInvoice]:
    with _errors():
        page = client().v1.invoices.list({"subscription": subscription_id, "limit": 100})
        invoices = [read_invoice(_dict(invoice)) for invoice in page.auto_paging_iter()]
    return [invoice for invoice in invoices if invoice.status == "paid"]


def retrieve_invoice(invoice_id: str) -> RemoteInvoice:
    with _errors():
        return read_invoice(_dict(client().v1.invoices.retrieve(invoice_id)))


def invoice_payment(invoice_id: str) -> RemotePayment:
    """The PaymentIntent (or charge) that paid an invoice."""
    with _errors():
        page = client().v1.invoice_payments.list({"invoice": invoice_id, "limit": 10})
        for item in page.data:
            data = _dict(item)
            if data.get("status") == "paid":
                payment = data.get("payment") or {}
                return RemotePayment(
                    payment_intent_id=_id(payment.get("payment_intent")),
                    charge_id=_id(payment.get("charge")),
                )
    return RemotePayment()


def refund(
    *,
    payment_intent_id: str = "",
    charge_id: str = "",
    amount: int,
    idempotency_key: str,
    metadata: dict[str, str],
) -> RemoteRefund:
    """Refund `amount` of one payment. The same key always yields the same refund."""
    params: RefundCreateParams = {
        "amount": amount,
        "reason": "requested_by_customer",
        "metadata": metadata,
    }
    if payment_intent_id:
        params["payment_intent"] = payment_intent_id
    else:
        params["charge"] = charge_id
    with _errors():
        result = client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    return RemoteRefund(id=result.id, status=result.status or "", amount=result.amount)


def retrieve_charge(charge_id: str) -> RemoteCharge:
    with _errors():
        return read_charge(_dict(client().v1.charges.retrieve(charge_id)))
