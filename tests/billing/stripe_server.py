"""A local Stripe API for the tests: localstripe, extended with what it lacks.

localstripe (from PyPI) answers customers, payment methods, products, plans,
subscriptions, invoices, payment intents, charges and refunds, and keeps
their state. `StripeServer` serves localstripe's own routes on 127.0.0.1 from
a thread, behind one aiohttp middleware that adds:

- Prices (`/v1/prices`), stored as localstripe Plans under the same id.
- Checkout Sessions in subscription and payment mode (a line item's
  `quantity` too: an organisation's seats), and `pay_checkout()` to do what
  a customer does on Stripe's hosted page.
- Billing Portal sessions.
- Coupons and promotion codes (`/v1/coupons`, `/v1/promotion_codes`), a
  Checkout Session's `discounts` or its code box (`allow_promotion_codes`,
  a code typed in `pay_checkout()`), and the discount on each invoice while
  the coupon lasts, as a negative invoice item (localstripe has no discounts).
- Free trials that ask for no card (`payment_method_collection=if_required`
  with `trial_settings.end_behavior.missing_payment_method=cancel`), and
  `end_trial()` to do what Stripe does when one ends.
- Invoice Payments (`GET /v1/invoice_payments?invoice=`).
- Subscriptions billed by invoice (`collection_method=send_invoice` with
  `days_until_due`): active at once, their first invoice open and "sent"
  to the customer's email (refused for a customer without one), noted in
  `sent_invoices`; `proration_behavior` of every update is noted in
  `prorations`.
- Idempotency keys: a POST repeated with the same key gets the first answer
  again; other parameters with the same key get Stripe's idempotency_error.
- Refund limits: a charge cannot be refunded beyond its amount
  (`charge_already_refunded`), as on Stripe.
- The object shapes of the pinned API version (subscription items carry
  `price` and the current period; invoices say their subscription under
  `parent` and no longer carry `charge`, `payment_intent` or `subscription`).
- Webhook deliveries signed with Stripe's scheme (`t=...,v1=HMAC-SHA256`),
  retried until the endpoint answers 2xx.
- Stripe Tax, as Checkout does it: prices' `tax_behavior`; Checkout
  Sessions' `automatic_tax`, `tax_id_collection`, `billing_address_collection`
  and `customer_update` (refused where Stripe refuses them); tax worked out
  at `TAX_RATES` for the shipping address's country when one is collected,
  else the billing address's; sessions' `customer_details` and
  `total_details.amount_tax`, and invoices' `total_taxes` and customer
  details. Exclusive tax is charged on top through a localstripe TaxRate;
  inclusive tax is counted inside the price.

Everything Stripe would compute (amounts, invoices, charges, statuses) comes
from localstripe; this module only adds routes and reshapes JSON.
"""

import asyncio
import hashlib
import hmac
import importlib
import json
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import warnings
from decimal import ROUND_HALF_UP, Decimal

from aiohttp import web
from localstripe import resources as ls
from localstripe.errors import UserError

from masthead.billing.stripe_api import API_VERSION


def _import_localstripe_server():
    # It registers plain functions as aiohttp handlers at import, which
    # aiohttp deprecates; the routes are re-added as coroutines below.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Bare functions are deprecated", DeprecationWarning)
        return importlib.import_module("localstripe.server")


ls_server = _import_localstripe_server()

# What Stripe Tax charges in each country, for the tests: percent.
TAX_RATES = {"DE": 19, "FR": 20, "GB": 20, "IE": 23, "NL": 21, "US": 0}

API_KEY = "sk_test_masthead_local"
WEBHOOK_SECRET = "whsec_masthead_local"


def _random(prefix, n=14):
    return prefix + secrets.token_hex(n)[:n]


def _error(status, message, code="", type_="invalid_request_error", **extra):
    body = {"error": {"message": message, "type": type_, **extra}}
    if code:
        body["error"]["code"] = code
    return web.json_response(body, status=status)


def price_shape(plan, tax_behavior="unspecified"):
    """A localstripe Plan (exported) as the Price object Stripe returns."""
    return {
        "id": plan["id"],
        "object": "price",
        "active": plan.get("active", True),
        "billing_scheme": plan.get("billing_scheme", "per_unit"),
        "created": plan.get("created"),
        "currency": plan["currency"],
        "livemode": False,
        "lookup_key": None,
        "metadata": plan.get("metadata") or {},
        "nickname": plan.get("nickname"),
        "product": plan["product"],
        "recurring": {
            "interval": plan["interval"],
            "interval_count": plan.get("interval_count", 1),
            "meter": None,
            "trial_period_days": plan.get("trial_period_days"),
            "usage_type": plan.get("usage_type", "licensed"),
        },
        "tax_behavior": tax_behavior,
        "tiers_mode": plan.get("tiers_mode"),
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": plan["amount"],
        "unit_amount_decimal": str(plan["amount"]),
    }


