"""`current_entitlement`: one case per state, and the same answer from the
query behind print runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from masthead.access.rules import decide
from masthead.billing.entitlements import current_entitlement, print_entitled_members
from masthead.billing.models import BillingSettings, Subscription

NOW = timezone.now().replace(microsecond=0)
DAY = timedelta(days=1)
S = Subscription.Status

# (status, fields, expected kind or None)
CASES = {
    "active": (S.ACTIVE, {"current_period_end": NOW + 20 * DAY}, "paid"),
    "active, renewal not yet reported": (S.ACTIVE, {"current_period_end": NOW - 2 * DAY}, "paid"),
    "active, renewal never reported": (S.ACTIVE, {"current_period_end": NOW - 8 * DAY}, None),
    "trialing": (
        S.TRIALING,
        {"current_period_end": NOW + 5 * DAY, "trial_end": NOW + 5 * DAY},
        "trial",
    ),
    "canceled inside the paid period": (
        S.ACTIVE,
        {"current_period_end": NOW + 3 * DAY, "cancel_at_period_end": True},
        "paid",
    ),
    "canceled, period over": (
        S.ACTIVE,
        {"current_period_end": NOW - timedelta(minutes=1), "cancel_at_period_end": True},
        None,
    ),
    "past due within grace": (
        S.PAST_DUE,
        {"current_period_end": NOW - 3 * DAY, "payment_failed_at": NOW - 3 * DAY},
        "paid",
    ),
    "past due beyond grace": (
        S.PAST_DUE,
        {"current_period_end": NOW - 8 * DAY, "payment_failed_at": NOW - 8 * DAY},
        None,
    ),
    "unpaid within grace": (S.UNPAID, {"payment_failed_at": NOW - DAY}, "paid"),
    "refunded": (S.REFUNDED, {"current_period_end": NOW + 20 * DAY, "ended_at": NOW}, None),
    "lapsed": (S.CANCELED, {"current_period_end": NOW - 5 * DAY, "ended_at": NOW - 5 * DAY}, None),
    "incomplete": (S.INCOMPLETE, {"current_period_end": NOW + 30 * DAY}, None),
    "complimentary for good": (S.COMPLIMENTARY, {}, "complimentary"),
    "complimentary until later": (S.COMPLIMENTARY, {"ends_at": NOW + DAY}, "complimentary"),
    "complimentary expired": (S.COMPLIMENTARY, {"ends_at": NOW - DAY}, None),
    "gift": (S.GIFT, {"ends_at": NOW + 90 * DAY}, "gift"),
    "gift expired": (S.GIFT, {"ends_at": NOW - timedelta(seconds=1)}, None),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("print_plan", [False, True])
def test_entitlement_states(case, print_plan, member, plans, django_assert_num_queries):
    status, fields, kind = CASES[case]
    price = plans["digital-print/month" if print_plan else "digital/month"]
    Subscription.objects.create(
        member=member,
        plan=price.plan,
        price=price,
        status=status,
        stripe_subscription_id="" if status in (S.COMPLIMENTARY, S.GIFT) else "sub_x",
        **fields,
    )
    with django_assert_num_queries(1):
        entitlement = current_entitlement(member, now=NOW)
    if kind is None:
        assert entitlement is None
    else:
        assert (entitlement.kind, entitlement.plan_code, entitlement.includes_print) == (
            kind,
            price.plan.code,
            print_plan,
        )
    assert list(print_entitled_members(NOW)) == ([member] if kind and print_plan else [])
    assert bool(decide(member, object())) is bool(kind)


def test_anonymous_and_members_without_subscriptions(member, django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    assert current_entitlement(AnonymousUser()) is None
    assert current_entitlement(None) is None
    with django_assert_num_queries(1):
        assert current_entitlement(member) is None


def test_the_publisher_sets_the_grace_period(member, plans):
    price = plans["digital/month"]
    Subscription.objects.create(
        member=member,
        plan=price.plan,
        price=price,
        status=S.PAST_DUE,
        stripe_subscription_id="sub_x",
        payment_failed_at=NOW - 4 * DAY,
    )
    assert current_entitlement(member, now=NOW) is not None
    settings = BillingSettings.load()
    settings.payment_grace_days = 3
    settings.save()
    assert current_entitlement(member, now=NOW) is None
    assert list(print_entitled_members(NOW)) == []


def test_the_best_of_several_entitlements_wins(member, plans):
    digital, print_price = plans["digital/month"], plans["digital-print/month"]
    Subscription.objects.create(
        member=member,
        plan=digital.plan,
        price=digital,
        status=S.ACTIVE,
        stripe_subscription_id="sub_a",
        current_period_end=NOW + 10 * DAY,
    )
    Subscription.objects.create(
        member=member, plan=print_price.plan, status=S.GIFT, ends_at=NOW + 40 * DAY
    )
    entitlement = current_entitlement(member, now=NOW)
    assert (entitlement.kind, entitlement.includes_print) == ("gift", True)
    assert list(print_entitled_members(NOW)) == [member]
