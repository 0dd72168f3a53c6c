"""The dashboard's charts, each as one structure that the chart, the table
beside it and its CSV are all drawn from, so the three never disagree.

A chart: slug, title, kind ("line", "bar", "table" for a table alone),
columns (the table's headings: the first names the rows, the others are the
datasets) and rows (a label, then one number per dataset). Money is in the
currency's units (dollars, not cents); shares are percentages.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from . import metrics
from .models import DailySnapshot


@dataclass
class Chart:
    slug: str
    title: str
    kind: str
    columns: list
    rows: list = field(default_factory=list)
    note: str = ""
    stacked: bool = False

    def as_data(self):
        return {
            "slug": self.slug,
            "kind": self.kind,
            "stacked": self.stacked,
            "labels": [str(row[0]) for row in self.rows],
            "datasets": [
                {"label": column, "data": [row[index + 1] for row in self.rows]}
                for index, column in enumerate(self.columns[1:])
            ],
        }


def money(value):
    return round(value / 100, 2)


def percent(share):
    return None if share is None else round(float(share * 100), 1)


def default_period(now=None):
    today = metrics.local_date(now or timezone.now())
    start = metrics.month_start(today) - relativedelta(months=11)
    return metrics.Period(start, today)


def _month_label(month):
    return month.strftime("%Y-%m")


def snapshot_figures(day, segments, now):
    """The figures a daily snapshot keeps for the end of `day`."""
    moment = min(metrics.local_midnight(day + timedelta(days=1)), now)
    return {
        "mrr": metrics.mrr(segments, moment),
        "paying_by_plan": metrics.paying_by_plan(segments, moment),
    }


def month_end_figures(period, segments, now, live=None):
    """[(month, figures at its end)]: from the daily snapshot of the month's
    last day where the scheduler kept one, computed live otherwise (and for
    the month not yet ended). `live`: those computed already, by month."""
    ends = metrics.month_ends(period, now)
    days = [moment.date() - timedelta(days=1) for _month, moment in ends]
    kept = {
        snapshot.day: snapshot.figures for snapshot in DailySnapshot.objects.filter(day__in=days)
    }
    found = []
    for (month, moment), day in zip(ends, days, strict=True):
        if moment < now and day in kept:
            found.append((month, kept[day]))
        elif live is not None:
            found.append((month, live[month]))
        else:
            found.append(
                (
                    month,
                    {
                        "mrr": metrics.mrr(segments, moment),
                        "paying_by_plan": metrics.paying_by_plan(segments, moment),
                    },
                )
            )
    return found


def build(period, now=None):
    """Every chart of the dashboard for `period`, and the headline figures."""
    now = now or timezone.now()
    segments = metrics.load_segments()
    ends = metrics.month_ends(period, now)
    moments = [metrics.local_midnight(ends[0][0]), *[moment for _month, moment in ends]]
    computed = metrics.series(segments, moments)
    live = {
        month: {"mrr": computed["mrr"][k + 1], "paying_by_plan": computed["paying_by_plan"][k + 1]}
        for k, (month, _moment) in enumerate(ends)
    }
    figures = month_end_figures(period, segments, now, live)
    currencies = sorted({c for _m, f in figures for c in f["mrr"]} | {"usd"})
    plans = sorted({p for _m, f in figures for p in f["paying_by_plan"]})
    charts = []

    charts.append(
        Chart(
            "mrr",
            "Monthly recurring revenue",
            "line",
            ["Month", *[f"MRR ({c.upper()})" for c in currencies]],
            [
                [_month_label(m), *[money(f["mrr"].get(c, 0)) for c in currencies]]
                for m, f in figures
            ],
            note="At each month's end (today for this month); yearly plans count a twelfth.",
        )
    )

    movement_rows = []
    for k, (month, _moment) in enumerate(ends):
        for currency, moved in computed["movement"][k].items():
            movement_rows.append(
                [
                    f"{_month_label(month)} {currency.upper()}",
                    money(moved["new"]),
                    money(moved["expansion"]),
                    -money(moved["contraction"]),
                    -money(moved["churned"]),
                    money(moved["reactivated"]),
                ]
            )
    charts.append(
        Chart(
            "mrr-movement",
            "MRR movement",
            "bar",
            ["Month", "New", "Expansion", "Contraction", "Churned", "Reactivated"],
            movement_rows,
            stacked=True,
        )
    )

    charts.append(
        Chart(
            "paying-by-plan",
            "Paying readers by plan",
            "line",
            ["Month", *plans],
            [
                [_month_label(m), *[f["paying_by_plan"].get(p, 0) for p in plans]]
                for m, f in figures
            ],
        )
    )

    charts.append(
        Chart(
            "weekly",
            "New, cancelled and refunded per week",
            "bar",
            ["Week of", "New", "Cancelled", "Refunded"],
            [
                [week.isoformat(), new, cancelled, refunded]
                for week, new, cancelled, refunded in metrics.weekly_counts(
                    max(period.start_day, period.end_day - timedelta(days=83)), period.end_day
                )
            ],
        )
    )

    churn_rows = []
    for k, (month, _moment) in enumerate(ends):
        churned, paying, rate = computed["churn"][k]
        churn_rows.append([_month_label(month), percent(rate), churned, paying])
    charts.append(
        Chart(
            "churn",
            "Monthly churn rate",
            "line",
            ["Month", "Churn (%)", "Churned", "Paying at start"],
            churn_rows,
        )
    )

    guarantee = metrics.guarantee_refunds(period.start, period.end)
    charts.append(
        Chart(
            "refunds",
            "Refunds under the 60-day guarantee, by day after the first payment",
            "bar",
            ["Days", "Refunds"],
            [[f"{low}–{high}", count] for low, high, count in guarantee["by_day"]],
            note=(
                f"{guarantee['refunded']} of {guarantee['paid']} subscriptions first paid in "
                f"the period were refunded ({percent(guarantee['share'])}%)."
                if guarantee["paid"]
                else "No subscriptions were first paid in the period."
            ),
        )
    )

    trials = metrics.trial_conversion(period.start, period.end, now)
    gifts = metrics.gifts(period.start, period.end)
    charts.append(
        Chart(
            "trials-and-gifts",
            "Trials and gifts",
            "bar",
            ["Figure", "Count"],
            [
                ["Trials ended", trials["ended"]],
                ["Trials converted", trials["converted"]],
                ["Gifts sold", gifts["sold"]],
                ["Gifts redeemed", gifts["redeemed"]],
            ],
            note=(
                f"Trial-to-paid conversion: {percent(trials['share'])}%."
                if trials["ended"]
                else "No trials ended in the period."
            ),
        )
    )

    cohort_rows = []
    since = metrics.month_start(period.start_day)
    for month, size, cells in metrics.cohorts(segments, now, since=since):
        cohort_rows.append([_month_label(month), size, *[percent(cell) for cell in cells]])
    charts.append(
        Chart(
            "cohorts",
            "Cohorts: share still paying after 1–12 months",
            "table",
            ["First paid", "Readers", *[f"{k} mo (%)" for k in range(1, 13)]],
            cohort_rows,
        )
    )

    revenue = metrics.revenue_by_month(period.start_day, period.end_day)
    series = sorted({(plan or "Other", currency) for _m, plan, currency, *_ in revenue})
    by_month = defaultdict(dict)
    for month, plan, currency, _gross, _refunded, net in revenue:
        by_month[month][(plan or "Other", currency)] = net
    charts.append(
        Chart(
            "revenue",
            "Revenue by month (payments less refunds), by plan and currency",
            "bar",
            ["Month", *[f"{plan} ({currency.upper()})" for plan, currency in series]],
            [
                [_month_label(month), *[money(by_month[month].get(key, 0)) for key in series]]
                for month in metrics.months_between(period.start_day, period.end_day)
            ],
            stacked=True,
        )
    )

    circulation = metrics.circulation()
    countries = sorted({c for row in circulation["print"] for c in row["countries"]})
    charts.append(
        Chart(
            "print",
            "Print circulation per issue",
            "bar",
            ["Issue", *countries] if countries else ["Issue", "Copies"],
            [
                [row["issue"], *[row["countries"].get(c, 0) for c in countries]]
                for row in reversed(circulation["print"])
            ],
            stacked=True,
        )
    )
    formats = sorted({f for row in circulation["downloads"] for f in row["formats"]})
    charts.append(
        Chart(
            "downloads",
            "Edition downloads per issue",
            "bar",
            ["Issue", *[f.upper() for f in formats]] if formats else ["Issue", "Downloads"],
            [
                [row["issue"], *[row["formats"].get(f, 0) for f in formats]]
                for row in circulation["downloads"]
            ],
            stacked=True,
        )
    )

    reading = metrics.reading(period.start_day, period.end_day)
    charts.append(
        Chart(
            "articles",
            "Most-read articles, paywall views and the checkouts they led to",
            "bar",
            ["Article", "Reads", "Paywall views", "Checkouts", "Conversion (%)"],
            [
                [
                    row["article"],
                    row["reads"],
                    row["paywall_views"],
                    row["checkouts"],
                    percent(row["conversion"]),
                ]
                for row in reading["articles"]
            ],
        )
    )
    charts.append(
        Chart(
            "sections",
            "Conversion by section",
            "table",
            ["Section", "Reads", "Paywall views", "Checkouts", "Conversion (%)"],
            [
                [
                    row["section"],
                    row["reads"],
                    row["paywall_views"],
                    row["checkouts"],
                    percent(row["conversion"]),
                ]
                for row in reading["sections"]
            ],
        )
    )
    listening = reading["listening"]
    charts.append(
        Chart(
            "listening",
            "Narrations",
            "bar",
            ["Progress", "Listens"],
            [
                ["Started", listening.get("narrations_started", 0)],
                ["Past half", listening.get("narrations_half", 0)],
                ["To the end", listening.get("narrations_end", 0)],
            ],
        )
    )
    mrr_now, paying = metrics.current_mrr(now)
    headline = {"mrr": {c.upper(): money(v) for c, v in mrr_now.items()}, "paying": paying}
    return headline, charts


def headline(now=None):
    """MRR and paying readers now, for the admin's home panel."""
    now = now or timezone.now()
    mrr_now, paying = metrics.current_mrr(now)
    return {"mrr": {c.upper(): money(v) for c, v in mrr_now.items()}, "paying": paying}


