"""What a member's subscription entitles them to, for `access.decide`.

Contract: `current_entitlement(user)` returns an `Entitlement` when the user
holds something that grants subscriber access now (active, trialing,
cancelled inside the paid period, payment failed within the grace period,
complimentary, gift), and None otherwise (lapsed, refunded, past grace,
anonymous).

The rule lives in `entitlement_for` (one subscription, in Python) and
`entitled_q` (the same rule as a query, for print runs); tests hold the two
to the same answers. `current_entitlement` costs one query: the member's
candidate subscriptions with their plan, together (a UNION) with their
accepted seats' organisations, plans and subscriptions, and the grace period
as a subquery.

A seat is an entitlement of kind "group" while its organisation is active
and its subscription is entitled (the same `entitlement_for`) or its
contract dates cover today. A member's own subscription wins over a seat.
An organisation's own subscription (the one its seats hang from) has no
member: it grants nothing to whoever manages or pays it.

Single issues bought on their own are an entitlement of their own:
`bought_issues(user)` is the set of issue page ids the member has paid for
and not been refunded; it lasts for good, whatever their subscription.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import DateField, F, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from masthead.accounts.models import User

    from .models import Organisation, Subscription

DEFAULT_GRACE_DAYS = 7


@dataclass(frozen=True)
class Entitlement:
    kind: str  # "paid", "trial", "complimentary", "gift", "group"
    plan_code: str
    includes_print: bool
    ends_at: datetime | None


def _statuses() -> tuple[Any, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    from .models import Subscription

    S = Subscription.Status
    return S, (S.ACTIVE, S.TRIALING), (S.PAST_DUE, S.UNPAID), (S.COMPLIMENTARY, S.GIFT)


def entitlement_for(
    subscription: "Subscription", now: datetime, grace_days: int
) -> Entitlement | None:
    """The Entitlement one subscription gives at `now`, or None."""
    S, running, failing, granted = _statuses()
    grace = timedelta(days=grace_days)
    status = subscription.status
    plan = subscription.plan
    end = subscription.current_period_end
    if status in running:
        if subscription.cancel_at_period_end:
            # Cancelled: paid up to the end of the period, not a day more.
            if end is not None and now >= end:
                return None
        elif end is not None and now >= end + grace:
            # A renewal Stripe never reported: the reconciliation will tell.
            return None
        kind = "trial" if status == S.TRIALING else "paid"
        return Entitlement(kind, plan.code, plan.includes_print, end)
    if status in failing:
        failed_at = subscription.payment_failed_at or end
        if failed_at is None or now >= failed_at + grace:
            return None
        return Entitlement("paid", plan.code, plan.includes_print, failed_at + grace)
    if status in granted:
        if subscription.ends_at is not None and now >= subscription.ends_at:
            return None
        kind = "gift" if status == S.GIFT else "complimentary"
        return Entitlement(kind, plan.code, plan.includes_print, subscription.ends_at)
    return None


def entitled_q(now: datetime, grace_days: int, prefix: str = "") -> Q:
    """`entitlement_for(...) is not None`, as a filter on Subscription (or on a
    relation to it, with `prefix` such as "subscriptions__")."""
    S, running, failing, granted = _statuses()
    grace = timedelta(days=grace_days)

    def q(**lookups: object) -> Q:
        return Q(**{prefix + key: value for key, value in lookups.items()})

    running_q = q(status__in=running) & (
        (
            q(cancel_at_period_end=True)
            & (q(current_period_end__isnull=True) | q(current_period_end__gt=now))
        )
        | (
            q(cancel_at_period_end=False)
            & (q(current_period_end__isnull=True) | q(current_period_end__gt=now - grace))
        )
    )
    failing_q = q(status__in=failing) & (
        q(payment_failed_at__gt=now - grace)
        | (q(payment_failed_at__isnull=True) & q(current_period_end__gt=now - grace))
    )
    granted_q = q(status__in=granted) & (q(ends_at__isnull=True) | q(ends_at__gt=now))
    return running_q | failing_q | granted_q


def grace_days() -> int:
    from .models import BillingSettings

    value = BillingSettings.objects.values_list("payment_grace_days", flat=True).first()
    return DEFAULT_GRACE_DAYS if value is None else value


_RANK = {"paid": 3, "trial": 2, "gift": 1, "complimentary": 1, "group": 0}


def _best(entitlements: list[Entitlement]) -> Entitlement | None:
    def key(entitlement: Entitlement) -> tuple[bool, int, float]:
        ends = entitlement.ends_at.timestamp() if entitlement.ends_at else float("inf")
        return (entitlement.includes_print, _RANK[entitlement.kind], ends)

    return max(entitlements, key=key) if entitlements else None


def _grace_days_column() -> Coalesce:
    from .models import BillingSettings

    return Coalesce(
        Subquery(BillingSettings.objects.values("payment_grace_days")[:1]),
        Value(DEFAULT_GRACE_DAYS),
    )


# The columns both halves of `current_entitlement`'s query give, in order.
COLUMNS = (
    "c_group",
    "c_status",
    "c_plan_code",
    "c_includes_print",
    "c_period_end",
    "c_cancel",
    "c_failed_at",
    "c_ends_at",
    "c_contract_starts",
    "c_contract_ends",
    "c_grace_days",
)


def _columns(prefix: str, **extra: Any) -> dict[str, Any]:
    """The subscription's columns (under `prefix`), as `COLUMNS` names them."""
    return {
        "c_status": F(prefix + "status"),
        "c_period_end": F(prefix + "current_period_end"),
        "c_cancel": F(prefix + "cancel_at_period_end"),
        "c_failed_at": F(prefix + "payment_failed_at"),
        "c_ends_at": F(prefix + "ends_at"),
        "c_grace_days": _grace_days_column(),
        **extra,
    }


