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
from fractions import Fraction

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


# What a snapshot's figures mean; one kept under another is taken anew (see
# tasks.take_snapshots) and, until then, not read. 2: MRR after discounts,
# revenue net of tax.
SNAPSHOT_VERSION = 2


def kept_snapshots():
    """The daily snapshots kept under SNAPSHOT_VERSION."""
    return DailySnapshot.objects.filter(figures__version=SNAPSHOT_VERSION)


def snapshot_figures(day, segments, now, with_cohorts=False):
    """The figures a daily snapshot keeps for the end of `day`: MRR, paying
    readers (and by plan); on a month's last day that month's MRR movement
    and churn; with `with_cohorts`, the cohort table as it stood."""
    moment = min(metrics.local_midnight(day + timedelta(days=1)), now)
    twelfths = defaultdict(int)
    for (_member, currency), value in metrics.member_mrr(segments, moment).items():
        twelfths[currency] += value
    figures = {
        "version": SNAPSHOT_VERSION,
        "mrr": metrics.mrr(segments, moment),
        # Uncounted to cents, so that the running month can move on from it.
        "mrr_twelfths": dict(sorted(twelfths.items())),
        "paying": len(metrics.paying_members(segments, moment)),
        "paying_by_plan": metrics.paying_by_plan(segments, moment),
    }
    if (day + timedelta(days=1)).day == 1:
        start = metrics.local_midnight(metrics.month_start(day))
        figures["movement"] = metrics.mrr_movement(segments, start, moment)
        churned, paying, _rate = metrics.churn_rate(segments, start, moment)
        figures["churn"] = [churned, paying]
        figures["net_paid"] = [
            [plan, currency, gross]
            for (_month, plan, currency), gross in sorted(
                month_gross([metrics.month_start(day)]).items()
            )
        ]
    if with_cohorts:
        figures["cohorts"] = metrics.kept_cohorts(segments, moment)
    return figures


def month_gross(months):
    """{(month, plan, currency): payments in cents} for `months` (first days)."""
    from django.db.models import Q

    from masthead.billing.models import Payment

    within = Q()
    for month in months:
        within |= Q(
            paid_at__gte=metrics.local_midnight(month),
            paid_at__lt=metrics.local_midnight(month + relativedelta(months=1)),
        )
    totals = metrics.payment_totals(Payment.objects.filter(within), metrics.net_paid())
    return {key: gross for key, (gross,) in totals.items()}


def revenue(period, now):
    """`metrics.revenue_by_month` for the period: each finished month's
    payments from the snapshot of its last day while they still hold, the
    others' counted live; refunds always live (few payments have any)."""
    from masthead.billing.models import Payment

    months = metrics.months_between(period.start_day, period.end_day)
    whole = [
        month
        for month in months
        if _last_day(month) <= period.end_day
        and metrics.local_midnight(month + relativedelta(months=1)) <= now
    ]
    kept, kept_at = {}, {}
    for snapshot in kept_snapshots().filter(
        day__in=[_last_day(month) for month in whole], figures__has_key="net_paid"
    ):
        month = metrics.month_start(snapshot.day)
        kept[month] = snapshot.figures["net_paid"]
        kept_at[month] = snapshot.computed_at
    for month in metrics.months_with_changed_gross(kept_at, now):
        del kept[month]
    gross = {
        (month, plan, currency): cents
        for month, rows in kept.items()
        for plan, currency, cents in rows
    }
    live = [month for month in whole if month not in kept]
    if live:
        gross.update(month_gross(live))
    if months[-1] not in whole:
        # The month running, or the period ends before its last month does.
        payments = Payment.objects.filter(
            paid_at__gte=metrics.local_midnight(months[-1]),
            paid_at__lt=metrics.local_midnight(period.end_day + timedelta(days=1)),
        )
        gross.update(
            (key, cents)
            for key, (cents,) in metrics.payment_totals(payments, metrics.net_paid()).items()
        )
    refunded = metrics.payment_totals(
        Payment.objects.filter(
            paid_at__gte=metrics.local_midnight(months[0]),
            paid_at__lt=metrics.local_midnight(period.end_day + timedelta(days=1)),
            amount_refunded__gt=0,
        ),
        metrics.net_refunded(),
    )
    return metrics.revenue_rows(gross, {key: cents for key, (cents,) in refunded.items()})


def _last_day(month):
    return month + relativedelta(months=1) - timedelta(days=1)