CACHE_SECONDS = 60


def data_version():
    """What changes whenever a figure's inputs do: the newest payment,
    refund, gift, audit row and subscription change."""
    from django.db.models import Max

    from masthead.billing.models import BillingAuditLog, Gift, Payment, Refund, Subscription
    from masthead.printing.models import PrintRun

    parts = [
        Payment.objects.aggregate(v=Max("pk"))["v"],
        Refund.objects.aggregate(v=Max("completed_at"))["v"],
        Gift.objects.aggregate(v=Max("pk"))["v"],
        BillingAuditLog.objects.aggregate(v=Max("pk"))["v"],
        Subscription.objects.aggregate(v=Max("updated_at"))["v"],
        PrintRun.objects.aggregate(v=Max("closed_at"))["v"],
    ]
    return ":".join(str(part) for part in parts)


def build_cached(period, now=None):
    """`build`, kept for CACHE_SECONDS while nothing it reads has changed:
    a payment, refund or subscription change shows at once; reading counts
    and the month now running are at most CACHE_SECONDS old."""
    from django.core.cache import cache

    key = f"insights:dashboard:{period.start_day}:{period.end_day}:{data_version()}"
    found = cache.get(key)
    if found is None:
        found = build(period, now)
        cache.set(key, found, CACHE_SECONDS)
    return found
