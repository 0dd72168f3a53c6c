"""Subscribe, checkout, the account page's billing buttons, gifts, webhooks.
Thin: each view checks the request and calls one action."""

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from masthead.accounts import ratelimit
from masthead.accounts.models import User
from masthead.accounts.next_url import safe_next

from . import actions, gateway, testmode, webhooks
from .forms import (
    BillingDetailsForm,
    BuySeatsForm,
    GiftForm,
    InviteForm,
    ReasonForm,
    ShippingAddressForm,
    TestCardForm,
)
from .models import (
    Gift,
    Invoice,
    IssuePurchase,
    Offer,
    Organisation,
    OrganisationSeat,
    Plan,
    Price,
    Subscription,
    format_money,
)
from .remote import CardDeclined, GatewayError, RemoteCheckout

if TYPE_CHECKING:
    from django.http import QueryDict

logger = logging.getLogger(__name__)
Result = TypeVar("Result")

ACCOUNT_URL = "/account/"
UNAVAILABLE = "Payments are unavailable for a moment. Nothing was charged; please try again."
PAID_STATUSES = (Subscription.Status.ACTIVE, Subscription.Status.TRIALING)
TOO_MANY_GIFTS = "Too many gifts for now. Please try again tomorrow."
NO_SUCH_OFFER = "There is no offer with that code. Check it and try again."


def _to_account(
    request: HttpRequest, message: str | None = None, level: int = messages.SUCCESS
) -> HttpResponseRedirect:
    if message:
        messages.add_message(request, level, message, extra_tags="billing")
    return redirect(ACCOUNT_URL)


def subscribe(request: HttpRequest) -> HttpResponse:
    plans = (
        Plan.objects.filter(active=True).prefetch_related("prices").order_by("sort_order", "name")
    )
    offers = []
    for plan in plans:
        prices = {price.interval: price for price in plan.prices.all() if price.active}
        if prices:
            offers.append(
                {"plan": plan, "monthly": prices.get("month"), "yearly": prices.get("year")}
            )
    return render(
        request,
        "billing/subscribe.html",
        {
            "offers": offers,
            "current": actions.live_subscription(request.user),
            "test_mode": gateway.test_mode(),
            "from_article": _from_article(request.GET),
            "tax_note": actions.tax_note(),
        },
    )


