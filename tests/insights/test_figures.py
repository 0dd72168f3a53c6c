"""Each dashboard figure against the small history in history.py, with the
answers worked out by hand in the comments."""

from datetime import UTC, date, datetime
from fractions import Fraction

from masthead.insights import metrics
from tests.insights.history import NOW, at


def month_end(month):
    return datetime(2026, month + 1, 1, tzinfo=UTC)


def test_mrr_at_each_month_end(history):
    segments = metrics.load_segments()
    # Jan: Ada 120.00/12 + Ben 8 + Hana 8.
    assert metrics.mrr(segments, month_end(1)) == {"usd": 2600}
    # Feb: Hana ended Feb 15; Cleo and Eve started: 10 + 8 + 8 + 8.
    assert metrics.mrr(segments, month_end(2)) == {"usd": 3400}
    # Mar: Ben on Print (15); Dora in euros.
    assert metrics.mrr(segments, month_end(3)) == {"eur": 700, "usd": 4100}
    # Apr: Cleo's period ended May 1 00:00, Dora refunded, Hana back.
    assert metrics.mrr(segments, month_end(4)) == {"usd": 4100}
    assert metrics.mrr(segments, NOW) == {"usd": 4100}


def test_a_trial_and_a_gift_are_not_recurring_revenue(history):
    segments = metrics.load_segments()
    # Eve's trial ran Feb 1 to 15: on Feb 10 Ada, Ben, Cleo and Hana pay,
    # Eve does not yet.
    assert metrics.mrr(segments, at(2, 10)) == {"usd": 1000 + 800 + 800 + 800}
    assert {segment.member_id for segment in segments} == {
        history["people"][key].pk for key in "ABCDEH"
    }


def test_mrr_movement(history):
    segments = metrics.load_segments()
    feb = metrics.mrr_movement(segments, month_end(1), month_end(2))
    assert feb == {
        "usd": {
            "start": 2600,
            "new": 1600,
            "reactivated": 0,
            "expansion": 0,
            "contraction": 0,
            "churned": 800,
            "end": 3400,
        },
    }
    march = metrics.mrr_movement(segments, month_end(2), month_end(3))
    assert march["usd"] == {
        "start": 3400,
        "new": 0,
        "reactivated": 0,
        "expansion": 700,
        "contraction": 0,
        "churned": 0,
        "end": 4100,
    }
    assert march["eur"] == {
        "start": 0,
        "new": 700,
        "reactivated": 0,
        "expansion": 0,
        "contraction": 0,
        "churned": 0,
        "end": 700,
    }
    april = metrics.mrr_movement(segments, month_end(3), month_end(4))
    assert april["usd"] == {
        "start": 4100,
        "new": 0,
        "reactivated": 800,
        "expansion": 0,
        "contraction": 0,
        "churned": 800,
        "end": 4100,
    }
    assert april["eur"]["churned"] == 700 and april["eur"]["end"] == 0


def test_paying_readers_by_plan(history):
    segments = metrics.load_segments()
    # End of March: Ada, Cleo, Eve, Dora on Digital; Ben on Print.
    assert metrics.paying_by_plan(segments, month_end(3)) == {"Digital": 4, "Print": 1}
    # Before the switch Ben was on Digital.
    assert metrics.paying_by_plan(segments, month_end(2)) == {"Digital": 4}


def test_monthly_churn_rate(history):
    segments = metrics.load_segments()
    # Feb 1: Ada, Ben, Hana paying (Cleo from 10:00); Hana gone by Mar 1.
    assert metrics.churn_rate(segments, month_end(1), month_end(2)) == (1, 3, Fraction(1, 3))
    # Apr 1: Ada, Ben, Cleo, Dora, Eve; Cleo and Dora gone by May 1.
    assert metrics.churn_rate(segments, month_end(3), month_end(4)) == (2, 5, Fraction(2, 5))


def test_new_cancelled_and_refunded_per_week(history):
    weeks = metrics.weekly_counts(date(2026, 4, 1), date(2026, 4, 30))
    assert weeks == [
        (date(2026, 3, 30), 0, 0, 0),
        # Hana back on Apr 10; Cleo cancelled Apr 10.
        (date(2026, 4, 6), 1, 1, 0),
        (date(2026, 4, 13), 0, 0, 0),
        (date(2026, 4, 20), 0, 0, 0),
        # Dora's refund on Apr 29 (a refund is not also a cancellation).
        (date(2026, 4, 27), 0, 0, 1),
    ]


def test_refunds_under_the_guarantee_and_when(history):
    march = metrics.guarantee_refunds(at(3, 1, 0), at(4, 1, 0))
    assert march == {
        "paid": 1,
        "refunded": 1,
        "share": Fraction(1, 1),
        # Day 59 after the first payment: the last stretch.
        "by_day": [(0, 6, 0), (7, 13, 0), (14, 29, 0), (30, 44, 0), (45, 60, 1)],
    }
    # Ada, Ben, Hana (twice), Cleo, Eve, Dora first paid this year; one refund.
    year = metrics.guarantee_refunds(at(1, 1, 0), NOW)
    assert (year["paid"], year["refunded"], year["share"]) == (7, 1, Fraction(1, 7))


