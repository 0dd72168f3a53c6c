"""The one access decision.

`decide(user, content)` answers whether someone gets the full thing: an
article, its narration, an issue's editions, a feed item. Every surface that
shows gated content asks it; nothing else decides.

Levels: public, members (any signed-in account), subscribers (any plan) and
chosen plans. Whether a subscription grants access now (active, trialing,
cancelled inside the paid period, payment failed within the grace period,
complimentary, gift) is billing's `current_entitlement`, asked once per
member per request (see `reader_scope`).

Single issues: a member who bought an issue on its own (billing's
`bought_issues`, cached with their entitlement by serving) has that issue,
its editions and audio, and every article in it, whatever the article's
level, for good ("single-issue").

Metered access, when the publisher turns it on: a free member may open a few
subscriber-only articles per 30 days. Opening one is `open_article`, the only
function that spends a free read; afterwards `decide` grants that article
(and its audio) for the rest of the window.

Institutions: a request from a library's or university's IP ranges
(access/institutions.py; serving opens an `institution_scope` per request)
gets what a subscriber to the organisation's plan gets ("institution"),
without signing in. A signed-in member whose own access grants the content
keeps their own reason.

`shows_ads(user)`: ads are for readers without a subscription, or an
institution's.
"""

import contextvars
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from django.db import transaction
from django.utils import timezone

from masthead.issues.models import IssueArticle, IssuePage
from masthead.newsroom.models import AccessLevel, ArticlePage

from .institutions import Institution, current_institution

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from masthead.accounts.models import User
    from masthead.billing.entitlements import Entitlement

    from .models import PaywallSettings

# Whoever asks: a member, an anonymous visitor, or nobody (a background task).
Person: TypeAlias = "User | AnonymousUser | None"
T = TypeVar("T")

# The metered window: free reads count for this long.
METER_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Access:
    granted: bool
    # Why: "public", "member", "subscriber", "single-issue", "institution", "metered",
    # "staff", "preview",
    # "sign-in-required", "subscription-required", "plan-required",
    # "meter-spent".
    reason: str

    def __bool__(self) -> bool:
        return self.granted


@dataclass(frozen=True)
class Terms:
    """What a piece of content asks of its reader."""

    level: str
    # For the per-plan level: the codes of the plans that grant it.
    plans: frozenset[str] = frozenset()
    # The article, for the meter and for the issues it is in.
    article_id: int | None = None
    # The issue itself (its page, editions, audio episode), for single issues.
    issue_id: int | None = None


def article_terms(article: ArticlePage) -> Terms:
    level = article.effective_access_level
    plans: frozenset[str] = frozenset()
    if level == AccessLevel.PLANS:
        plans = frozenset(plan.code for plan in article.required_plans.all())
        if not plans:
            # "Chosen plans" with none chosen: any plan.
            level = AccessLevel.SUBSCRIBERS
    return Terms(level, plans, article.pk)


def content_terms(content: object) -> Terms:
    if isinstance(content, Terms):
        return content
    if isinstance(content, ArticlePage):
        return article_terms(content)
    if isinstance(content, IssuePage):
        # Issues and their editions belong to subscribers, and to the buyers
        # of that issue.
        return Terms(AccessLevel.SUBSCRIBERS, issue_id=content.pk)
    article = getattr(content, "article", None)
    if isinstance(article, ArticlePage):
        return article_terms(article)
    return Terms(AccessLevel.SUBSCRIBERS)


def content_level(content: object) -> str:
    """The access level that applies to a piece of content."""
    return content_terms(content).level


# One request asks about the same member many times (the article, its audio,
# the ads); inside a reader scope the answers are kept for the request.
_scope: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "masthead_access_scope", default=None
)


@contextmanager
def reader_scope() -> Iterator[None]:
    """Remember entitlements and meter answers until the block ends.

    The reader middleware opens one per request; outside one, every call
    asks the database afresh.
    """
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


