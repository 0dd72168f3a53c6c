"""Print runs against billing's real entitlement rule (no fakes): who is on
the printer's list follows the subscription states exactly."""

from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from masthead.billing.models import Plan, Subscription
from masthead.printing.actions import close_print_run
from masthead.printing.models import VacationHold
from tests.issues.support import give_address, make_member

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 25, 9, 0, tzinfo=UTC)
S = Subscription.Status


@pytest.fixture
def issue(site_tree):
    from masthead.newsroom.models import SectionPage
    from tests.factories import make_article, make_issue

    article = make_article(SectionPage.objects.get(slug="politics"), title="On the ballot")
    return make_issue([article], volume=12, number=22, cover_date=date(2026, 6, 1))


def subscriber(key, plan_code="digital-print", **subscription):
    member = make_member(f"{key}@example.com", full_name=key.replace("-", " ").title())
    give_address(member)
    plan = Plan.objects.get(code=plan_code)
    Subscription.objects.create(
        member=member,
        plan=plan,
        price=plan.prices.get(interval="month"),
        current_period_start=NOW - timedelta(days=10),
        **subscription,
    )
    return member


@freeze_time(NOW)
def test_the_snapshot_follows_billing_states(issue):
    in_period = NOW + timedelta(days=20)
    expected = {
        subscriber("active", status=S.ACTIVE, current_period_end=in_period),
        subscriber("trialing", status=S.TRIALING, current_period_end=in_period),
        subscriber(
            "cancelled-in-period",
            status=S.ACTIVE,
            cancel_at_period_end=True,
            current_period_end=NOW + timedelta(days=3),
        ),
        subscriber(
            "failed-within-grace",
            status=S.PAST_DUE,
            current_period_end=NOW - timedelta(days=1),
            payment_failed_at=NOW - timedelta(days=2),
        ),
        subscriber("print-comp", status=S.COMPLIMENTARY, ends_at=None),
        subscriber("print-gift", status=S.GIFT, ends_at=NOW + timedelta(days=90)),
    }
    subscriber(
        "lapsed",
        status=S.CANCELED,
        current_period_end=NOW - timedelta(days=5),
        ended_at=NOW - timedelta(days=5),
    )
    subscriber(
        "cancelled-and-over",
        status=S.ACTIVE,
        cancel_at_period_end=True,
        current_period_end=NOW - timedelta(hours=1),
    )
    subscriber("refunded", status=S.REFUNDED, ended_at=NOW - timedelta(days=1))
    subscriber(
        "failed-past-grace",
        status=S.PAST_DUE,
        current_period_end=NOW - timedelta(days=20),
        payment_failed_at=NOW - timedelta(days=10),
    )
    subscriber("gift-expired", status=S.GIFT, ends_at=NOW - timedelta(days=1))
    subscriber("digital-only", plan_code="digital", status=S.ACTIVE, current_period_end=in_period)
    on_hold = subscriber("on-hold", status=S.ACTIVE, current_period_end=in_period)
    VacationHold.objects.create(
        member=on_hold, first_issue_date=date(2026, 5, 15), last_issue_date=date(2026, 6, 15)
    )

    run = close_print_run(issue, now=NOW)

    assert {entry.member for entry in run.entries.all()} == expected
    snapshot = list(run.entries.values_list("keyline", "name", "city", "postal_code"))

    # Later changes in billing do not touch the closed run.
    Subscription.objects.filter(member__email="active@example.com").update(status=S.REFUNDED)
    subscriber("late-joiner", status=S.ACTIVE, current_period_end=in_period)
    assert close_print_run(issue, now=NOW) == run
    assert list(run.entries.values_list("keyline", "name", "city", "postal_code")) == snapshot
