"""MRR after discounts and revenue after tax, against a small history of
their own with the answers worked out by hand in the comments.

Publisher time zone UTC; "now" is 2026-07-15 12:00. Prices: Digital
monthly $8.00, Digital yearly $120.00, Digital monthly EUR 7.00.

- Pia: monthly $8 with HALF3 (50% off for 3 months), first paid Jan 10:
  $4 until Apr 10, then $8.
- Quinn: monthly EUR 7 with EUROFF (EUR 3 off, forever), first paid Feb 1:
  EUR 4 for ever.
- Rosa: yearly $120 with TENOFF (10% off for 3 months), first paid Mar 1:
  the first year's invoice is cut, $108 / 12 = $9 a month until 2027.
- Sam: monthly $8, first paid Jan 20; took the retention offer (50% off for
  2 months) on May 5: $4 from May 5 to Jul 5, then $8 again.
- Tess: a 14-day trial offer, trial Mar 1 to 15, first paid Mar 15: the
  trial is no recurring revenue and the trial offer cuts no price: $8.
"""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from masthead.insights import dashboard, metrics
from masthead.insights.tasks import take_snapshots
from tests.insights.history import at

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def month_end(month):
    return datetime(2026, month + 1, 1, tzinfo=UTC)


@pytest.fixture
def discounted(db, publisher_in_utc):
    from django.contrib.auth import get_user_model

    from masthead.billing.models import Offer, Plan, Price, Subscription

    Price.objects.all().delete()
    Plan.objects.all().delete()
    digital = Plan.objects.create(code="digital", name="Digital", sort_order=1)
    monthly = Price.objects.create(plan=digital, interval="month", amount=800, currency="usd")
    yearly = Price.objects.create(plan=digital, interval="year", amount=12000, currency="usd")
    euro = Price.objects.create(plan=digital, interval="month", amount=700, currency="eur")
    half = Offer.objects.create(
        name="Half", code="HALF3", kind="percent_off", percent_off=50, duration_in_months=3
    )
    euro_off = Offer.objects.create(
        name="Euro off",
        code="EUROFF",
        kind="amount_off",
        amount_off=300,
        currency="eur",
        duration="forever",
    )
    ten = Offer.objects.create(
        name="Ten", code="TENOFF", kind="percent_off", percent_off=10, duration_in_months=3
    )
    trial = Offer.objects.create(name="Trial", code="TRIAL14", kind="trial", trial_days=14)
    User = get_user_model()
    people = {}

    def subscribe(name, price, first_paid_at, **fields):
        member = User.objects.create_user(email=f"{name.lower()}@example.com", full_name=name)
        people[name] = member
        return Subscription.objects.create(
            member=member,
            plan=price.plan,
            price=price,
            status="active",
            stripe_subscription_id=f"sub_{name}",
            stripe_customer_id=f"cus_{name}",
            first_paid_at=first_paid_at,
            created_at=fields.pop("created_at", first_paid_at),
            **fields,
        )

    subscribe("Pia", monthly, at(1, 10), offer=half)
    subscribe("Quinn", euro, at(2, 1), offer=euro_off)
    subscribe("Rosa", yearly, at(3, 1), offer=ten)
    subscribe(
        "Sam",
        monthly,
        at(1, 20),
        retention_accepted_at=at(5, 5),
        retention_percent_off=50,
        retention_months=2,
    )
    subscribe("Tess", monthly, at(3, 15), offer=trial, trial_end=at(3, 15), created_at=at(3, 1))
    return {"people": people, "digital": digital}


def movement(start, new=0, reactivated=0, expansion=0, contraction=0, churned=0, end=0):
    return {
        "start": start,
        "new": new,
        "reactivated": reactivated,
        "expansion": expansion,
        "contraction": contraction,
        "churned": churned,
        "end": end,
    }


def test_mrr_runs_at_the_discounted_price_while_the_discount_runs(discounted):
    segments = metrics.load_segments()
    # Mar 10: Pia 4, Sam 8, Rosa 108/12 = 9; Tess still in her trial.
    assert metrics.mrr(segments, at(3, 10)) == {"eur": 400, "usd": 400 + 800 + 900}
    # Jan: Pia at half, Sam in full.
    assert metrics.mrr(segments, month_end(1)) == {"usd": 1200}
    # Feb: Quinn EUR 7 - 3.
    assert metrics.mrr(segments, month_end(2)) == {"eur": 400, "usd": 1200}
    # Mar: Rosa 9 and Tess 8 join.
    assert metrics.mrr(segments, month_end(3)) == {"eur": 400, "usd": 2900}
    # Apr: Pia's three months ended Apr 10: 8.
    assert metrics.mrr(segments, month_end(4)) == {"eur": 400, "usd": 3300}
    # May and June: Sam at half from May 5.
    assert metrics.mrr(segments, month_end(5)) == {"eur": 400, "usd": 2900}
    assert metrics.mrr(segments, month_end(6)) == {"eur": 400, "usd": 2900}
    # Jul 15: Sam's two months ended Jul 5.
    assert metrics.mrr(segments, NOW) == {"eur": 400, "usd": 3300}


def test_a_discount_ending_is_expansion_and_a_retention_offer_contraction(discounted):
    segments = metrics.load_segments()
    assert metrics.mrr_movement(segments, month_end(3), month_end(4)) == {
        "eur": movement(400, end=400),
        # Pia from 4 to 8.
        "usd": movement(2900, expansion=400, end=3300),
    }
    assert metrics.mrr_movement(segments, month_end(4), month_end(5))["usd"] == movement(
        # Sam from 8 to 4.
        3300,
        contraction=400,
        end=2900,
    )
    assert metrics.mrr_movement(segments, month_end(6), NOW)["usd"] == movement(
        2900, expansion=400, end=3300
    )
    # March: Rosa and Tess new; nobody else moved.
    assert metrics.mrr_movement(segments, month_end(2), month_end(3))["usd"] == movement(
        1200, new=1700, end=2900
    )