@dataclass(frozen=True)
class _Later:
    """An answer given to the reader scope to be worked out when first asked."""

    compute: Callable[[], Any]


def _remembered(key: Hashable, compute: Callable[[], T]) -> T:
    memo = _scope.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    elif isinstance(memo[key], _Later):
        memo[key] = memo[key].compute()
    answer: T = memo[key]
    return answer


def remember(key: Hashable, value: object) -> None:
    """Give the reader scope an answer worked out elsewhere (serving's cached
    entitlements)."""
    memo = _scope.get()
    if memo is not None:
        memo[key] = value


def remember_lazily(key: Hashable, compute: Callable[[], object]) -> None:
    """Give the reader scope a way to an answer kept elsewhere, asked only if
    a decision needs it (serving's cached single-issue purchases)."""
    memo = _scope.get()
    if memo is not None:
        memo[key] = _Later(compute)


def _forget(key: Hashable) -> None:
    memo = _scope.get()
    if memo is not None:
        memo.pop(key, None)


def is_signed_in(user: Person) -> bool:
    return user is not None and user.is_authenticated


def entitlement(user: Person) -> "Entitlement | None":
    """Billing's answer for this member (one query), or None."""
    if user is None or not user.is_authenticated:
        return None
    from masthead.billing import entitlements

    return _remembered(("entitlement", user.pk), lambda: entitlements.current_entitlement(user))


def bought_issues(user: "User") -> frozenset[int]:
    """The issues the member bought on their own (serving gives the reader
    scope its cached answer; else one query)."""
    from masthead.billing import entitlements

    return _remembered(("issues", user.pk), lambda: entitlements.bought_issues(user))


def _bought(user: "User", terms: Terms) -> bool:
    """Whether the member bought the issue `terms` is about, or an issue the
    article is in. Costs nothing for a member who bought none."""
    issues = bought_issues(user)
    if not issues:
        return False
    if terms.issue_id is not None:
        return terms.issue_id in issues
    article_id = terms.article_id
    if article_id is None:
        return False
    found: bool = _remembered(
        ("in-bought-issue", user.pk, article_id),
        lambda: IssueArticle.objects.filter(
            article_id=article_id, issue_id__in=issues, issue__live=True
        ).exists(),
    )
    return found


def _entitled_to_any(user: "User", plan_codes: frozenset[str]) -> bool:
    """Whether any of the member's subscriptions or group seats (not just
    the best one) grants one of these plans now."""
    from masthead.billing.entitlements import grants_any_plan

    return grants_any_plan(user, plan_codes, timezone.now())


def _institution_grants(institution: Institution | None, terms: Terms) -> bool:
    """Whether the request's institution grants `terms`: as a subscription to
    its plan would."""
    if institution is None:
        return False
    return terms.level != AccessLevel.PLANS or institution.plan_code in terms.plans


def decide(user: Person, content: object) -> Access:
    terms = content_terms(content)
    if terms.level == AccessLevel.PUBLIC:
        return Access(True, "public")
    institution = current_institution()
    if user is None or not user.is_authenticated:
        if _institution_grants(institution, terms):
            return Access(True, "institution")
        return Access(False, "sign-in-required")
    if user.is_staff:
        return Access(True, "staff")
    if terms.level == AccessLevel.MEMBERS:
        return Access(True, "member")
    held = entitlement(user)
    if held is not None:
        if terms.level != AccessLevel.PLANS or held.plan_code in terms.plans:
            return Access(True, "subscriber")
        key = ("plans", user.pk, terms.plans)
        if _remembered(key, lambda: _entitled_to_any(user, terms.plans)):
            return Access(True, "subscriber")
    if _bought(user, terms):
        return Access(True, "single-issue")
    if _institution_grants(institution, terms):
        return Access(True, "institution")
    if held is not None or terms.level == AccessLevel.PLANS:
        return Access(False, "plan-required")
    if terms.article_id is not None and _opened_on_meter(user, terms.article_id):
        return Access(True, "metered")
    return Access(False, "subscription-required")