class StripeServer:
    def __init__(self):
        self.checkout_sessions = {}
        self.portal_sessions = {}
        self.idempotent = {}
        self.refund_reasons = {}
        self.tax_behaviors = {}  # price id: "inclusive" or "exclusive"
        self.inclusive_taxes = {}  # subscription id: percent counted inside its price
        self.coupons = {}
        self.promotion_codes = {}
        self.discounts = {}  # subscription id: {"coupon", "start", "promotion_code"}
        self.trial_settings = {}  # subscription id: its trial_settings
        self.sent_invoices = {}  # invoice id: the email Stripe sent it to
        self.prorations = []  # (subscription id, proration_behavior) of each update
        self.requests = []  # (method, path) of every API call, for assertions
        self.cpu_seconds = 0.0  # spent answering them, for benchmarks
        self.loop = None
        self.port = None
        self.url = ""
        self.routes = [
            ("POST", "/v1/prices", self.create_price),
            ("GET", "/v1/prices", self.list_prices),
            ("GET", "/v1/prices/{id}", self.retrieve_price),
            ("POST", "/v1/subscriptions", self.create_subscription),
            ("POST", "/v1/subscriptions/{id}", self.update_subscription),
            ("DELETE", "/v1/subscriptions/{id}", self.cancel_subscription),
            ("POST", "/v1/refunds", self.create_refund),
            ("POST", "/v1/coupons", self.create_coupon),
            ("GET", "/v1/coupons/{id}", self.retrieve_coupon),
            ("POST", "/v1/promotion_codes", self.create_promotion_code),
            ("GET", "/v1/promotion_codes/{id}", self.retrieve_promotion_code),
            ("POST", "/v1/promotion_codes/{id}", self.update_promotion_code),
            ("POST", "/v1/checkout/sessions", self.create_checkout_session),
            ("GET", "/v1/checkout/sessions/{id}", self.retrieve_checkout_session),
            ("POST", "/v1/billing_portal/sessions", self.create_portal_session),
            ("GET", "/v1/invoice_payments", self.list_invoice_payments),
        ]

    # Running -----------------------------------------------------------------

    def start(self):
        # Keep localstripe's store in memory: by default it pickles itself to
        # /tmp after every change, shared by every localstripe on the machine.
        ls.store.dump_to_disk = lambda: None
        # localstripe's own webhooks (unsigned by default, sent after a second,
        # in its old API version's shapes) are replaced by `deliver()`; not
        # making them also keeps its store, which it scans often, small.
        ls.Event = _UnsentEvent
        ls.schedule_webhook = lambda event: None
        app = web.Application(
            middlewares=[ls_server.error_middleware, ls_server.auth_middleware, self.middleware]
        )
        for route in ls_server.app.router.routes():
            if route.method == "HEAD":
                continue
            app.router.add_route(route.method, route.resource.canonical, _coroutine(route.handler))
        self._router = web.UrlDispatcher()
        for method, path, handler in self.routes:
            self._router.add_route(method, path, handler)

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self._runner = web.AppRunner(app, access_log=None)
            self.loop.run_until_complete(self._runner.setup())
            self.loop.run_until_complete(web.SockSite(self._runner, sock).start())
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, name="stripe-server", daemon=True).start()
        if not ready.wait(15):
            raise RuntimeError("The local Stripe server did not start.")
        return self

    def stop(self):
        if self.loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def call(self, fn, *args, **kwargs):
        """Run `fn` in the server's thread (localstripe is not thread-safe and
        schedules its own work on the server's event loop)."""

        async def run():
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(15)

    # Plain HTTP access, as any Stripe client sees the API ----------------------------

    def request(self, method, path, data=None, headers=None):
        from urllib.parse import urlencode

        body = None
        all_headers = {"Authorization": f"Bearer {API_KEY}", **(headers or {})}
        if data is not None:
            body = (
                json.dumps(data).encode()
                if path.startswith("/_test/")
                else urlencode(_flatten(data)).encode()
            )
            all_headers["Content-Type"] = (
                "application/json"
                if path.startswith("/_test/")
                else "application/x-www-form-urlencoded"
            )
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def post(self, path, data):
        status, body = self.request("POST", path, data)
        assert status == 200, (path, status, body)
        return body

    # Middleware: idempotency, extra routes, shapes -----------------------------------------

    @web.middleware
    async def middleware(self, request, handler):
        begin = time.thread_time()
        try:
            return await self._middleware(request, handler)
        finally:
            self.cpu_seconds += time.thread_time() - begin

    async def _middleware(self, request, handler):
        self.requests.append((request.method, request.path))
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        if key:
            body = await request.read()
            fingerprint = hashlib.sha256(request.path.encode() + b"\n" + body).hexdigest()
            cached = self.idempotent.get(key)
            if cached is not None:
                if cached[0] != fingerprint:
                    return _error(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        type_="idempotency_error",
                    )
                response = web.Response(
                    body=cached[2], status=cached[1], content_type="application/json"
                )
                response.headers["Idempotent-Replayed"] = "true"
                return response
        match = await self._router.resolve(request)
        try:
            if match.http_exception is None:
                response = await match.handler(request, dict(match))
            else:
                response = await handler(request)
        except UserError as error:
            response = error.to_response()
        response = self.reshape(response)
        if key and response.status < 500:
            self.idempotent[key] = (fingerprint, response.status, response.body)
        return response

    def reshape(self, response):
        if not isinstance(response, web.Response) or response.content_type != "application/json":
            return response
        try:
            data = json.loads(response.body)
        except (TypeError, ValueError):
            return response
        return web.json_response(_reshape(data, self), status=response.status)

    # Prices ---------------------------------------------------------------------------

    async def create_price(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        recurring = data.pop("recurring", None) or {}
        if not recurring.get("interval"):
            return _error(400, "Only recurring prices are supported here.", param="recurring")
        if "unit_amount" not in data or "currency" not in data or "product" not in data:
            return _error(400, "Missing required param: unit_amount, currency or product.")
        tax_behavior = data.pop("tax_behavior", None) or "unspecified"
        if tax_behavior not in ("inclusive", "exclusive", "unspecified"):
            return _error(400, "Invalid tax_behavior.", param="tax_behavior")
        plan = ls.Plan(
            id=_random("price_", 24),
            amount=data["unit_amount"],
            currency=data["currency"],
            product=data["product"],
            interval=recurring["interval"],
            interval_count=recurring.get("interval_count", 1),
            metadata=data.get("metadata"),
            nickname=data.get("nickname"),
        )
        self.tax_behaviors[plan.id] = tax_behavior
        return web.json_response(price_shape(plan._export(), tax_behavior))

    async def retrieve_price(self, request, params):
        plan_id = params["id"]
        return web.json_response(
            price_shape(ls.Plan._api_retrieve(plan_id)._export(), self.tax_behavior(plan_id))
        )

    def tax_behavior(self, price_id):
        return self.tax_behaviors.get(price_id, "unspecified")

    async def list_prices(self, request, params):
        query = ls_server.unflatten_data(request.query)
        plans = ls.Plan._api_list_all("/v1/prices", product=query.get("product"), limit=100)
        return web.json_response(
            {
                "object": "list",
                "url": "/v1/prices",
                "has_more": False,
                "data": [
                    price_shape(plan._export(), self.tax_behavior(plan.id))
                    for plan in plans._list
                    if plan.id.startswith("price_")
                ],
            }
        )

    # Subscriptions: `price` in items, as the API names it now ---------------------------------

    @staticmethod
    def _items_with_plans(items):
        for item in items or []:
            if "price" in item:
                item["plan"] = item.pop("price")
        return items

    async def create_subscription(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        data.pop("expand", None)
        data["items"] = self._items_with_plans(data.get("items"))
        collection = data.pop("collection_method", "charge_automatically")
        days = data.pop("days_until_due", None)
        if collection == "charge_automatically":
            if days is not None:
                return _error(400, "days_until_due is only for collection_method=send_invoice.")
            return web.json_response(ls.Subscription._api_create(**data)._export())
        if collection != "send_invoice":
            return _error(
                400, f"Invalid collection_method: {collection}", param="collection_method"
            )
        if days is None or not str(days).isdigit():
            return _error(400, "Missing required param: days_until_due.", param="days_until_due")
        customer = ls.Customer._api_retrieve(data.get("customer"))
        if not customer.email:
            return _error(
                400,
                "Customer has no email address: a subscription billed by invoice needs one.",
                param="customer",
            )
        # No charge at creation: Stripe opens the first invoice and emails it.
        data["trial_period_days"] = 0
        subscription = ls.Subscription._api_create(**data)
        subscription.trial_period_days = None
        subscription.status = "active"
        subscription.collection_method = "send_invoice"
        subscription.days_until_due = int(days)
        invoice = ls.Invoice(
            customer=subscription.customer,
            subscription=subscription.id,
            items=list(subscription.items._list),
            date=subscription.current_period_start,
        )
        invoice._finalize()
        invoice.collection_method = "send_invoice"
        invoice.due_date = int(time.time()) + int(days) * 86400
        subscription.latest_invoice = invoice.id
        self.sent_invoices[invoice.id] = customer.email
        return web.json_response(subscription._export())

    async def update_subscription(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        data.pop("expand", None)
        self.prorations.append((params["id"], data.pop("proration_behavior", None)))
        data.pop("payment_behavior", None)
        discounts = data.pop("discounts", None)
        if discounts:
            coupon = self.coupons.get(discounts[0].get("coupon"))
            if coupon is None:
                return _error(400, "No such coupon.", code="resource_missing", param="discounts")
            self.discounts[params["id"]] = {"coupon": coupon, "start": int(time.time())}
            coupon["times_redeemed"] += 1
        if "items" in data:
            data["items"] = self._items_with_plans(data["items"])
        subscription = ls.Subscription._api_retrieve(params["id"])
        if subscription.status == "canceled":
            return _error(
                400,
                "A canceled subscription can only update its cancellation_details and metadata.",
            )
        subscription = ls.Subscription._api_update(params["id"], **data)
        if "cancel_at_period_end" in data:
            # Stripe notes when the cancellation was asked for.
            cancelling = subscription.cancel_at_period_end
            subscription.canceled_at = int(time.time()) if cancelling else None
        return web.json_response(subscription._export())

    async def cancel_subscription(self, request, params):
        subscription = ls.Subscription._api_retrieve(params["id"])
        if subscription.status == "canceled":
            return _error(
                400,
                f"A canceled subscription can't be canceled again: {params['id']}",
                code="resource_missing",
            )
        ls.Subscription._api_delete(params["id"])
        subscription.canceled_at = subscription.canceled_at or subscription.ended_at
        subscription.cancel_at_period_end = False
        return web.json_response(subscription._export())

    # Refunds: Stripe's limit and its `reason` ---------------------------------------------------

    async def create_refund(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        reason = data.pop("reason", None)
        charge_id = data.get("charge")
        if data.get("payment_intent"):
            intent = ls.PaymentIntent._api_retrieve(data["payment_intent"])
            charge_id = intent.latest_charge.id if intent.latest_charge else None
        if charge_id:
            charge = ls.Charge._api_retrieve(charge_id)
            amount = int(data.get("amount") or charge.amount - charge.amount_refunded)
            if charge.amount_refunded >= charge.amount:
                return _error(
                    400,
                    f"Charge {charge_id} has already been refunded.",
                    code="charge_already_refunded",
                )
            if charge.amount_refunded + amount > charge.amount:
                return _error(
                    400,
                    "Refund amount is greater than unrefunded amount on charge.",
                    code="amount_too_large",
                )
        refund = ls.Refund(**data)
        self.refund_reasons[refund.id] = reason
        exported = refund._export()
        exported["reason"] = reason
        return web.json_response(exported)

    def refunds_of_charge(self, charge_id):
        def run():
            refunds = ls.Refund._api_list_all(None, charge=charge_id)._list
            return [{**r._export(), "reason": self.refund_reasons.get(r.id)} for r in refunds]

        return self.call(run)

    # Coupons and promotion codes -----------------------------------------------------------

    async def create_coupon(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        duration = data.get("duration") or "once"
        if duration not in ("once", "repeating", "forever"):
            return _error(400, "Invalid duration.", param="duration")
        if ("percent_off" in data) == ("amount_off" in data):
            return _error(400, "You must pass exactly one of percent_off or amount_off.")
        if "amount_off" in data and not data.get("currency"):
            return _error(400, "You must pass currency when passing amount_off.", param="currency")
        if duration == "repeating" and not data.get("duration_in_months"):
            return _error(400, "Missing required param: duration_in_months.")
        if data.get("id") in self.coupons:
            return _error(400, "Coupon already exists.", code="resource_already_exists", param="id")
        coupon = {
            "id": data.get("id") or _random("", 8),
            "object": "coupon",
            "amount_off": int(data["amount_off"]) if "amount_off" in data else None,
            "applies_to": data.get("applies_to"),
            "created": int(time.time()),
            "currency": data.get("currency"),
            "duration": duration,
            "duration_in_months": (
                int(data["duration_in_months"]) if duration == "repeating" else None
            ),
            "livemode": False,
            "max_redemptions": data.get("max_redemptions"),
            "metadata": data.get("metadata") or {},
            "name": data.get("name"),
            "percent_off": float(data["percent_off"]) if "percent_off" in data else None,
            "redeem_by": data.get("redeem_by"),
            "times_redeemed": 0,
            "valid": True,
        }
        self.coupons[coupon["id"]] = coupon
        return web.json_response(coupon)

    async def retrieve_coupon(self, request, params):
        coupon = self.coupons.get(params["id"])
        if coupon is None:
            return _error(404, f"No such coupon: '{params['id']}'", code="resource_missing")
        return web.json_response(coupon)

    async def create_promotion_code(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        promotion = data.get("promotion") or {}
        if promotion.get("type") != "coupon" or promotion.get("coupon") not in self.coupons:
            return _error(
                400, "No such coupon.", code="resource_missing", param="promotion[coupon]"
            )
        code = data.get("code") or _random("", 8).upper()
        taken = [
            promo
            for promo in self.promotion_codes.values()
            if promo["active"] and promo["code"].lower() == code.lower()
        ]
        if taken:
            return _error(400, "An active promotion code with `code` already exists.", param="code")
        promo = {
            "id": _random("promo_", 24),
            "object": "promotion_code",
            "active": _bool(data.get("active", True)),
            "code": code,
            "created": int(time.time()),
            "customer": data.get("customer"),
            "expires_at": int(data["expires_at"]) if data.get("expires_at") else None,
            "livemode": False,
            "max_redemptions": (
                int(data["max_redemptions"]) if data.get("max_redemptions") else None
            ),
            "metadata": data.get("metadata") or {},
            "promotion": {"type": "coupon", "coupon": promotion["coupon"]},
            "restrictions": {
                "first_time_transaction": False,
                "minimum_amount": None,
                "minimum_amount_currency": None,
            },
            "times_redeemed": 0,
        }
        self.promotion_codes[promo["id"]] = promo
        return web.json_response(promo)

    async def retrieve_promotion_code(self, request, params):
        promo = self.promotion_codes.get(params["id"])
        if promo is None:
            return _error(404, f"No such promotion code: '{params['id']}'", code="resource_missing")
        return web.json_response(promo)

    async def update_promotion_code(self, request, params):
        promo = self.promotion_codes.get(params["id"])
        if promo is None:
            return _error(404, f"No such promotion code: '{params['id']}'", code="resource_missing")
        data = await ls_server.get_post_data(request) or {}
        unknown = set(data) - {"active", "metadata", "restrictions"}
        if unknown:
            return _error(400, f"Received unknown parameter: {sorted(unknown)[0]}")
        if "active" in data:
            promo["active"] = _bool(data["active"])
        if "metadata" in data:
            promo["metadata"] = data["metadata"] or {}
        return web.json_response(promo)

    def _promotion_problem(self, promo, product):
        """Why Stripe would refuse a promotion code for `product` now, or None."""
        coupon = self.coupons[promo["promotion"]["coupon"]]
        if not promo["active"] or not coupon["valid"]:
            return "This code is invalid."
        if promo["expires_at"] and promo["expires_at"] <= time.time():
            return "This code has expired."
        cap = promo["max_redemptions"]
        if cap is not None and promo["times_redeemed"] >= cap:
            return "This code has been redeemed the maximum number of times."
        products = (coupon.get("applies_to") or {}).get("products")
        if products and product not in products:
            return "This code is not valid for the items in your order."
        return None

    @staticmethod
    def _discount_amount(coupon, amount):
        if coupon["percent_off"] is not None:
            return round(amount * coupon["percent_off"] / 100)
        return min(amount, coupon["amount_off"])

    def _add_discount_item(self, discount, customer_id, plan, period_start):
        """A negative invoice item for the `discount` on the period that
        starts at `period_start`, while its coupon lasts (localstripe picks up
        a customer's pending items into their next invoice)."""
        if discount is None:
            return
        coupon = discount["coupon"]
        if coupon["duration"] == "once" and period_start > discount["start"]:
            return
        if coupon["duration"] == "repeating":
            from datetime import UTC, datetime

            from dateutil.relativedelta import relativedelta

            start = datetime.fromtimestamp(discount["start"], UTC)
            ends = start + relativedelta(months=coupon["duration_in_months"])
            if datetime.fromtimestamp(period_start, UTC) >= ends:
                return
        off = self._discount_amount(coupon, plan.amount)
        if off:
            ls.InvoiceItem(
                customer=customer_id,
                amount=-off,
                currency=plan.currency,
                description=f"Discount: {coupon.get('name') or coupon['id']}",
            )

    # Checkout ----------------------------------------------------------------------------------

    async def create_checkout_session(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        mode = data.get("mode")
        if mode not in ("subscription", "payment"):
            return _error(400, "Invalid mode.", param="mode")
        if not data.get("success_url"):
            return _error(400, "Missing required param: success_url.", param="success_url")
        if data.get("customer") and data.get("customer_email"):
            return _error(
                400, "You may only specify one of these parameters: customer, customer_email."
            )
        if data.get("customer"):
            ls.Customer._api_retrieve(data["customer"])
        automatic_tax = _bool((data.get("automatic_tax") or {}).get("enabled"))
        tax_id_collection = _bool((data.get("tax_id_collection") or {}).get("enabled"))
        customer_update = data.get("customer_update") or {}
        if customer_update and not data.get("customer"):
            return _error(
                400, "customer_update can only be used with customer.", param="customer_update"
            )
        if (
            automatic_tax
            and data.get("customer")
            and "auto"
            not in (
                customer_update.get("address"),
                customer_update.get("shipping"),
            )
        ):
            return _error(
                400,
                "Automatic tax calculation in Checkout requires a valid address on the "
                "Customer. Add a valid address to the Customer or set either "
                "customer_update[address] or customer_update[shipping] to 'auto'.",
                param="customer_update",
            )
        if tax_id_collection and data.get("customer") and customer_update.get("name") != "auto":
            return _error(
                400,
                "Tax ID collection requires updating business name on the customer. To "
                "enable tax ID collection for an existing customer, please set "
                "customer_update[name] to 'auto'.",
                param="customer_update",
            )
        line_items = data.get("line_items") or []
        if len(line_items) != 1:
            return _error(400, "Exactly one line item is supported here.", param="line_items")
        item = line_items[0]
        quantity = str(item.get("quantity", "1"))
        if not quantity.isdigit() or int(quantity) < 1:
            return _error(
                400,
                "Invalid positive integer",
                param="line_items[0][quantity]",
            )
        quantity = int(quantity)
        discounts = data.get("discounts") or []
        if discounts and _bool(data.get("allow_promotion_codes")):
            return _error(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            )
        for discount in discounts:
            if discount.get("promotion_code") not in self.promotion_codes:
                return _error(
                    400, "No such promotion code.", code="resource_missing", param="discounts"
                )
        subtotal = None
        if mode == "subscription":
            if not item.get("price"):
                return _error(400, "Subscription mode needs a recurring price.", param="line_items")
            try:
                plan = ls.Plan._api_retrieve(item["price"])
            except UserError:
                return _error(
                    400,
                    f"No such price: '{item['price']}'",
                    code="resource_missing",
                    param="line_items[0][price]",
                )
            # Stripe's subtotal is the unit amount times the quantity.
            amount, currency = plan.amount * quantity, plan.currency
            tax_behavior = self.tax_behavior(plan.id)
            subtotal = amount
            if discounts:
                promo = self.promotion_codes[discounts[0]["promotion_code"]]
                problem = self._promotion_problem(promo, plan.product)
                if problem:
                    return _error(400, problem, code="promotion_code_invalid", param="discounts")
                amount -= self._discount_amount(self.coupons[promo["promotion"]["coupon"]], amount)
            trial_days = (data.get("subscription_data") or {}).get("trial_period_days")
            if trial_days:
                amount = 0
        else:
            price_data = item.get("price_data") or {}
            if not price_data.get("unit_amount") or not price_data.get("currency"):
                return _error(400, "Payment mode needs price_data here.", param="line_items")
            amount = int(price_data["unit_amount"]) * quantity
            currency = price_data["currency"]
            tax_behavior = price_data.get("tax_behavior") or "unspecified"
        now = int(time.time())
        pm_collection = data.get("payment_method_collection") or "always"
        session_id = _random("cs_test_", 58)
        collection = data.get("shipping_address_collection")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "allow_promotion_codes": _bool(data.get("allow_promotion_codes")),
            "amount_subtotal": amount if subtotal is None else subtotal,
            "amount_total": amount,
            "automatic_tax": {
                "enabled": automatic_tax,
                "liability": {"type": "self"} if automatic_tax else None,
                "provider": "stripe" if automatic_tax else None,
                "status": "requires_location_inputs" if automatic_tax else None,
            },
            "billing_address_collection": data.get("billing_address_collection"),
            "cancel_url": data.get("cancel_url"),
            "client_reference_id": data.get("client_reference_id"),
            "collected_information": None,
            "created": now,
            "currency": currency,
            "customer": data.get("customer"),
            "customer_details": None,
            "customer_email": data.get("customer_email"),
            "discounts": [
                {
                    "coupon": None,
                    "promotion_code": discount["promotion_code"],
                }
                for discount in discounts
            ],
            "expires_at": now + 24 * 3600,
            "invoice": None,
            "livemode": False,
            "metadata": data.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_method_collection": pm_collection,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "shipping_address_collection": collection,
            "status": "open",
            "subscription": None,
            "success_url": data["success_url"],
            "tax_id_collection": {"enabled": tax_id_collection, "required": "never"},
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "url": f"{self.url}/c/pay/{session_id}",
        }
        self.checkout_sessions[session_id] = {
            "session": session,
            "params": data,
            "tax_behavior": tax_behavior,
            "line_item": item,
            "quantity": quantity,
            "subscription_data": data.get("subscription_data") or {},
            "payment_intent_data": data.get("payment_intent_data") or {},
        }
        return web.json_response(session)

    async def retrieve_checkout_session(self, request, params):
        stored = self.checkout_sessions.get(params["id"])
        if stored is None:
            return _error(404, "No such checkout.session", code="resource_missing")
        return web.json_response(stored["session"])

    def pay_checkout(
        self,
        session_id,
        card="4242424242424242",
        shipping=None,
        name="Test Reader",
        address=None,
        business_name=None,
        tax_id=None,
        promotion_code=None,
    ):
        """Pay a Checkout Session as a customer would on Stripe's page: with a
        billing `address` (Stripe's keys) where the session asks for one, a
        business's name and EU VAT number where it collects tax IDs, typing
        `promotion_code` in its code box if given. `card=None`: no card, for
        a trial that does not ask for one. Returns (HTTP status, session or
        error)."""
        return self.call(
            self._pay_checkout,
            session_id,
            card,
            shipping,
            name,
            address,
            business_name,
            tax_id,
            promotion_code,
        )

    def _tax_rate(self, session, shipping, address):
        """(percent, country) Stripe Tax applies: the shipping address's
        country when the session collects one, else the billing address's."""
        if session["shipping_address_collection"] and shipping:
            country = shipping["address"].get("country")
        else:
            country = (address or {}).get("country")
        return TAX_RATES.get(country, 0), country

    def _pay_checkout(
        self, session_id, card, shipping, name, address, business_name, tax_id, promotion_code=None
    ):
        stored = self.checkout_sessions[session_id]
        session = stored["session"]
        if session["status"] != "open":
            return 400, {"error": {"message": "This Checkout Session is no longer open."}}
        if session["billing_address_collection"] == "required" and not (
            address and address.get("country")
        ):
            return 400, {"error": {"message": "A billing address is required."}}
        taxed = session["automatic_tax"]["enabled"]
        rate, _country = self._tax_rate(session, shipping, address) if taxed else (0, None)
        inclusive = stored["tax_behavior"] == "inclusive"
        if promotion_code:
            if not session["allow_promotion_codes"]:
                return 400, {"error": {"message": "This checkout takes no promotion codes."}}
            typed = [
                promo
                for promo in self.promotion_codes.values()
                if promo["code"].lower() == promotion_code.lower()
            ]
            if not typed:
                return 400, {"error": {"message": "This code is invalid."}}
            session["discounts"] = [{"coupon": None, "promotion_code": typed[0]["id"]}]
        promo = None
        if session["discounts"]:
            promo = self.promotion_codes[session["discounts"][0]["promotion_code"]]
            plan = ls.Plan._api_retrieve(stored["line_item"]["price"])
            problem = self._promotion_problem(promo, plan.product)
            if problem:
                return 400, {"error": {"message": problem, "code": "promotion_code_invalid"}}
        sub_data = stored["subscription_data"]
        no_card_trial = bool(sub_data.get("trial_period_days")) and (
            session["payment_method_collection"] == "if_required"
        )
        if card is None and not no_card_trial:
            return 400, {"error": {"message": "A card is required."}}
        collection = session.get("shipping_address_collection")
        if collection:
            allowed = collection.get("allowed_countries") or []
            if not shipping or shipping["address"].get("country") not in allowed:
                return 400, {
                    "error": {"message": "A shipping address in an allowed country is required."}
                }
        try:
            if session["customer"]:
                customer = ls.Customer._api_retrieve(session["customer"])
            else:
                customer = ls.Customer(email=session["customer_email"], name=name)
            tax_ids = []
            if taxed:
                # Checkout saves what it collected onto the customer (for a
                # known customer, as customer_update allows).
                customer.address = {k: v for k, v in (address or {}).items() if v}
                customer.name = business_name or name
                if tax_id and session["tax_id_collection"]["enabled"]:
                    ls.Customer._api_add_tax_id(customer.id, type="eu_vat", value=tax_id)
                    tax_ids = [{"type": "eu_vat", "value": tax_id}]
            method = None
            if card is not None:
                method = ls.PaymentMethod(
                    type="card",
                    card={"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                    billing_details={"name": name},
                )
                ls.PaymentMethod._api_attach(method.id, customer=customer.id)
                customer.invoice_settings["default_payment_method"] = method.id
            if session["mode"] == "subscription":
                trial_days = sub_data.get("trial_period_days")
                tax_rates = None
                if rate and not inclusive:
                    # localstripe adds an exclusive rate's tax to each invoice.
                    tax_rates = [
                        ls.TaxRate(display_name="Tax", inclusive=False, percentage=float(rate)).id
                    ]
                coupon = self.coupons[promo["promotion"]["coupon"]] if promo else None
                if coupon and not trial_days:
                    plan = ls.Plan._api_retrieve(stored["line_item"]["price"])
                    now = int(time.time())
                    self._add_discount_item(
                        {"coupon": coupon, "start": now}, customer.id, plan, now
                    )
                subscription = ls.Subscription(
                    customer=customer.id,
                    items=[{"plan": stored["line_item"]["price"], "quantity": stored["quantity"]}],
                    metadata=sub_data.get("metadata"),
                    trial_period_days=trial_days,
                    trial_end=int(time.time()) + int(trial_days) * 86400 if trial_days else None,
                    default_tax_rates=tax_rates,
                )
                if rate and inclusive:
                    self.inclusive_taxes[subscription.id] = rate
                # A trial that takes no card has no invoice yet.
                if subscription.latest_invoice:
                    invoice = _reshape(
                        ls.Invoice._api_retrieve(subscription.latest_invoice)._export(), self
                    )
                    session["amount_total"] = invoice["total"]
                    session["total_details"]["amount_tax"] = sum(
                        tax["amount"] for tax in invoice["total_taxes"]
                    )
                else:
                    session["amount_total"] = 0
                if subscription.status not in ("active", "trialing"):
                    if trial_days:
                        subscription.status = "trialing"
                    else:
                        return 402, {
                            "error": {"message": "Your card was declined.", "code": "card_declined"}
                        }
                if coupon:
                    self.discounts[subscription.id] = {
                        "coupon": coupon,
                        "start": subscription.start_date,
                        "promotion_code": promo["id"],
                    }
                    promo["times_redeemed"] += 1
                    coupon["times_redeemed"] += 1
                if sub_data.get("trial_settings"):
                    self.trial_settings[subscription.id] = sub_data["trial_settings"]
                session["subscription"] = subscription.id
                session["invoice"] = subscription.latest_invoice
                session["payment_status"] = "no_payment_required" if trial_days else "paid"
            else:
                amount = session["amount_subtotal"]
                if inclusive:
                    tax = amount - _round(amount * 100 / (100 + rate))
                else:
                    tax = _round(amount * rate / 100)
                    session["amount_total"] = amount + tax
                session["total_details"]["amount_tax"] = tax
                intent = ls.PaymentIntent._api_create(
                    confirm=True,
                    amount=session["amount_total"],
                    currency=session["currency"],
                    customer=customer.id,
                    payment_method=method.id if method else None,
                    metadata=stored["payment_intent_data"].get("metadata"),
                )
                session["payment_intent"] = intent.id
                session["payment_status"] = "paid"
        except UserError as error:
            return error.code, error.body
        session["customer"] = customer.id
        session["customer_details"] = {
            "address": address,
            "business_name": business_name,
            "email": customer.email,
            "individual_name": None,
            "name": business_name or name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": tax_ids,
        }
        if taxed:
            session["automatic_tax"]["status"] = "complete"
        if shipping:
            session["collected_information"] = {
                "business_name": None,
                "individual_name": None,
                "shipping_details": shipping,
            }
            customer.shipping = shipping
        session["status"] = "complete"
        return 200, dict(session)

    # Customer Portal and invoice payments ---------------------------------------------------------

    async def create_portal_session(self, request, params):
        data = await ls_server.get_post_data(request) or {}
        if not data.get("customer"):
            return _error(400, "Missing required param: customer.", param="customer")
        ls.Customer._api_retrieve(data["customer"])
        session_id = _random("bps_", 24)
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": "bpc_" + session_id[4:],
            "created": int(time.time()),
            "customer": data["customer"],
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": data.get("return_url"),
            "url": f"{self.url}/p/session/{session_id}",
        }
        self.portal_sessions[session_id] = session
        return web.json_response(session)

    async def list_invoice_payments(self, request, params):
        query = ls_server.unflatten_data(request.query)
        invoice = ls.Invoice._api_retrieve(query.get("invoice", ""))
        data = []
        if invoice.payment_intent:
            paid = invoice.status == "paid"
            data.append(
                {
                    "id": "inpay_" + invoice.id[3:],
                    "object": "invoice_payment",
                    "amount_paid": invoice.amount_paid if paid else None,
                    "amount_requested": invoice.amount_due,
                    "created": invoice.created,
                    "currency": invoice.currency,
                    "invoice": invoice.id,
                    "is_default": True,
                    "livemode": False,
                    "payment": {"type": "payment_intent", "payment_intent": invoice.payment_intent},
                    "status": "paid" if paid else "open",
                    "status_transitions": {
                        "canceled_at": None,
                        "paid_at": invoice.status_transitions.get("paid_at"),
                    },
                }
            )
        return web.json_response(
            {"object": "list", "url": "/v1/invoice_payments", "has_more": False, "data": data}
        )

    # Stripe's clock, for tests --------------------------------------------------------------------

    def renew(self, subscription_id, card=None):
        """The end of a period: Stripe invoices the next one and charges the
        customer's card (`card` replaces it first: "4000000000000341" fails).
        Returns the new invoice, in the API's shape."""

        def run():
            subscription = ls.Subscription._api_retrieve(subscription_id)
            if card:
                customer = ls.Customer._api_retrieve(subscription.customer)
                method = ls.PaymentMethod(
                    type="card",
                    card={"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
                )
                ls.PaymentMethod._api_attach(method.id, customer=customer.id)
                customer.invoice_settings["default_payment_method"] = method.id
            subscription.start_date = subscription.current_period_end
            subscription.trial_end = None
            plan = ls.Plan._api_retrieve(subscription.plan.id)
            self._add_discount_item(
                self.discounts.get(subscription_id),
                subscription.customer,
                plan,
                subscription.start_date,
            )
            subscription._create_invoice()
            return subscription.latest_invoice

        invoice_id = self.call(run)
        return self.get(f"/v1/invoices/{invoice_id}")

    def end_trial(self, subscription_id):
        """What Stripe does when a trial ends: charge the first period, or,
        for a trial that asked for no card and has none, cancel. Returns
        the new invoice, or None when it cancelled."""

        def customer_has_card():
            subscription = ls.Subscription._api_retrieve(subscription_id)
            customer = ls.Customer._api_retrieve(subscription.customer)
            return bool(customer.invoice_settings.get("default_payment_method"))

        settings = self.trial_settings.get(subscription_id) or {}
        behaviour = (settings.get("end_behavior") or {}).get("missing_payment_method")
        if behaviour == "cancel" and not self.call(customer_has_card):
            self.end_period(subscription_id)
            return None
        return self.renew(subscription_id)

    def end_period(self, subscription_id):
        """What Stripe does at the end of a period it was told not to renew."""

        def run():
            subscription = ls.Subscription._api_delete(subscription_id)
            subscription.canceled_at = subscription.canceled_at or subscription.ended_at

        self.call(run)
        return self.get(f"/v1/subscriptions/{subscription_id}")

    # Events and webhooks ---------------------------------------------------------------------------

    def event(self, type_, obj, previous_attributes=None, created=None):
        data = {"object": obj}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": _random("evt_", 24),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(created if created is not None else time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }

    @staticmethod
    def sign(payload, secret=WEBHOOK_SECRET, timestamp=None):
        timestamp = int(timestamp if timestamp is not None else time.time())
        signed = f"{timestamp}.".encode() + payload
        signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={signature}"

    def deliver(self, url, event, *, secret=WEBHOOK_SECRET, timestamp=None, attempts=1):
        """POST a signed event to `url` as Stripe does, retrying a non-2xx
        answer up to `attempts` times. Returns the statuses received."""
        payload = json.dumps(event, indent=2).encode()
        statuses = []
        for _attempt in range(attempts):
            request = urllib.request.Request(
                url,
                data=payload,
                method="POST",
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": self.sign(payload, secret, timestamp),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    statuses.append(response.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
            if 200 <= statuses[-1] < 300:
                break
        return statuses

    def post_to_client(
        self, client, event, *, secret=WEBHOOK_SECRET, timestamp=None, path="/billing/webhook/"
    ):
        """Deliver a signed event through Django's test client."""
        payload = json.dumps(event, indent=2).encode()
        return client.post(
            path,
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=self.sign(payload, secret, timestamp),
        )


def _coroutine(handler):
    """localstripe's GET handlers are plain functions; aiohttp wants coroutines."""
    if asyncio.iscoroutinefunction(handler):
        return handler

    async def run(request):
        return handler(request)

    return run


class _UnsentEvent:
    def __init__(self, type, data):
        pass


def _bool(value):
    return value in (True, "true", "True", "1")


def _flatten(data, prefix=""):
    items = []
    if isinstance(data, dict):
        for key, value in data.items():
            items += _flatten(value, f"{prefix}[{key}]" if prefix else key)
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            items += _flatten(value, f"{prefix}[{index}]")
    elif data is not None:
        items.append((prefix, str(data).lower() if isinstance(data, bool) else data))
    return items


def _round(value):
    return int(Decimal(str(value)).quantize(Decimal(1), ROUND_HALF_UP))


def _reshape(data, server=None):
    """localstripe's objects in the shapes of the pinned API version."""
    if isinstance(data, list):
        return [_reshape(item, server) for item in data]
    if not isinstance(data, dict):
        return data
    data = {key: _reshape(value, server) for key, value in data.items()}
    kind = data.get("object")
    if kind == "subscription":
        data.setdefault("collection_method", "charge_automatically")
        start, end = data.pop("current_period_start", None), data.pop("current_period_end", None)
        data.pop("plan", None)
        for item in (data.get("items") or {}).get("data") or []:
            item.setdefault("current_period_start", start)
            item.setdefault("current_period_end", end)
    elif kind == "subscription_item":
        plan = data.get("plan")
        if isinstance(plan, dict) and "price" not in data:
            behavior = server.tax_behavior(plan["id"]) if server else "unspecified"
            data["price"] = price_shape(plan, behavior)
    elif kind == "invoice":
        _invoice_taxes(data, server)
        for legacy in ("charge", "payment_intent", "subscription", "date", "tax_percent"):
            data.pop(legacy, None)
        data.setdefault("hosted_invoice_url", None)
        data.setdefault("number", None)
    return data


def _invoice_taxes(data, server):
    """An invoice's tax as the API has said it since 2025-03-31: `total_taxes`
    (localstripe's `tax` and `total_tax_amounts` are gone), and the customer's
    name, address and tax IDs as they were when it was finalised."""
    data.pop("tax", None)
    amounts = data.pop("total_tax_amounts", None) or []
    taxes = [
        {
            "amount": amount["amount"],
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": amount["tax_rate"]},
            "taxability_reason": "standard_rated",
            "taxable_amount": data.get("subtotal"),
            "type": "tax_rate_details",
        }
        for amount in amounts
    ]
    parent = data.get("parent") or {}
    subscription_id = (parent.get("subscription_details") or {}).get("subscription")
    rate = server.inclusive_taxes.get(subscription_id) if server else None
    if rate:
        total = data.get("total") or 0
        tax = total - _round(total * 100 / (100 + rate))
        taxes.append(
            {
                "amount": tax,
                "tax_behavior": "inclusive",
                "tax_rate_details": None,
                "taxability_reason": "standard_rated",
                "taxable_amount": total - tax,
                "type": "tax_rate_details",
            }
        )
    data["total_taxes"] = taxes
    if server is not None and data.get("customer"):
        customer = ls.Customer._api_retrieve(data["customer"])
        data["customer_name"] = customer.name
        data["customer_address"] = customer.address or None
        data["customer_tax_ids"] = [
            {"type": tax_id.type, "value": tax_id.value} for tax_id in customer.tax_ids._list
        ]
