"""What the paywall box offers a reader who lacks access: the plans on sale
with their prices (billing's Plan and Price), and where to sign in, sign up
or subscribe."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from masthead.newsroom.models import AccessLevel

if TYPE_CHECKING:
    from collections.abc import Iterable

    from masthead.billing.models import Plan, Price

    from .reading import Reader


def _url(name: str, fallback: str, *args: object) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def sign_in_url(next_url: str) -> str:
    return f"{_url('accounts:sign_in', '/account/sign-in/')}?{urlencode({'next': next_url})}"


def subscribe_url(from_article: int | None = None) -> str:
    """The plans page; from an article's paywall it names the article, so
    that a checkout begun there is counted for it."""
    url = _url("billing:subscribe", "/subscribe/")
    return f"{url}?{urlencode({'from': from_article})}" if from_article else url


@dataclass
class Offer:
    plan: "Plan"
    prices: "list[Price]" = field(default_factory=list)
    # (price, the address that starts paying for it), set for the paywall.
    checkouts: "list[tuple[Price, str]]" = field(default_factory=list)


def checkout_url(
    price: "Price", next_url: str, *, signed_in: bool, from_article: int | None = None
) -> str:
    """The link that starts paying for `price` and comes back to `next_url`;
    for a reader who is not signed in, by way of making an account. It names
    the article, so that the checkout is counted for it."""
    start = _url("billing:start_checkout", f"/subscribe/checkout/{price.pk}/", price.pk)
    query = {"next": next_url} | ({"from": str(from_article)} if from_article else {})
    checkout = f"{start}?{urlencode(query)}"
    if signed_in:
        return checkout
    return f"{_url('accounts:sign_up', '/account/sign-up/')}?{urlencode({'next': checkout})}"


def offers(plan_codes: "Iterable[str]" = ()) -> list[Offer]:
    """Active plans with their active prices, monthly first; only the named
    plans when an article asks for some."""
    from masthead.billing.models import Price

    # One query: the active prices with their plans, grouped by plan.
    prices = Price.objects.filter(active=True, plan__active=True).select_related("plan")
    if plan_codes:
        prices = prices.filter(plan__code__in=plan_codes)
    by_plan: dict[int, tuple[Plan, list[Price]]] = {}
    for price in prices:
        by_plan.setdefault(price.plan_id, (price.plan, []))[1].append(price)
    found = [
        Offer(plan, sorted(plan_prices, key=lambda p: (p.interval != "month", p.amount)))
        for plan, plan_prices in by_plan.values()
    ]
    found.sort(key=lambda offer: (offer.plan.sort_order, offer.plan.name))
    return found


def paywall_context(reader: "Reader", next_url: str) -> dict[str, Any]:
    """The paywall's context for a Reader without access to an article."""
    from .rules import paywall_settings

    settings = paywall_settings()
    level = reader.terms.level
    sign_in = sign_in_url(next_url)
    from_article = reader.article.pk if reader.article is not None else None
    subscribe = subscribe_url(from_article)

    def sign_up_then(target: str) -> str:
        return f"{_url('accounts:sign_up', '/account/sign-up/')}?{urlencode({'next': target})}"

    members_only = level == AccessLevel.MEMBERS
    plans = [] if members_only else offers(sorted(reader.terms.plans))
    for offer in plans:
        offer.checkouts = [
            (
                price,
                checkout_url(
                    price, next_url, signed_in=reader.signed_in, from_article=from_article
                ),
            )
            for price in offer.prices
        ]
    return {
        "reader": reader,
        "reason": reader.access.reason,
        "members_only": members_only,
        "heading": "Sign in to keep reading" if members_only else settings.heading,
        "benefits": [] if members_only else settings.benefit_list(),
        "offers": plans,
        "signed_in": reader.signed_in,
        "sign_in_url": sign_in,
        "sign_up_url": sign_up_then(next_url),
        # Subscribing needs an account: a reader who is not signed in makes
        # one (or gets a sign-in link) first, then chooses a plan.
        "subscribe_url": subscribe if reader.signed_in else sign_up_then(subscribe),
        "meter": reader.meter,
    }