def decidable_without_query(terms: Terms, held: "Entitlement | None") -> bool:
    """Whether `decide` answers `terms` for a signed-in reader who is not
    staff, holding `held` (None: no entitlement), without a query: the
    levels for any member, and a subscription that settles the level by its
    own plan. The meter, the paywall, single issues and plans another
    subscription may grant need the database."""
    if terms.level in (AccessLevel.PUBLIC, AccessLevel.MEMBERS):
        return True
    if held is None:
        return False
    return terms.level == AccessLevel.SUBSCRIBERS or held.plan_code in terms.plans


# Metered access ------------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    """A free member's metered reads in the current window."""

    used: int
    allowance: int

    @property
    def remaining(self) -> int:
        return max(0, self.allowance - self.used)


def paywall_settings() -> "PaywallSettings":
    """The publisher's PaywallSettings, read once per reader scope."""
    from .models import PaywallSettings

    settings_: PaywallSettings = _remembered(("paywall-settings",), PaywallSettings.load)
    return settings_


def meter_settings() -> tuple[bool, int]:
    """(metered on?, free articles per window): the publisher's settings."""
    paywall = paywall_settings()
    return paywall.metered, paywall.free_articles


def _window_start() -> datetime:
    return timezone.now() - METER_WINDOW


def _opened_on_meter(user: "User", article_id: int) -> bool:
    metered, _allowance = meter_settings()
    if not metered:
        return False
    from .models import MeteredRead

    return _remembered(
        ("opened", user.pk, article_id),
        lambda: MeteredRead.objects.filter(
            member_id=user.pk, article_id=article_id, read_at__gte=_window_start()
        ).exists(),
    )


def meter(user: Person) -> Meter | None:
    """The member's Meter, or None when metering is off or does not apply."""
    metered, allowance = meter_settings()
    if user is None or not user.is_authenticated:
        return None
    if not metered or user.is_staff or entitlement(user) is not None:
        return None
    from .models import MeteredRead

    used = _remembered(
        ("meter", user.pk),
        lambda: MeteredRead.objects.filter(member_id=user.pk, read_at__gte=_window_start()).count(),
    )
    return Meter(used, allowance)


def open_article(user: Person, article: object) -> Access:
    """`decide` for a reader opening the article itself (its page, or its
    body from the API). A free member on the meter spends one free read
    here, once per article per window."""
    access = decide(user, article)
    if access or access.reason != "subscription-required":
        return access
    terms = content_terms(article)
    metered, allowance = meter_settings()
    if not metered or terms.level != AccessLevel.SUBSCRIBERS or terms.article_id is None:
        return access
    if user is None or not user.is_authenticated:  # decided above; narrows the type
        return access
    from django.contrib.auth import get_user_model

    from .models import MeteredRead

    now = timezone.now()
    with transaction.atomic():
        # One member's reads are counted one request at a time.
        list(
            get_user_model()
            .objects.select_for_update(of=("self",))
            .filter(pk=user.pk)
            .values_list("pk")
        )
        used = MeteredRead.objects.filter(
            member_id=user.pk, read_at__gte=now - METER_WINDOW
        ).count()
        if used >= allowance:
            return Access(False, "meter-spent")
        MeteredRead.objects.update_or_create(
            member_id=user.pk, article_id=terms.article_id, defaults={"read_at": now}
        )
    _forget(("meter", user.pk))
    _forget(("opened", user.pk, terms.article_id))
    return Access(True, "metered")


# Ads -----------------------------------------------------------------------------------


def shows_ads(user: Person) -> bool:
    """Whether this reader sees ads: everyone but subscribers (any state that
    grants subscriber access, comp and gift included) and an institution's
    readers."""
    return entitlement(user) is None and current_institution() is None