def test_trial_to_paid_conversion(history):
    # Eve's trial ended Feb 15 and she paid; Finn's ended Mar 10 unpaid.
    assert metrics.trial_conversion(at(2, 1, 0), at(4, 1, 0), NOW) == {
        "ended": 2,
        "converted": 1,
        "share": Fraction(1, 2),
    }
    assert metrics.trial_conversion(at(3, 1, 0), at(4, 1, 0), NOW)["share"] == 0


def test_gifts_sold_and_redeemed(history):
    assert metrics.gifts(at(2, 1, 0), at(3, 1, 0)) == {
        "sold": 1,
        "redeemed": 1,
        "amounts": {"usd": 4800},
    }
    assert metrics.gifts(at(3, 1, 0), at(4, 1, 0))["sold"] == 0


def test_every_cohort_cell(history):
    table = metrics.cohorts(metrics.load_segments(), NOW)
    third, half, none = Fraction(2, 3), Fraction(1, 2), None
    assert table == [
        # Ada, Ben, Hana: Hana's month-1 and month-2 marks (Feb 15, Mar 15)
        # fall in her gap; month 6 is Jul 15 10:00, before now.
        (date(2026, 1, 1), 3, [third, third, 1, 1, 1, 1] + [none] * 6),
        # Cleo and Eve: Cleo ended May 1, her month-3 mark.
        (date(2026, 2, 1), 2, [1, 1, half, half, half] + [none] * 7),
        # Dora: refunded before her month-2 mark.
        (date(2026, 3, 1), 1, [1, 0, 0, 0] + [none] * 8),
    ]


def test_revenue_by_month_plan_and_currency(history):
    rows = metrics.revenue_by_month(date(2026, 1, 1), date(2026, 3, 31))
    assert rows == [
        # Ada's year, Hana's month; Ben's payments count under his plan now.
        (date(2026, 1, 1), "Digital", "usd", 12800, 0, 12800),
        (date(2026, 1, 1), "Print", "usd", 800, 0, 800),
        # Cleo, Eve and the gift.
        (date(2026, 2, 1), "Digital", "usd", 6400, 0, 6400),
        # Dora paid and got it all back.
        (date(2026, 3, 1), "Digital", "eur", 700, 700, 0),
        (date(2026, 3, 1), "Print", "usd", 800, 0, 800),
    ]


def test_months_begin_in_the_publishers_time_zone(history, settings):
    from masthead.billing.models import Payment

    Payment.objects.create(amount=100, currency="usd", paid_at=at(1, 31, 23, 30))
    settings.PUBLISHER_TIME_ZONE = "Europe/Paris"
    # 23:30 UTC on Jan 31 is 00:30 on Feb 1 in Paris.
    february = [
        row for row in metrics.revenue_by_month(date(2026, 2, 1), date(2026, 2, 28)) if row[1] == ""
    ]
    assert february == [(date(2026, 2, 1), "", "usd", 100, 0, 100)]


def test_single_issues_count_as_revenue_of_their_own(history, site_tree):
    from masthead.billing.models import IssuePurchase, Payment
    from tests.factories import make_issue

    issue = make_issue([], number=61)
    for refunded in (0, 600):
        purchase = IssuePurchase.objects.create(issue=issue, amount=600, status="paid")
        Payment.objects.create(
            issue_purchase=purchase,
            amount=600,
            amount_refunded=refunded,
            currency="usd",
            paid_at=at(2, 10),
        )
    rows = metrics.revenue_by_month(date(2026, 2, 1), date(2026, 2, 28))
    assert (date(2026, 2, 1), "Single issues", "usd", 1200, 600, 600) in rows
    assert (date(2026, 2, 1), "Digital", "usd", 6400, 0, 6400) in rows


def test_the_home_pages_mrr_query_agrees_with_the_history(history):
    segments = metrics.load_segments()
    # From April on no plan switch lies ahead, so the current price is the
    # price then too.
    for moment in (month_end(3), at(4, 29, 12), month_end(4), NOW):
        assert metrics.current_mrr(moment) == (
            metrics.mrr(segments, moment),
            len(metrics.paying_members(segments, moment)),
        )


def test_the_one_pass_series_agrees_with_each_figure(history):
    segments = metrics.load_segments()
    moments = [month_end(m) for m in range(0, 6)] + [NOW]
    found = metrics.series(segments, moments)
    for k, moment in enumerate(moments):
        assert found["mrr"][k] == metrics.mrr(segments, moment)
        assert found["paying_by_plan"][k] == metrics.paying_by_plan(segments, moment)
        if k:
            start = moments[k - 1]
            expected = metrics.mrr_movement(segments, start, moment)
            assert found["movement"][k - 1] == expected
            assert found["churn"][k - 1] == metrics.churn_rate(segments, start, moment)
