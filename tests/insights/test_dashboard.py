"""The Insights page: the hand-computed figures in its tables, the CSV of a
chart, the home panel, and the daily snapshot standing in for history."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse
from freezegun import freeze_time

from masthead.insights import dashboard, metrics
from masthead.insights.models import DailySnapshot
from masthead.insights.tasks import take_snapshots
from tests.insights.history import NOW


@pytest.fixture
def admin_client(client, db):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser(email="editor@example.com"))
    return client


PERIOD = {"start": "2026-01-01", "end": "2026-07-15"}


def chart(charts, slug):
    return next(c for c in charts if c.slug == slug)


@pytest.fixture(params=["live", "snapshots"])
def figures_from(request, history, monkeypatch):
    """Each figure computed from every subscription (no snapshot kept), or
    read from the daily snapshots with only today's changes computed live:
    the answers must be the same."""
    if request.param == "snapshots":
        take_snapshots(NOW)
        load_segments = metrics.load_segments

        def only_some(only=None):
            assert only is not None, "read every subscription despite the snapshots"
            return load_segments(only)

        monkeypatch.setattr(metrics, "load_segments", only_some)
    return request.param


@freeze_time(NOW)
def test_charts_carry_the_hand_computed_figures(figures_from):
    _headline, charts = dashboard.build(metrics.Period(date(2026, 1, 1), date(2026, 7, 15)))
    mrr = chart(charts, "mrr")
    assert mrr.columns == ["Month", "MRR (EUR)", "MRR (USD)"]
    assert mrr.rows[:4] == [
        ["2026-01", 0, 26.0],
        ["2026-02", 0, 34.0],
        ["2026-03", 7.0, 41.0],
        ["2026-04", 0, 41.0],
    ]
    assert chart(charts, "churn").rows[3] == ["2026-04", 40.0, 2, 5]
    assert chart(charts, "paying-by-plan").rows[2] == ["2026-03", 4, 1]
    assert ["2026-04 USD", 0, 0, 0, -8.0, 8.0] in chart(charts, "mrr-movement").rows
    assert chart(charts, "cohorts").rows[1] == [
        "2026-02",
        2,
        100.0,
        100.0,
        50.0,
        50.0,
        50.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert chart(charts, "refunds").rows[-1] == ["45–60", 1]
    revenue = chart(charts, "revenue")
    assert revenue.columns == ["Month", "Digital (EUR)", "Digital (USD)", "Print (USD)"]
    assert revenue.rows[:3] == [
        # Ada's year and Hana's month; Ben's payments under his plan now.
        ["2026-01", 0, 128.0, 8.0],
        # Cleo, Eve and the gift.
        ["2026-02", 0, 64.0, 0],
        # Dora paid 7.00 and got it all back.
        ["2026-03", 0, 0, 8.0],
    ]
    assert chart(charts, "trials-and-gifts").rows == [
        ["Trials ended", 2],
        ["Trials converted", 1],
        ["Gifts sold", 1],
        ["Gifts redeemed", 1],
    ]


@freeze_time(NOW)
def test_dashboard_page_tables_and_a_chart_csv(history, admin_client):
    response = admin_client.get(reverse("insights:dashboard"), PERIOD)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<table class="listing" data-table="mrr">' in page
    assert '<th scope="row">2026-03</th><td>7.0</td><td>41.0</td>' in page
    assert 'id="insights-charts"' in page and "insights/vendor/chart.umd.js" in page
    response = admin_client.get(reverse("insights:chart_csv", args=["mrr"]), PERIOD)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Month", "MRR (EUR)", "MRR (USD)"]
    assert rows[3] == ["2026-03", "7.0", "41.0"]
    assert response["Content-Disposition"].startswith("attachment;")


@freeze_time(NOW)
def test_admin_home_shows_mrr_now(history, admin_client):
    page = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "MRR USD 41.00" in page and "4 paying readers" in page


@freeze_time(NOW)
def test_a_snapshot_is_taken_once_for_each_day_and_month_end(history):
    assert take_snapshots(NOW, days_back=3, months_back=3) == 6
    assert take_snapshots(NOW, days_back=3, months_back=3) == 0
    kept = {snapshot.day: snapshot.figures for snapshot in DailySnapshot.objects.all()}
    assert sorted(kept) == [
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 12),
        date(2026, 7, 13),
        date(2026, 7, 14),
    ]
    # Ada, Eve and Hana on Digital, Ben on Print.
    assert kept[date(2026, 7, 14)]["mrr"] == {"usd": 4100}
    assert kept[date(2026, 7, 14)]["mrr_twelfths"] == {"usd": 4100 * 12}
    assert kept[date(2026, 7, 14)]["paying"] == 4
    assert kept[date(2026, 7, 14)]["paying_by_plan"] == {"Digital": 3, "Print": 1}
    # April's movement and churn on its last day: Hana back, Cleo and Dora gone.
    assert kept[date(2026, 4, 30)]["movement"]["usd"] == {
        "start": 4100,
        "new": 0,
        "reactivated": 800,
        "expansion": 0,
        "contraction": 0,
        "churned": 800,
        "end": 4100,
    }
    assert kept[date(2026, 4, 30)]["churn"] == [2, 5]
    assert "movement" not in kept[date(2026, 7, 13)]
    # The newest keeps the cohort table: January's readers (Ada, Ben, Hana),
    # the last first paid Jan 15 10:00; month 6 not known at Jul 15 00:00.
    assert kept[date(2026, 7, 14)]["cohorts"][0] == [
        "2026-01-01",
        3,
        "2026-01-15T10:00:00+00:00",
        [2, 2, 3, 3, 3, None, None, None, None, None, None, None],
    ]
    assert all("cohorts" not in kept[day] for day in kept if day != date(2026, 7, 14))


@freeze_time(NOW)
def test_a_snapshot_kept_under_an_older_version_is_not_read_and_is_taken_anew(history):
    # Kept before MRR was after discounts and revenue net of tax: wrong now.
    stale = {"mrr": {"usd": 1}, "paying": 1, "gross": [["Digital", "usd", 1]]}
    DailySnapshot.objects.create(day=date(2026, 6, 30), figures=stale, computed_at=NOW)
    period = metrics.Period(date(2026, 6, 1), date(2026, 6, 30))
    assert dict(dashboard.month_figures(period, NOW))[date(2026, 6, 1)]["mrr"] == {"usd": 4100}
    assert take_snapshots(NOW, days_back=0, months_back=1) == 1
    figures = DailySnapshot.objects.get(day=date(2026, 6, 30)).figures
    assert figures["version"] == dashboard.SNAPSHOT_VERSION
    assert figures["mrr"] == {"usd": 4100}
    assert take_snapshots(NOW, days_back=0, months_back=1) == 0


@freeze_time(NOW)
def test_todays_changes_count_live_on_top_of_the_snapshots(figures_from, history):
    from masthead.billing.models import Payment, Subscription
    from tests.insights.history import at

    S = Subscription.Status
    # This morning Finn first paid for Digital monthly and Ben's Print ended.
    finn = Subscription.objects.create(
        member=history["people"]["F"],
        plan=history["plans"]["digital"],
        price=history["prices"]["monthly"],
        status=S.ACTIVE,
        stripe_subscription_id="sub_finn",
        first_paid_at=at(7, 15, 9),
    )
    Payment.objects.create(subscription=finn, amount=800, currency="usd", paid_at=at(7, 15, 9))
    Subscription.objects.filter(member=history["people"]["B"]).update(
        status=S.CANCELED, canceled_at=at(7, 15, 8), ended_at=at(7, 15, 8)
    )
    _headline, charts = dashboard.build(metrics.Period(date(2026, 6, 1), date(2026, 7, 15)))
    # 41.00 + 8.00 (Finn) - 15.00 (Ben).
    assert chart(charts, "mrr").rows == [["2026-06", 41.0], ["2026-07", 34.0]]
    assert chart(charts, "paying-by-plan").rows == [["2026-06", 3, 1], ["2026-07", 4, 0]]
    assert chart(charts, "mrr-movement").rows == [
        ["2026-06 USD", 0, 0, 0, 0, 0],
        ["2026-07 USD", 8.0, 0, 0, -15.0, 0],
    ]
    # Of Ada, Ben, Eve and Hana paying on Jul 1, Ben is gone.
    assert chart(charts, "churn").rows == [["2026-06", 0.0, 0, 4], ["2026-07", 25.0, 1, 4]]
    # January's month 6 became known at 10:00 today (Hana's mark); Finn's
    # July has no month behind it yet.
    cohorts = chart(charts, "cohorts").rows
    assert cohorts == [["2026-07", 1, *[None] * 12]]
    _headline, charts = dashboard.build(metrics.Period(date(2026, 1, 1), date(2026, 7, 15)))
    cohorts = chart(charts, "cohorts").rows
    assert cohorts[0] == ["2026-01", 3, 66.7, 66.7, 100.0, 100.0, 100.0, 100.0, *[None] * 6]
    assert cohorts[-1] == ["2026-07", 1, *[None] * 12]


def test_kept_revenue_gives_way_to_a_late_payment_and_a_plan_change(history):
    from datetime import timedelta

    from masthead.billing.models import BillingAuditLog, Payment, Subscription
    from tests.insights.history import at

    period = metrics.Period(date(2026, 1, 1), date(2026, 7, 15))
    with freeze_time(NOW):
        take_snapshots(NOW)
    later = NOW + timedelta(hours=1)
    with freeze_time(later):
        # A payment of March recorded only now, and Ben back on Digital.
        Payment.objects.create(amount=300, currency="usd", paid_at=at(3, 9))
        ben = Subscription.objects.get(member=history["people"]["B"])
        Subscription.objects.filter(pk=ben.pk).update(
            plan=history["plans"]["digital"], price=history["prices"]["monthly"]
        )
        BillingAuditLog.objects.create(
            subscription=ben,
            action="plan_switched",
            detail={
                "old_price_id": history["prices"]["print"].pk,
                "new_price_id": history["prices"]["monthly"].pk,
            },
        )
        _headline, charts = dashboard.build(period, later)
    revenue = chart(charts, "revenue")
    # Ben's payments (Jan 5, Mar 5) count under Digital now: no Print left.
    assert revenue.columns == ["Month", "Digital (EUR)", "Digital (USD)", "Other (USD)"]
    assert revenue.rows[:4] == [
        ["2026-01", 0, 136.0, 0],
        ["2026-02", 0, 64.0, 0],
        ["2026-03", 0, 8.0, 3.0],
        # Hana back in April; unchanged since the snapshot.
        ["2026-04", 0, 8.0, 0],
    ]


@freeze_time(NOW)
def test_a_new_payment_shows_at_once_despite_the_cache(history, admin_client):
    from masthead.billing.models import Payment
    from tests.insights.history import at

    url = reverse("insights:chart_csv", args=["revenue"])
    before = admin_client.get(url, PERIOD).content.decode()
    Payment.objects.create(amount=2500, currency="usd", paid_at=at(3, 9))
    after = admin_client.get(url, PERIOD).content.decode()
    assert before != after
    assert "Other (USD)" in after.splitlines()[0]


def test_the_cache_key_suits_memcached(history):
    from django.core.cache.backends.base import memcache_key_warnings

    # The data version holds timestamps, with spaces (an updated_at, a
    # completed refund).
    assert " " in dashboard.data_version()
    key = dashboard.cache_key(metrics.Period(date(2026, 1, 1), date(2026, 7, 15)))
    assert list(memcache_key_warnings(key)) == []
    assert key.startswith("insights:dashboard:2026-01-01:2026-07-15:")


def test_the_cache_key_changes_with_the_data(history):
    from masthead.billing.models import Payment
    from tests.insights.history import at

    period = metrics.Period(date(2026, 1, 1), date(2026, 7, 15))
    before = dashboard.cache_key(period)
    Payment.objects.create(amount=2500, currency="usd", paid_at=at(3, 9))
    assert dashboard.cache_key(period) != before