def _from_snapshot(figures):
    churned, paying = figures["churn"]
    return {
        "mrr": figures["mrr"],
        "paying_by_plan": figures["paying_by_plan"],
        "movement": figures["movement"],
        "churn": (churned, paying, Fraction(churned, paying) if paying else None),
    }


class Segments:
    """Every subscription's segments, read from the database the first time
    they are needed (reading them is the dashboard's slowest step)."""

    def __init__(self):
        self._segments = None

    def get(self):
        if self._segments is None:
            self._segments = metrics.load_segments()
        return self._segments


def month_figures(period, now, segments=None):
    """[(month, figures)]: MRR and paying readers by plan at each month's end
    (now for the running month), and its MRR movement and churn. A finished
    month's come from the snapshot of its last day; the running month's from
    the snapshot of the day before it and the members whose revenue changed
    since. Only a month without its snapshot reads every segment."""
    segments = segments or Segments()
    ends = metrics.month_ends(period, now)
    wanted = set()
    for month, _moment in ends:
        wanted.update((month - timedelta(days=1), _last_day(month)))
    kept = {snapshot.day: snapshot.figures for snapshot in kept_snapshots().filter(day__in=wanted)}
    found = {}
    for month, moment in ends:
        closing = kept.get(_last_day(month))
        opening = kept.get(month - timedelta(days=1))
        if moment < now and closing and "movement" in closing:
            found[month] = _from_snapshot(closing)
        elif moment == now and opening and "paying" in opening:
            found[month] = metrics.month_since(opening, metrics.local_midnight(month), now)
    if len(found) < len(ends):
        moments = [metrics.local_midnight(ends[0][0]), *[moment for _month, moment in ends]]
        computed = metrics.series(segments.get(), moments)
        for k, (month, _moment) in enumerate(ends):
            if month not in found:
                found[month] = {
                    "mrr": computed["mrr"][k + 1],
                    "paying_by_plan": computed["paying_by_plan"][k + 1],
                    "movement": computed["movement"][k],
                    "churn": computed["churn"][k],
                }
    return [(month, found[month]) for month, _moment in ends]


def cohort_table(period, now, segments=None):
    """`metrics.cohorts` for the period's months on: from the newest snapshot
    that kept the table, updated where it has changed since; from every
    segment when there is none."""
    segments = segments or Segments()
    since = metrics.month_start(period.start_day)
    snapshot = (
        kept_snapshots()
        .filter(figures__has_key="cohorts", day__lt=metrics.local_date(now))
        .order_by("-day")
        .first()
    )
    if snapshot is None:
        return metrics.cohorts(segments.get(), now, since=since)
    kept_at = metrics.local_midnight(snapshot.day + timedelta(days=1))
    return metrics.cohorts_since(snapshot.figures["cohorts"], kept_at, now, since=since)


def build(period, now=None):
    """Every chart of the dashboard for `period`, and the headline figures."""
    now = now or timezone.now()
    segments = Segments()
    figures = month_figures(period, now, segments)
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
    for month, found in figures:
        for currency, moved in found["movement"].items():
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
    for month, found in figures:
        churned, paying, rate = found["churn"]
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
    for month, size, cells in cohort_table(period, now, segments):
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

    revenue_rows = revenue(period, now)
    series = sorted({(plan or "Other", currency) for _m, plan, currency, *_ in revenue_rows})
    by_month = defaultdict(dict)
    for month, plan, currency, _gross, _refunded, net in revenue_rows:
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
    _month, running = figures[-1]
    if "paying" in running and metrics.month_ends(period, now)[-1][1] == now:
        # The running month's figures, worked out live, are those of now.
        mrr_now, paying = running["mrr"], running["paying"]
    else:
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


def cache_key(period):
    """The cache key of the dashboard for `period` with the data as it is:
    the data version (timestamps, with spaces) as a digest, so that the key
    suits every cache backend (memcached refuses spaces and long keys)."""
    import hashlib

    version = hashlib.sha256(data_version().encode()).hexdigest()
    return (
        f"insights:dashboard:{period.start_day.isoformat()}:{period.end_day.isoformat()}:{version}"
    )


def build_cached(period, now=None):
    """`build`, kept for CACHE_SECONDS while nothing it reads has changed:
    a payment, refund or subscription change shows at once; reading counts
    and the month now running are at most CACHE_SECONDS old."""
    from django.core.cache import cache

    key = cache_key(period)
    found = cache.get(key)
    if found is None:
        found = build(period, now)
        cache.set(key, found, CACHE_SECONDS)
    return found