def _from_article(data: "QueryDict") -> int | None:
    """The article whose paywall the reader came from (`?from=<page id>`),
    or None; anything but a page id is ignored."""
    value = data.get("from", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@require_http_methods(["GET", "POST"])
def start_checkout(request: HttpRequest, price_id: int) -> HttpResponse:
    """Start paying for a price. GET too: the paywall's plans are links, as
    a cached article page carries no CSRF token, and starting a checkout
    charges nothing until the reader pays. `next` is the article to return
    to once they have."""
    return_to = safe_next(request.POST.get("next") or request.GET.get("next"))
    if not request.user.is_authenticated:
        if request.method == "GET":
            return redirect_to_login(request.get_full_path())
        # Back to the plans after signing in: a sign-in ends in a GET.
        return redirect_to_login(reverse("billing:subscribe"))
    price = get_object_or_404(Price.objects.select_related("plan"), pk=price_id)
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("offer", "")[:40]
    offer = actions.find_offer(code) if code else None
    if code and offer is None:
        messages.error(request, NO_SUCH_OFFER, extra_tags="billing")
        return redirect("billing:subscribe")
    if not ratelimit.allow_member(
        request, request.user, ratelimit.CHECKOUT_PER_MEMBER, ratelimit.CHECKOUT_PER_SOURCE
    ):
        return render(request, "accounts/too_many_requests.html", status=429)
    try:
        url = actions.start_checkout(
            _member(request),
            price,
            from_article=_from_article(data),
            return_to=return_to,
            offer=offer,
        )
    except actions.BillingError as error:
        messages.error(request, error.message, extra_tags="billing")
        if offer is not None:
            return redirect(offer.get_absolute_url())
        return redirect("billing:subscribe")
    except GatewayError:
        logger.exception("Checkout could not start")
        messages.error(request, UNAVAILABLE, extra_tags="billing")
        return redirect("billing:subscribe")
    return HttpResponseRedirect(url, status=303)


def _fulfil_own_session(
    request: HttpRequest, session_id: str
) -> tuple[RemoteCheckout, actions.Fulfilled | None]:
    """Fulfil a Checkout Session the signed-in member started (the webhook's
    code path); 404 for anyone else's."""
    if gateway.test_mode() and not session_id.startswith(testmode.SESSION_PREFIX):
        # Without Stripe keys only test mode's own sessions exist; any other
        # id is unknown here, not a question for Stripe.
        raise Http404("No such checkout.")
    try:
        state = actions.fetch_checkout(session_id)
    except GatewayError:
        raise Http404("No such checkout.")
    if state.checkout.client_reference_id != str(request.user.pk):
        raise Http404("No such checkout.")
    with transaction.atomic():
        return state.checkout, actions.apply_checkout(state)


@login_required
def success(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not session_id:
        return redirect("billing:subscribe")
    checkout, subscription = _fulfil_own_session(request, session_id)
    bought = (
        Organisation.objects.filter(subscription=subscription).first()
        if isinstance(subscription, Subscription) and subscription.member_id is None
        else None
    )
    if bought is not None:
        messages.success(
            request,
            f"Thank you: {bought.name} has {bought.seats} seats of {bought.plan.name}. "
            "Invite its readers here.",
            extra_tags="billing",
        )
        return redirect("billing:organisation", bought.pk)
    return_to = safe_next(request.GET.get("next"))
    paid = subscription is not None and subscription.status in PAID_STATUSES
    if return_to and paid:
        # Paid from a paywall: straight back to the article, now readable.
        return redirect(return_to)
    return render(
        request,
        "billing/success.html",
        {
            "checkout": checkout,
            "subscription": subscription,
            "account_url": ACCOUNT_URL,
            "return_to": return_to,
        },
    )


@require_safe
def offer(request: HttpRequest, code: str) -> HttpResponse:
    """An offer's landing page: what it gives and the plans it is good for,
    each a button to checkout with it; or why it cannot be taken."""
    found = actions.find_offer(code)
    if found is None:
        raise Http404(NO_SUCH_OFFER)
    if found.code != code:
        return redirect(found.get_absolute_url(), permanent=True)
    problem = found.refusal()
    if request.method == "GET" and problem is None:  # not a HEAD
        actions.count_offer_view(found)
    return render(
        request,
        "billing/offer.html",
        {
            "offer": found,
            "problem": problem,
            "prices": [] if problem else actions.offer_prices(found),
            "current": actions.live_subscription(request.user),
            "test_mode": gateway.test_mode(),
        },
        status=410 if problem else 200,
    )


@require_safe
def offer_code(request: HttpRequest) -> HttpResponse:
    """The subscribe page's code box: on to the offer's page."""
    code = request.GET.get("code", "").strip()[:40]
    found = actions.find_offer(code) if code else None
    if found is None:
        messages.error(request, NO_SUCH_OFFER, extra_tags="billing")
        return redirect("billing:subscribe")
    return redirect(found.get_absolute_url())


def checkout_cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/checkout_cancel.html")


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    outcome = webhooks.receive(request.body, request.headers.get("Stripe-Signature"))
    return HttpResponse(outcome.result, status=outcome.status, content_type="text/plain")


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    try:
        url = actions.portal_url(_member(request), return_url=actions.absolute_url(ACCOUNT_URL))
    except GatewayError:
        logger.exception("Customer Portal unavailable")
        return _to_account(request, UNAVAILABLE, messages.ERROR)
    if url is None:
        return _to_account(
            request,
            "Payment methods and invoices are handled by Stripe, which is not connected "
            "(test mode).",
            messages.INFO,
        )
    return HttpResponseRedirect(url, status=303)


def _member(request: HttpRequest) -> "User":
    """The signed-in member, in a view behind `login_required`."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def _billing_action(
    request: HttpRequest,
    action: Callable[["User", str], Result],
    success_message: Callable[[Result], str],
) -> HttpResponse:
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        result = action(_member(request), reason)
    except actions.RefundIncomplete as error:
        return _to_account(request, error.message, messages.WARNING)
    except actions.BillingError as error:
        return _to_account(request, error.message, messages.ERROR)
    except GatewayError:
        logger.exception("Billing action failed")
        return _to_account(request, UNAVAILABLE, messages.ERROR)
    return _to_account(request, success_message(result))


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest) -> HttpResponse:
    """GET asks first, saying when access ends; only the POST cancels."""
    if request.method == "GET":
        subscription = actions.live_subscription(_member(request))
        if subscription is None or subscription.cancel_at_period_end:
            return _to_account(request)
        return render(
            request,
            "billing/confirm_cancel.html",
            {
                "subscription": subscription,
                "access_until": actions.display_date(subscription.current_period_end),
                "retention_offer": actions.retention_offer(subscription),
            },
        )
    return _billing_action(
        request,
        actions.cancel_subscription,
        lambda sub: (
            "Your subscription is cancelled. You keep access until "
            f"{actions.display_date(sub.current_period_end)}, and can resume until then."
        ),
    )


@login_required
@require_POST
def stay(request: HttpRequest) -> HttpResponse:
    """The retention offer, taken from the cancel page in one click."""
    return _billing_action(
        request,
        actions.accept_retention_offer,
        lambda sub: (
            f"Thank you for staying: {sub.retention_percent_off}% off for the next "
            f"{sub.retention_months} months. Your subscription continues as before."
        ),
    )


@login_required
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    return _billing_action(
        request,
        lambda user, reason: actions.resume_subscription(user),
        lambda sub: "Welcome back: your subscription will renew as before.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def refund(request: HttpRequest) -> HttpResponse:
    """GET asks first, saying how much comes back and that access ends now;
    only the POST refunds."""
    if request.method == "GET":
        subscription, problem = actions.refundable_subscription(_member(request))
        if problem or subscription is None:
            return _to_account(request, problem or "There is no payment to refund.", messages.INFO)
        return render(
            request,
            "billing/confirm_refund.html",
            {"subscription": subscription, "amount": actions.refund_amount(subscription)},
        )
    return _billing_action(
        request,
        actions.refund_subscription,
        lambda refund: f"Refunded {refund.display_amount}. Your subscription has ended.",
    )


@login_required
@require_POST
def switch(request: HttpRequest, price_id: int) -> HttpResponse:
    price = get_object_or_404(Price.objects.select_related("plan"), pk=price_id)
    return _billing_action(
        request,
        lambda user, reason: actions.switch_plan(user, price),
        lambda sub: (
            f"You are now on {sub.plan.name}, billed {price.display_amount} per {price.interval}."
        ),
    )


@login_required
def invoice_pdf(request: HttpRequest, number: int) -> HttpResponse:
    """A member's invoice as PDF; anyone else's is not found."""
    from .invoices import invoice_pdf

    invoice = get_object_or_404(Invoice, number=number, member=_member(request))
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.reference}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# Test mode -------------------------------------------------------------------------


@login_required
def test_checkout(request: HttpRequest, session: str) -> HttpResponse:
    if not session.startswith(testmode.SESSION_PREFIX):
        raise Http404("No such checkout.")
    try:
        data = testmode.load_session(session)
    except GatewayError as error:
        messages.error(request, error.message, extra_tags="billing")
        return redirect("billing:subscribe")
    if data["m"] != request.user.pk:
        raise Http404("No such checkout.")
    gift = price = purchase = plan = offer = None
    seats = data.get("s", 1)
    if "g" in data:
        gift = get_object_or_404(Gift.objects.select_related("plan"), pk=data["g"])
        plan, amount, needs_address = gift.plan, gift.display_amount, False
        done_url = reverse("billing:gift_thanks")
    elif "i" in data:
        purchase = get_object_or_404(IssuePurchase.objects.select_related("issue"), pk=data["i"])
        amount, needs_address = purchase.display_amount, False
        done_url = reverse("billing:issue_bought")
    else:
        price = get_object_or_404(Price.objects.select_related("plan"), pk=data["p"])
        plan, amount, needs_address = price.plan, price.display_amount, price.plan.includes_print
        done_url = reverse("billing:success")
        offer = Offer.objects.filter(pk=data["o"]).first() if "o" in data else None
        if offer is not None and not offer.is_trial:
            amount = format_money(offer.discounted(price.amount, 0), price.currency)
        if "s" in data:
            amount = format_money(price.amount * seats, price.currency)
    return_to = safe_next(data.get("r"))
    countries = actions.shipping_countries()
    card_form = TestCardForm(request.POST or None)
    address_form = (
        ShippingAddressForm(request.POST or None, countries=countries) if needs_address else None
    )
    # As Stripe Checkout does with Stripe Tax on: a billing address and,
    # for a business, its tax ID.
    details_form = BillingDetailsForm(request.POST or None) if actions.tax_enabled() else None
    base_amount = gift.amount if gift else price.amount if price else 0
    if price is not None and offer is not None and not offer.is_trial:
        base_amount = offer.discounted(price.amount, 0)
    base_amount *= seats
    total, tax = testmode.with_tax(base_amount)
    currency = gift.currency if gift else price.currency if price else "usd"
    if purchase is not None:
        # Single issues are sold untaxed for now (see the README).
        total, tax, currency = purchase.amount, 0, purchase.currency
    card_error = ""
    cardless = offer is not None and offer.is_trial and offer.trial_end == Offer.TrialEnd.CANCEL
    if request.method == "POST" and cardless and "without_card" in request.POST:
        if address_form is None or address_form.is_valid():
            testmode.complete_checkout(
                session,
                shipping=address_form.stripe_shipping() if address_form else None,
                with_card=False,
            )
            query = {"session_id": session}
            if return_to:
                query["next"] = return_to
            return redirect(done_url + "?" + urlencode(query))
    elif request.method == "POST":
        forms_valid = all(
            form.is_valid() for form in (card_form, address_form, details_form) if form is not None
        )
        if forms_valid:
            month, year = card_form.cleaned_data["expiry"]
            try:
                testmode.charge_card(
                    card_form.cleaned_data["card_number"],
                    month,
                    year,
                    card_form.cleaned_data["cvc"],
                )
            except CardDeclined as error:
                card_error = error.message
            else:
                member = _member(request)
                testmode.complete_checkout(
                    session,
                    shipping=address_form.stripe_shipping() if address_form else None,
                    buyer=details_form.buyer(member.get_full_name(), member.email)
                    if details_form
                    else None,
                )
                query = {"session_id": session}
                if return_to:
                    query["next"] = return_to
                return redirect(done_url + "?" + urlencode(query))
    return render(
        request,
        "billing/test_checkout.html",
        {
            "plan": plan,
            "price": price,
            "gift": gift,
            "offer": offer,
            "seats": seats if "s" in data else None,
            "organisation_name": data.get("on", ""),
            "cardless": cardless,
            "issue_purchase": purchase,
            "amount": amount,
            "card_form": card_form,
            "address_form": address_form,
            "details_form": details_form,
            "card_error": card_error,
            "tax": format_money(tax, currency) if tax else "",
            "total": format_money(total, currency),
            "prices_include_tax": bool(tax) and total == base_amount,
        },
        status=402 if card_error else 200,
    )


# Single issues ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def buy_issue(request: HttpRequest, issue_id: int) -> HttpResponse:
    """Start buying one issue on its own. GET too, as with the plans: the
    issue page's offer is a link (an anonymous copy of it is cached, with no
    CSRF token), and starting a checkout charges nothing."""
    from masthead.issues.models import IssuePage

    issue = get_object_or_404(IssuePage.objects.live(), pk=issue_id)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("billing:buy_issue", args=[issue.pk]))
    if not ratelimit.allow_member(
        request, request.user, ratelimit.CHECKOUT_PER_MEMBER, ratelimit.CHECKOUT_PER_SOURCE
    ):
        return render(request, "accounts/too_many_requests.html", status=429)
    try:
        url = actions.start_issue_checkout(
            _member(request), issue, return_to=safe_next(issue.url) or ""
        )
    except actions.BillingError as error:
        messages.error(request, error.message, extra_tags="billing")
        return redirect(issue.url)
    except GatewayError:
        logger.exception("Single-issue checkout could not start")
        messages.error(request, UNAVAILABLE, extra_tags="billing")
        return redirect(issue.url)
    return HttpResponseRedirect(url, status=303)


@login_required
def issue_bought(request: HttpRequest) -> HttpResponse:
    """Where a paid single-issue checkout comes back: fulfilled here too (the
    webhook's code path), then on to the issue, now the buyer's."""
    session_id = request.GET.get("session_id", "")
    if not session_id:
        return redirect("/")
    checkout, purchase = _fulfil_own_session(request, session_id)
    if isinstance(purchase, IssuePurchase) and purchase.status == IssuePurchase.Status.PAID:
        return redirect(safe_next(request.GET.get("next")) or purchase.issue.url)
    return render(
        request,
        "billing/success.html",
        {"checkout": checkout, "subscription": None, "account_url": ACCOUNT_URL},
    )


@login_required
@require_http_methods(["GET", "POST"])
def refund_issue(request: HttpRequest, purchase_id: int) -> HttpResponse:
    """GET asks first, saying that the issue goes with the money; only the
    POST refunds."""
    purchase = get_object_or_404(
        IssuePurchase.objects.select_related("issue"), pk=purchase_id, member=_member(request)
    )
    if request.method == "GET":
        problem = actions.issue_refund_problem(purchase)
        if problem:
            return _to_account(request, problem, messages.INFO)
        return render(request, "billing/confirm_issue_refund.html", {"purchase": purchase})
    return _billing_action(
        request,
        lambda user, reason: actions.refund_issue_purchase(user, purchase.pk, reason),
        lambda refunded: (
            f"Refunded {refunded.display_amount}. {purchase.issue.title} is no longer yours."
        ),
    )


# Gifts ------------------------------------------------------------------------------


def _gift_context(form: GiftForm) -> dict[str, object]:
    return {"form": form, "prices": actions.gift_prices(), "test_mode": gateway.test_mode()}


def gift(request: HttpRequest) -> HttpResponse:
    form = GiftForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if form.is_valid() and not ratelimit.allow_member(
            request, request.user, ratelimit.GIFT_PER_MEMBER, ratelimit.GIFT_PER_SOURCE
        ):
            form.add_error(None, TOO_MANY_GIFTS)
            return render(
                request,
                "billing/gift.html",
                _gift_context(form),
                status=429,
            )
        if form.is_valid():
            data = form.cleaned_data
            try:
                url = actions.start_gift_checkout(
                    request.user,
                    data["plan"],
                    data["months"],
                    data["recipient_email"],
                    data["recipient_name"],
                    data["message"],
                )
            except actions.BillingError as error:
                form.add_error(None, error.message)
            except GatewayError:
                logger.exception("Gift checkout could not start")
                form.add_error(None, UNAVAILABLE)
            else:
                return HttpResponseRedirect(url, status=303)
    return render(request, "billing/gift.html", _gift_context(form))


@login_required
def gift_thanks(request: HttpRequest) -> HttpResponse:
    session_id = request.GET.get("session_id", "")
    if not session_id:
        return redirect("billing:gift")
    checkout, gift = _fulfil_own_session(request, session_id)
    return render(request, "billing/gift_thanks.html", {"gift": gift, "checkout": checkout})


def gift_redeem(request: HttpRequest, token: str) -> HttpResponse:
    gift = actions.find_gift(token)
    usable = gift is not None and gift.status == Gift.Status.PAID
    needs_address = (
        gift is not None
        and usable
        and gift.plan.includes_print
        and request.user.is_authenticated
        and not actions.member_has_shipping_address(request.user)
    )
    address_form = None
    if needs_address:
        address_form = ShippingAddressForm(
            request.POST or None, countries=actions.shipping_countries()
        )
    error = ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if address_form is None or address_form.is_valid():
            shipping = address_form.address_fields() if address_form else None
            try:
                actions.redeem_gift(request.user, token, shipping=shipping)
            except actions.BillingError as problem:
                error = problem.message
            else:
                assert gift is not None  # redeem_gift found it by the same token
                return _to_account(
                    request,
                    f"Your gift is redeemed: {gift.get_months_display()} of {gift.plan.name}. "
                    "Enjoy!",
                )
    return render(
        request,
        "billing/gift_redeem.html",
        {
            "gift": gift,
            "usable": usable,
            "address_form": address_form,
            "error": error,
            "sign_in_url": "/account/sign-in/?" + urlencode({"next": request.path}),
        },
        status=200 if usable else 404,
    )


# Organisations: the manager's page, invitations, domain seats --------------------------------


def seats_on_sign_in(
    sender: object, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    """On every sign-in: a seat for a verified address at an organisation's
    domain (or a message when it is full), and the seats' last-seen date."""
    for problem in actions.take_domain_seats(user):
        if request is not None:
            messages.warning(request, problem, extra_tags="billing", fail_silently=True)
    actions.note_seats_seen(user)


def _managed(request: HttpRequest, organisation_id: int) -> Organisation:
    """The organisation, if the signed-in member manages it (staff may look
    at any); a 404 otherwise, so ids tell nobody anything."""
    organisations = Organisation.objects.select_related("plan", "subscription")
    if not request.user.is_staff:
        organisations = organisations.filter(manager_id=request.user.pk)
    return get_object_or_404(organisations, pk=organisation_id)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def buy_seats(request: HttpRequest) -> HttpResponse:
    """For organisations: a number of seats of a plan, paid by card on
    Stripe Checkout; the buyer then manages the organisation's readers."""
    form = BuySeatsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not ratelimit.allow_member(
            request, request.user, ratelimit.CHECKOUT_PER_MEMBER, ratelimit.CHECKOUT_PER_SOURCE
        ):
            return render(request, "accounts/too_many_requests.html", status=429)
        if form.is_valid():
            try:
                url = actions.start_organisation_checkout(
                    _member(request),
                    name=form.cleaned_data["name"],
                    plan=form.cleaned_data["plan"],
                    seats=form.cleaned_data["seats"],
                )
            except actions.BillingError as error:
                form.add_error(None, error.message)
            except GatewayError:
                logger.exception("Checkout for seats could not start")
                form.add_error(None, UNAVAILABLE)
            else:
                return HttpResponseRedirect(url, status=303)
        status = 400
    prices = [
        (plan, actions.organisation_price(plan))
        for plan in form.fields["plan"].queryset  # type: ignore[attr-defined]
    ]
    return render(
        request,
        "billing/buy_seats.html",
        {"form": form, "prices": prices, "test_mode": gateway.test_mode()},
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organisation(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """The manager's page: seats used, who holds them, pending invitations,
    and the form to invite a reader."""
    managed = _managed(request, organisation_id)
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            email = form.cleaned_data["email"]
            try:
                actions.invite_reader(managed, email, actor=_member(request))
            except actions.BillingError as error:
                form.add_error("email", error.message)
                status = 400
            else:
                messages.success(
                    request, f"We sent an invitation to {email}.", extra_tags="billing"
                )
                return redirect("billing:organisation", managed.pk)
        else:
            status = 400
    seats = list(managed.seat_holders.select_related("member").order_by("-accepted_at", "email"))
    holders = [seat for seat in seats if seat.accepted_at is not None]
    return render(
        request,
        "billing/organisation.html",
        {
            "organisation": managed,
            "holders": holders,
            "pending": [seat for seat in seats if seat.accepted_at is None],
            "taken": len(seats),
            "form": form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def remove_seat(request: HttpRequest, organisation_id: int, seat_id: int) -> HttpResponse:
    """Ask first (GET), then free the seat (POST)."""
    managed = _managed(request, organisation_id)
    seat = get_object_or_404(OrganisationSeat, pk=seat_id, organisation=managed)
    if request.method == "POST":
        actions.remove_seat(seat, actor=_member(request))
        done = "Invitation cancelled" if seat.accepted_at is None else "Seat freed"
        messages.success(request, f"{done}: {seat.email}.", extra_tags="billing")
        return redirect("billing:organisation", managed.pk)
    return render(
        request, "billing/confirm_remove_seat.html", {"organisation": managed, "seat": seat}
    )


@login_required
@require_POST
def resend_invitation(request: HttpRequest, organisation_id: int, seat_id: int) -> HttpResponse:
    managed = _managed(request, organisation_id)
    seat = get_object_or_404(OrganisationSeat, pk=seat_id, organisation=managed)
    try:
        actions.resend_invitation(seat, actor=_member(request))
    except actions.BillingError as error:
        messages.error(request, error.message, extra_tags="billing")
    else:
        messages.success(request, f"We sent the invitation again to {seat.email}.")
    return redirect("billing:organisation", managed.pk)


@require_http_methods(["GET", "HEAD", "POST"])
def accept_seat(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: who invites, and a button to accept (signing in
    or up first, with the link as where to come back)."""
    seat = actions.find_invitation(token)
    error = ""
    if request.method == "POST" and seat is not None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            accepted = actions.accept_invitation(_member(request), token)
        except actions.BillingError as problem:
            error = problem.message
        else:
            return _to_account(
                request,
                f"Welcome: {accepted.organisation.name} gives you "
                f"{accepted.organisation.plan.name}.",
            )
    return render(
        request,
        "billing/accept_seat.html",
        {
            "seat": seat,
            "error": error,
            "sign_in_url": "/account/sign-in/?" + urlencode({"next": request.path}),
            "sign_up_url": "/account/sign-up/?" + urlencode({"next": request.path}),
        },
        status=200 if seat is not None and not error else 404 if seat is None else 400,
    )