def test_splitting_at_a_discount_counts_no_one_twice(discounted):
    segments = metrics.load_segments()
    assert metrics.paying_by_plan(segments, NOW) == {"Digital": 5}
    assert len(metrics.paying_members(segments, month_end(4))) == 5
    assert metrics.churn_rate(segments, month_end(3), month_end(4)) == (0, 5, 0)
    # Pia, Sam (Jan) and Quinn (Feb): still paying at every mark.
    table = metrics.cohorts(segments, NOW)
    assert [(month, size) for month, size, _cells in table] == [
        (date(2026, 1, 1), 2),
        (date(2026, 2, 1), 1),
        (date(2026, 3, 1), 2),
    ]
    assert table[0][2][:5] == [1, 1, 1, 1, 1]


def test_the_one_pass_series_agrees_with_the_discounts(discounted):
    segments = metrics.load_segments()
    moments = [month_end(m) for m in range(0, 7)] + [NOW]
    found = metrics.series(segments, moments)
    for k, moment in enumerate(moments):
        assert found["mrr"][k] == metrics.mrr(segments, moment)
        if k:
            expected = metrics.mrr_movement(segments, moments[k - 1], moment)
            assert found["movement"][k - 1] == expected


@pytest.mark.parametrize("moment", [at(3, 10), month_end(3), month_end(4), month_end(5), NOW])
def test_the_home_pages_mrr_takes_the_discounts_off(discounted, moment):
    segments = metrics.load_segments()
    assert metrics.current_mrr(moment) == (
        metrics.mrr(segments, moment),
        len(metrics.paying_members(segments, moment)),
    )


@pytest.mark.parametrize("kept", [False, True])
def test_the_dashboard_months_agree_with_or_without_snapshots(discounted, kept):
    # With snapshots, July moves on from June's last day: only Sam's
    # discount ending (Jul 5) changes anything since.
    if kept:
        take_snapshots(NOW)
    period = metrics.Period(date(2026, 1, 1), date(2026, 7, 15))
    with freeze_time(NOW):
        months = dict(dashboard.month_figures(period, NOW))
    assert months[date(2026, 4, 1)]["mrr"] == {"eur": 400, "usd": 3300}
    assert months[date(2026, 4, 1)]["movement"]["usd"] == movement(2900, expansion=400, end=3300)
    assert months[date(2026, 5, 1)]["movement"]["usd"] == movement(3300, contraction=400, end=2900)
    assert months[date(2026, 7, 1)]["mrr"] == {"eur": 400, "usd": 3300}
    assert months[date(2026, 7, 1)]["movement"]["usd"] == movement(2900, expansion=400, end=3300)


@pytest.fixture
def taxed(discounted, site_tree):
    from masthead.billing.models import IssuePurchase, Payment, Subscription
    from tests.factories import make_issue

    pia = Subscription.objects.get(stripe_subscription_id="sub_Pia")
    sam = Subscription.objects.get(stripe_subscription_id="sub_Sam")
    count = iter(range(1, 100))

    def pay(subscription, amount, tax, refunded=0, **fields):
        Payment.objects.create(
            subscription=subscription,
            stripe_invoice_id=f"in_{next(count)}" if subscription else "",
            amount=amount,
            tax_amount=tax,
            amount_refunded=refunded,
            currency="usd",
            paid_at=fields.pop("paid_at", at(3, 10)),
            **fields,
        )

    # March, Digital: $12.00 with $2.00 tax kept; $12.00 with $2.00 tax
    # refunded whole; $11.00 with $1.00 tax, half refunded ($5.50, of which
    # $0.50 is tax).
    pay(pia, 1200, 200)
    pay(sam, 1200, 200, refunded=1200)
    pay(sam, 1100, 100, refunded=550)
    # A single issue: $6.00 with $1.00 tax, refunded.
    purchase = IssuePurchase.objects.create(
        issue=make_issue([], number=62), amount=600, status="refunded"
    )
    pay(None, 600, 100, refunded=600, issue_purchase=purchase)
    # April, untaxed: $8.00.
    pay(pia, 800, 0, paid_at=at(4, 10))


def test_revenue_is_net_of_tax_and_refunds_give_back_their_untaxed_part(taxed):
    rows = metrics.revenue_by_month(date(2026, 3, 1), date(2026, 4, 30))
    assert rows == [
        # Paid 10 + 10 + 10; refunded 10 + (5.50 - 0.50).
        (date(2026, 3, 1), "Digital", "usd", 3000, 1500, 1500),
        # 6.00 - 1.00 paid, all of it refunded.
        (date(2026, 3, 1), "Single issues", "usd", 500, 500, 0),
        (date(2026, 4, 1), "Digital", "usd", 800, 0, 800),
    ]


@pytest.mark.parametrize("kept", [False, True])
def test_the_dashboards_revenue_is_net_of_tax_from_snapshots_too(taxed, kept):
    if kept:
        take_snapshots(NOW)
    period = metrics.Period(date(2026, 3, 1), date(2026, 4, 30))
    with freeze_time(NOW):
        assert dashboard.revenue(period, NOW) == metrics.revenue_by_month(
            date(2026, 3, 1), date(2026, 4, 30)
        )
