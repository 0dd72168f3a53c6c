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


@freeze_time(NOW)
def test_charts_carry_the_hand_computed_figures(history):
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
def test_a_snapshot_is_taken_once_and_read_for_history(history):
    assert take_snapshots(NOW, days_back=3) == 3
    assert take_snapshots(NOW, days_back=3) == 0
    kept = DailySnapshot.objects.get(day=date(2026, 7, 14))
    # Ada, Eve and Hana on Digital, Ben on Print.
    assert kept.figures == {"mrr": {"usd": 4100}, "paying_by_plan": {"Digital": 3, "Print": 1}}
    # A kept day is what the dashboard shows for it, live days are computed.
    DailySnapshot.objects.create(
        day=date(2026, 3, 31), figures={"mrr": {"usd": 1}, "paying_by_plan": {}}
    )
    figures = dict(
        dashboard.month_end_figures(
            metrics.Period(date(2026, 3, 1), date(2026, 7, 15)), metrics.load_segments(), NOW
        )
    )
    assert figures[date(2026, 3, 1)]["mrr"] == {"usd": 1}
    assert figures[date(2026, 4, 1)]["mrr"] == {"usd": 4100}


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