def _entitlement_of(row: tuple[Any, ...], now: datetime) -> Entitlement | None:
    from .models import Organisation, Plan, Subscription

    values = dict(zip(COLUMNS, row, strict=True))
    plan = Plan(code=values["c_plan_code"], includes_print=bool(values["c_includes_print"]))
    subscription = None
    if values["c_status"] is not None:
        subscription = Subscription(
            plan=plan,
            status=values["c_status"],
            current_period_end=values["c_period_end"],
            cancel_at_period_end=bool(values["c_cancel"]),
            payment_failed_at=values["c_failed_at"],
            ends_at=values["c_ends_at"],
        )
    if not values["c_group"]:
        return entitlement_for(subscription, now, values["c_grace_days"]) if subscription else None
    organisation = Organisation(
        plan=plan,
        subscription=subscription,
        contract_starts=values["c_contract_starts"],
        contract_ends=values["c_contract_ends"],
        active=True,
    )
    return organisation_entitlement(organisation, now, values["c_grace_days"])


def current_entitlement(
    user: "User | AnonymousUser | None", now: datetime | None = None
) -> Entitlement | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    from .models import OrganisationSeat, Subscription

    S, running, failing, granted = _statuses()
    now = now or timezone.now()
    no_date = Value(None, output_field=DateField())
    own = (
        Subscription.objects.filter(member_id=user.pk, status__in=(*running, *failing, *granted))
        .annotate(
            **_columns(
                "",
                c_group=Value(False),
                c_plan_code=F("plan__code"),
                c_includes_print=F("plan__includes_print"),
                c_contract_starts=no_date,
                c_contract_ends=no_date,
            )
        )
        .order_by()
        .values_list(*COLUMNS)
    )
    seats = (
        OrganisationSeat.objects.filter(
            member_id=user.pk, accepted_at__isnull=False, organisation__active=True
        )
        .annotate(
            **_columns(
                "organisation__subscription__",
                c_group=Value(True),
                c_plan_code=F("organisation__plan__code"),
                c_includes_print=F("organisation__plan__includes_print"),
                c_contract_starts=F("organisation__contract_starts"),
                c_contract_ends=F("organisation__contract_ends"),
            )
        )
        .order_by()
        .values_list(*COLUMNS)
    )
    found: dict[bool, list[Entitlement]] = {False: [], True: []}
    for row in own.union(seats, all=True):
        entitlement = _entitlement_of(row, now)
        if entitlement is not None:
            found[bool(row[0])].append(entitlement)
    # A member's own subscription wins over a seat.
    return _best(found[False]) or _best(found[True])


