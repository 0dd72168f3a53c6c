"""Print copies for groups: a seat in an organisation on a print plan is
paid at the print price, so its holder is in the print run like any print
subscriber (at their own shipping address), while the organisation's
subscription or contract runs."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from masthead.billing.entitlements import print_entitled_members
from masthead.billing.models import Organisation, OrganisationSeat, Plan, Subscription
from masthead.printing.actions import entitled_print_members

NOW = timezone.now()
TODAY = timezone.localdate(NOW)
DAY = timedelta(days=1)


def seat_holder(email, plan_code, *, accepted=True, active=True, **organisation_fields):
    organisation = Organisation.objects.create(
        name=f"Library of {email}",
        plan=Plan.objects.get(code=plan_code),
        active=active,
        **organisation_fields,
    )
    member = get_user_model().objects.create_user(email=email)
    OrganisationSeat.objects.create(
        organisation=organisation,
        email=email,
        member=member,
        accepted_at=NOW - DAY if accepted else None,
    )
    return member, organisation


@pytest.mark.parametrize(
    ("plan_code", "fields", "in_the_run"),
    [
        ("digital-print", {"contract_starts": TODAY - 30 * DAY}, True),
        ("digital-print", {"contract_ends": TODAY + DAY}, True),
        ("digital-print", {"contract_ends": TODAY - DAY}, False),
        ("digital-print", {"contract_starts": TODAY + DAY}, False),
        ("digital-print", {}, False),
        ("digital-print", {"contract_starts": TODAY, "active": False}, False),
        ("digital-print", {"contract_starts": TODAY, "accepted": False}, False),
        ("digital", {"contract_starts": TODAY - 30 * DAY}, False),
    ],
)
def test_a_seat_on_a_print_plan_is_in_the_print_run_while_its_contract_runs(
    plans, plan_code, fields, in_the_run
):
    member, _ = seat_holder("reader@library.example", plan_code, **fields)
    assert list(print_entitled_members(NOW)) == ([member] if in_the_run else [])
    entitled = entitled_print_members(NOW)
    assert [m for m, _ in entitled] == ([member] if in_the_run else [])


def test_a_seat_counts_while_the_organisations_subscription_is_entitled(plans):
    price = plans["digital-print/year"]
    subscription = Subscription.objects.create(
        member=None,
        plan=price.plan,
        price=price,
        status=Subscription.Status.ACTIVE,
        stripe_subscription_id="sub_org",
        current_period_end=NOW + 100 * DAY,
    )
    member, organisation = seat_holder(
        "reader@library.example", "digital-print", subscription=subscription
    )
    assert list(print_entitled_members(NOW)) == [member]
    [(_, entitlement)] = entitled_print_members(NOW)
    assert (entitlement.kind, entitlement.includes_print) == ("group", True)

    subscription.status = Subscription.Status.CANCELED
    subscription.save()
    assert list(print_entitled_members(NOW)) == []


def test_a_print_subscriber_holding_a_print_seat_is_listed_once(plans):
    member, _ = seat_holder("reader@library.example", "digital-print", contract_starts=TODAY)
    price = plans["digital-print/month"]
    Subscription.objects.create(
        member=member,
        plan=price.plan,
        price=price,
        status=Subscription.Status.ACTIVE,
        stripe_subscription_id="sub_own",
        current_period_end=NOW + 10 * DAY,
    )
    assert list(print_entitled_members(NOW)) == [member]