def _contract(organisation: "Organisation", now: datetime) -> tuple[bool, datetime | None]:
    """(whether the contract dates cover `now`, when access by contract ends;
    None: no end date)."""
    starts, ends = organisation.contract_starts, organisation.contract_ends
    if starts is None and ends is None:
        return False, None
    today = timezone.localdate(now)
    if (starts is not None and today < starts) or (ends is not None and today > ends):
        return False, None
    if ends is None:
        return True, None
    # The contract's last day counts whole.
    return True, timezone.make_aware(datetime.combine(ends + timedelta(days=1), time.min))


def organisation_entitlement(
    organisation: "Organisation", now: datetime, grace_days: int
) -> Entitlement | None:
    """What a seat in `organisation` gives at `now`, or None."""
    if not organisation.active:
        return None
    plan = organisation.plan
    ends: list[datetime | None] = []
    if organisation.subscription is not None:
        paid = entitlement_for(organisation.subscription, now, grace_days)
        if paid is not None:
            ends.append(paid.ends_at)
    covered, contract_ends = _contract(organisation, now)
    if covered:
        ends.append(contract_ends)
    if not ends:
        return None
    # Whichever lasts longer; None lasts for good.
    end = None if None in ends else max(end for end in ends if end is not None)
    return Entitlement("group", plan.code, plan.includes_print, end)


def grants_any_plan(user: "User", plan_codes: frozenset[str], now: datetime | None = None) -> bool:
    """Whether any of the member's subscriptions or seats (not just the best
    one) grants one of `plan_codes` at `now`."""
    from .models import Organisation, Subscription

    now = now or timezone.now()
    grace = grace_days()
    if Subscription.objects.filter(
        entitled_q(now, grace), member_id=user.pk, plan__code__in=plan_codes
    ).exists():
        return True
    organisations = Organisation.objects.filter(
        seat_holders__member_id=user.pk,
        seat_holders__accepted_at__isnull=False,
        active=True,
        plan__code__in=plan_codes,
    ).select_related("plan", "subscription")
    return any(organisation_entitlement(o, now, grace) for o in organisations)


def bought_issues(user: "User | AnonymousUser | None") -> frozenset[int]:
    """The ids of the issues the member bought on their own and keeps (paid,
    not refunded): one query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    from .models import IssuePurchase

    return frozenset(
        IssuePurchase.objects.filter(
            member_id=user.pk, status=IssuePurchase.Status.PAID
        ).values_list("issue_id", flat=True)
    )


def print_entitled_members(now: datetime | None = None) -> "QuerySet[User]":
    """Members whose entitlement at `now` includes print copies: their own
    subscription's, or a seat's in an organisation on a print plan (it pays
    the print price for every seat, so each holder gets a copy at their own
    shipping address)."""
    from django.contrib.auth import get_user_model

    from .models import OrganisationSeat, Subscription

    now = now or timezone.now()
    grace = grace_days()
    today = timezone.localdate(now)
    own = Subscription.objects.filter(
        entitled_q(now, grace), plan__includes_print=True, member__isnull=False
    ).values("member_id")
    contract = (
        ~Q(organisation__contract_starts__isnull=True, organisation__contract_ends__isnull=True)
        & (
            Q(organisation__contract_starts__isnull=True)
            | Q(organisation__contract_starts__lte=today)
        )
        & (Q(organisation__contract_ends__isnull=True) | Q(organisation__contract_ends__gte=today))
    )
    seats = OrganisationSeat.objects.filter(
        Q(entitled_q(now, grace, prefix="organisation__subscription__")) | contract,
        member__isnull=False,
        accepted_at__isnull=False,
        organisation__active=True,
        organisation__plan__includes_print=True,
    ).values("member_id")
    members: QuerySet[User] = (
        get_user_model().objects.filter(Q(pk__in=own) | Q(pk__in=seats)).order_by("pk")
    )
    return members
