"""The dashboard's figures, computed from what billing, printing, editions
and the tallies recorded. Every function takes the moment to compute for
(`now`) and works in the publisher's time zone (PUBLISHER_TIME_ZONE): days,
weeks (from Monday) and months begin at local midnight there.

Definitions (after Stripe's and Baremetrics' published ones):

- MRR: the recurring amount of every paid subscription running at a moment,
  normalised to a month (a yearly price divided by 12), at the price in
  force then (plan switches split a subscription's history). A subscription
  counts from its first payment (a trial is excluded) until it ends: the end
  of the paid period for a cancellation, the refund for a refund. Amounts
  stay in their own currency: no conversion. MRR is after discounts, while
  they run: an offer's from the first payment for its months (rounded up to
  whole billing periods, as Stripe bills a repeating coupon; forever: to
  the end), and a retention offer's from its acceptance for its months
  (it replaces the offer's meanwhile). A discount's end is a step up in
  MRR: expansion in the movement.
- Revenue: payments less tax, less the untaxed part of what was refunded of
  them (a refund gives tax back in proportion).
- MRR movement over a period, per member and currency, comparing the start
  and the end: new (nothing before, never paid before), reactivated
  (nothing at the start, paid at some time before), expansion and
  contraction (more or less than at the start), churned (nothing at the
  end). start + new + reactivated + expansion - contraction - churned = end.
- Monthly churn rate: members paying at the start of the month who pay
  nothing at its end, over the members paying at its start.
- Cohorts: members by the month of their first payment; cell k is the share
  of them still paying k months after their own first payment.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from itertools import pairwise

from dateutil.relativedelta import relativedelta
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, Sum
from django.db.models.functions import TruncDate

from .counting import publisher_zone

GUARANTEE_BUCKETS = ((0, 6), (7, 13), (14, 29), (30, 44), (45, 60))


# Time in the publisher's zone -----------------------------------------------------------


def local_midnight(day):
    return datetime.combine(day, time.min, tzinfo=publisher_zone())


def local_date(moment):
    return moment.astimezone(publisher_zone()).date()


def month_start(day):
    return day.replace(day=1)


def months_between(first, last):
    """The first day of each month from `first`'s to `last`'s, both included."""
    month = month_start(first)
    found = []
    while month <= last:
        found.append(month)
        month += relativedelta(months=1)
    return found


def week_start(day):
    return day - timedelta(days=day.weekday())


def cents(value):
    """Twelfths of a cent (see `monthly_amount`), rounded half up to whole cents."""
    return (value + 6) // 12 if value >= 0 else -((-value + 6) // 12)


# Subscriptions as runs of recurring revenue ---------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of one subscription at one price: it brings `monthly` (in
    twelfths of a cent of `currency`, so that a yearly price divides
    exactly) from `start` until `end` (None: still running)."""

    subscription_id: int
    member_id: int | None
    plan: str
    currency: str
    monthly: int
    member: int
    start: datetime
    end: datetime | None

    def covers(self, moment):
        return self.start <= moment and (self.end is None or moment < self.end)


def monthly_amount(amount, interval):
    """A price's monthly amount in twelfths of a cent: integers all the way."""
    return amount if interval == "year" else amount * 12


def _subscription_end(row):
    status = row["status"]
    if status == "refunded":
        return row["ended_at"] or row["canceled_at"]
    if status == "canceled":
        return row["ended_at"] or row["current_period_end"] or row["canceled_at"]
    if row["cancel_at_period_end"] and row["current_period_end"]:
        return row["current_period_end"]
    return None


def _paid_subscriptions():
    from masthead.billing.models import Subscription

    return Subscription.objects.paid().filter(first_paid_at__isnull=False, price__isnull=False)


@dataclass(frozen=True)
class Discount:
    """A cut in a subscription's price from `start` until `end` (None: for
    ever): `percent_off`, or `amount_off` cents off each invoice."""

    start: datetime
    end: datetime | None
    percent_off: int | None = None
    amount_off: int | None = None

    def covers(self, moment):
        return self.start <= moment and (self.end is None or moment < self.end)

    def apply(self, amount):
        # As the invoices are cut (Offer.discounted, the retention offer).
        if self.percent_off is not None:
            return amount - round(amount * self.percent_off / 100)
        return max(0, amount - (self.amount_off or 0))


DISCOUNT_FIELDS = (
    "offer_id",
    "retention_accepted_at",
    "retention_percent_off",
    "retention_months",
)


def _discount_offers():
    """{offer pk: offer} for the offers that cut a price (not the trials)."""
    from masthead.billing.models import Offer

    return {
        offer.pk: offer
        for offer in Offer.objects.exclude(kind=Offer.Kind.TRIAL).only(
            "kind", "percent_off", "amount_off", "duration", "duration_in_months"
        )
    }


def discounts(row, offers, interval):
    """The discounts of a subscription (`row`: its first_paid_at and
    DISCOUNT_FIELDS), the later one winning where both run. `interval`: the
    billing period's ("month" or "year") that the offer's months round up to."""
    from masthead.billing.models import Offer

    found = []
    offer = offers.get(row["offer_id"]) if row["offer_id"] else None
    if offer is not None:
        end = None
        if offer.duration == Offer.Duration.REPEATING:
            period = 12 if interval == "year" else 1
            months = -(-(offer.duration_in_months or 0) // period) * period
            end = row["first_paid_at"] + relativedelta(months=months)
        if offer.kind == Offer.Kind.PERCENT_OFF:
            found.append(Discount(row["first_paid_at"], end, percent_off=offer.percent_off or 0))
        else:
            found.append(Discount(row["first_paid_at"], end, amount_off=offer.amount_off or 0))
    accepted = row["retention_accepted_at"]
    if accepted is not None and row["retention_percent_off"] and row["retention_months"]:
        end = accepted + relativedelta(months=row["retention_months"])
        found.append(Discount(accepted, end, percent_off=row["retention_percent_off"]))
    return [discount for discount in found if discount.end is None or discount.start < discount.end]


def discounted(amount, found, moment):
    """`amount` with the discount among `found` in force at `moment`."""
    for discount in reversed(found):
        if discount.covers(moment):
            return discount.apply(amount)
    return amount


def load_segments(only=None):
    """Every paid subscription's runs of recurring revenue; `only` (a Q on
    Subscription) keeps some of them."""
    from masthead.billing.models import BillingAuditLog, Price

    subscriptions = _paid_subscriptions()
    if only is not None:
        subscriptions = subscriptions.filter(only)
    prices = {
        price["pk"]: price
        for price in Price.objects.values("pk", "amount", "interval", "currency", "plan__name")
    }
    offers = _discount_offers()
    switched = BillingAuditLog.objects.filter(action="plan_switched", subscription__isnull=False)
    if only is not None:
        switched = switched.filter(subscription__in=subscriptions.values("pk"))
    switches = defaultdict(list)
    for subscription_id, created_at, detail in switched.order_by("created_at", "pk").values_list(
        "subscription_id", "created_at", "detail"
    ):
        if detail.get("new_price_id"):
            switches[subscription_id].append((created_at, detail))
    rows = subscriptions.values(
        "pk",
        "member_id",
        "price_id",
        "status",
        "first_paid_at",
        "ended_at",
        "canceled_at",
        "current_period_end",
        "cancel_at_period_end",
        *DISCOUNT_FIELDS,
    ).iterator(chunk_size=5000)
    segments = []
    for row in rows:
        end = _subscription_end(row)
        start = row["first_paid_at"]
        changes = switches.get(row["pk"], ())
        # The price at the first payment: the one the first switch left.
        price_id = (changes[0][1].get("old_price_id") if changes else None) or row["price_id"]
        first_price = prices.get(price_id)
        found = ()
        if (row["offer_id"] or row["retention_accepted_at"]) and first_price is not None:
            found = discounts(row, offers, first_price["interval"])
        for switched_at, detail in changes:
            if switched_at > start:
                segments.extend(_segments(row, prices.get(price_id), start, switched_at, found))
                start = switched_at
            price_id = detail["new_price_id"]
        segments.extend(_segments(row, prices.get(price_id), start, end, found))
    return segments


def _segments(row, price, start, end, found):
    """The segments of one subscription at one price from `start` to `end`,
    split where a discount (of `found`) begins or ends."""
    if price is None or (end is not None and end <= start):
        return []
    edges = sorted(
        {
            edge
            for discount in found
            for edge in (discount.start, discount.end)
            if edge is not None and start < edge and (end is None or edge < end)
        }
    )
    bounds = [start, *edges, end]
    return [
        Segment(
            subscription_id=row["pk"],
            member_id=row["member_id"],
            plan=price["plan__name"],
            currency=price["currency"],
            monthly=monthly_amount(discounted(price["amount"], found, begins), price["interval"]),
            # Members deleted since count one each, by their subscription.
            member=row["member_id"] or -row["pk"],
            start=begins,
            end=ends,
        )
        for begins, ends in pairwise(bounds)
    ]


def member_mrr(segments, moment):
    """{(member, currency): MRR in twelfths of a cent} at `moment`."""
    found = defaultdict(int)
    for segment in segments:
        if segment.start <= moment and (segment.end is None or moment < segment.end):
            found[(segment.member, segment.currency)] += segment.monthly
    return found


def mrr(segments, moment):
    """{currency: MRR in cents} at `moment`."""
    totals = defaultdict(int)
    for (_member, currency), value in member_mrr(segments, moment).items():
        totals[currency] += value
    return {currency: cents(value) for currency, value in sorted(totals.items())}


def mrr_movement(segments, start, end):
    """{currency: {start, new, reactivated, expansion, contraction, churned,
    end}} in cents, between two moments."""
    before = member_mrr(segments, start)
    after = member_mrr(segments, end)
    paid_before = {
        (segment.member, segment.currency) for segment in segments if segment.start < start
    }
    keys = ("start", "new", "reactivated", "expansion", "contraction", "churned", "end")
    found = defaultdict(lambda: dict.fromkeys(keys, 0))
    for key in set(before) | set(after):
        was, now = before.get(key, 0), after.get(key, 0)
        figures = found[key[1]]
        figures["start"] += was
        figures["end"] += now
        if was == 0 and now > 0:
            figures["reactivated" if key in paid_before else "new"] += now
        elif was > 0 and now == 0:
            figures["churned"] += was
        elif now > was:
            figures["expansion"] += now - was
        elif now < was:
            figures["contraction"] += was - now
    return {
        currency: {name: cents(value) for name, value in figures.items()}
        for currency, figures in sorted(found.items())
    }


def paying_by_plan(segments, moment):
    """{plan name: subscriptions paying} at `moment`."""
    found = Counter(segment.plan for segment in segments if segment.covers(moment))
    return dict(sorted(found.items()))


def paying_members(segments, moment):
    return {segment.member for segment in segments if segment.covers(moment)}


def churn_rate(segments, start, end):
    """(churned, paying at start, rate or None) for members over a period."""
    at_start = paying_members(segments, start)
    at_end = paying_members(segments, end)
    churned = len(at_start - at_end)
    return churned, len(at_start), (Fraction(churned, len(at_start)) if at_start else None)


def cohorts(segments, now, months=12, since=None):
    """[(first month, size, [share or None for k in 1..months])]: of members
    whose first payment fell in a month, the share still paying k months
    after it. None for a k months that have not passed yet."""
    first_paid = {}
    for segment in segments:
        member = segment.member
        if member not in first_paid or segment.start < first_paid[member]:
            first_paid[member] = segment.start
    by_member = defaultdict(list)
    for segment in segments:
        by_member[segment.member].append(segment)
    groups = defaultdict(list)
    for member, started in first_paid.items():
        month = month_start(local_date(started))
        if since is None or month >= since:
            groups[month].append(member)
    table = []
    for month in sorted(groups):
        members = groups[month]
        cells = []
        for k in range(1, months + 1):
            # Every member's own k-month mark must have passed.
            step = relativedelta(months=k)
            marks = [first_paid[member] + step for member in members]
            if max(marks) > now:
                cells.append(None)
                continue
            still = sum(
                1
                for member, mark in zip(members, marks, strict=True)
                if any(segment.covers(mark) for segment in by_member[member])
            )
            cells.append(Fraction(still, len(members)))
        table.append((month, len(members), cells))
    return table


# Counts over a period -------------------------------------------------------------------


def weekly_counts(start_day, end_day):
    """[(week's Monday, new, cancelled, refunded)] for the weeks touching the
    period: new paid subscriptions (first payment), cancellations asked for
    (refunds not included) and refunds made."""
    from masthead.billing.models import Refund, Subscription

    first = local_midnight(week_start(start_day))
    last = local_midnight(end_day + timedelta(days=1))
    weeks = {}
    day = week_start(start_day)
    while day <= end_day:
        weeks[day] = [0, 0, 0]
        day += timedelta(days=7)

    def add(rows, moment, column):
        # Counted per publisher's day in the database: a few dozen rows
        # come back rather than every moment.
        days = (
            rows.annotate(local_day=TruncDate(moment, tzinfo=publisher_zone()))
            .order_by()
            .values("local_day")
            .annotate(n=Count("pk"))
            .values_list("local_day", "n")
        )
        for day, n in days:
            week = week_start(day)
            if week in weeks:
                weeks[week][column] += n

    paid = Subscription.objects.paid()
    add(paid.filter(first_paid_at__gte=first, first_paid_at__lt=last), "first_paid_at", 0)
    add(
        paid.filter(canceled_at__gte=first, canceled_at__lt=last).exclude(
            status=Subscription.Status.REFUNDED
        ),
        "canceled_at",
        1,
    )
    add(
        Refund.objects.filter(
            status=Refund.Status.SUCCEEDED, completed_at__gte=first, completed_at__lt=last
        ),
        "completed_at",
        2,
    )
    return [(week, *counts) for week, counts in sorted(weeks.items())]


def guarantee_refunds(start, end):
    """Refunds under the 60-day guarantee among subscriptions first paid in
    [start, end): how many were paid, how many refunded, the share, and how
    many refunds fell in each stretch of the 60 days (days after the first
    payment)."""
    from masthead.billing.models import Refund, Subscription

    paid = Subscription.objects.paid().filter(first_paid_at__gte=start, first_paid_at__lt=end)
    refunds = Refund.objects.filter(
        status=Refund.Status.SUCCEEDED, subscription__in=paid
    ).values_list("requested_at", "subscription__first_paid_at")
    buckets = Counter()
    refunded = 0
    for requested_at, first_paid_at in refunds:
        refunded += 1
        day = (requested_at - first_paid_at).days
        for low, high in GUARANTEE_BUCKETS:
            if low <= day <= high:
                buckets[(low, high)] += 1
    paid_count = paid.count()
    return {
        "paid": paid_count,
        "refunded": refunded,
        "share": Fraction(refunded, paid_count) if paid_count else None,
        "by_day": [(low, high, buckets[(low, high)]) for low, high in GUARANTEE_BUCKETS],
    }


def trial_conversion(start, end, now):
    """Trials that ended in [start, end) (and by `now`): how many, how many
    went on to a first payment, and the share."""
    from masthead.billing.models import Subscription

    ended = Subscription.objects.paid().filter(trial_end__gte=start, trial_end__lt=min(end, now))
    total = ended.count()
    converted = ended.filter(first_paid_at__isnull=False).count()
    return {
        "ended": total,
        "converted": converted,
        "share": Fraction(converted, total) if total else None,
    }


def gifts(start, end):
    """Gifts sold (paid) and redeemed in [start, end), with what was paid by currency."""
    from masthead.billing.models import Gift

    sold = Gift.objects.filter(paid_at__gte=start, paid_at__lt=end)
    amounts = dict(
        sold.values("currency").annotate(total=Sum("amount")).values_list("currency", "total")
    )
    return {
        "sold": sold.count(),
        "redeemed": Gift.objects.filter(redeemed_at__gte=start, redeemed_at__lt=end).count(),
        "amounts": dict(sorted(amounts.items())),
    }


def net_refunded():
    """What was refunded of a payment less its tax part: a refund gives the
    tax back in proportion (all of it for a whole refund), rounded half up."""
    from django.db.models import Case, F, IntegerField, When

    return Case(
        When(tax_amount=0, then=F("amount_refunded")),
        default=F("amount_refunded")
        - (F("amount_refunded") * F("tax_amount") * 2 + F("amount")) / (F("amount") * 2),
        output_field=IntegerField(),
    )


def net_paid():
    """A payment less its tax: revenue is the publisher's, tax is owed."""
    from django.db.models import F

    return F("amount") - F("tax_amount")


def revenue_by_month(start_day, end_day):
    """[(month, plan, currency, gross, refunded, net)]: payments less tax and
    less what was refunded of them (its untaxed part), by the month of the
    payment, the plan (a gift's plan for gift purchases; SINGLE_ISSUES for
    issues bought on their own) and the currency, in cents."""
    from masthead.billing.models import Payment

    first = local_midnight(month_start(start_day))
    last = local_midnight(end_day + timedelta(days=1))
    totals = payment_totals(
        Payment.objects.filter(paid_at__gte=first, paid_at__lt=last), net_paid(), net_refunded()
    )
    return revenue_rows(
        {key: gross for key, (gross, _refunded) in totals.items()},
        {key: refunded for key, (_gross, refunded) in totals.items()},
    )


def revenue_rows(gross, refunded):
    """`revenue_by_month`'s rows from its two sums, each {(month, plan,
    currency): cents}."""
    rows = []
    for key in sorted(set(gross) | set(refunded)):
        month, plan, currency = key
        paid, back = gross.get(key, 0), refunded.get(key, 0)
        rows.append((month, plan, currency, paid, back, paid - back))
    return rows


# Revenue from issues bought on their own, beside the plans.
SINGLE_ISSUES = "Single issues"


def payment_totals(payments, *columns):
    """{(month, plan, currency): [sum of each of `columns`]} over `payments`
    (`columns`: names or expressions). The plan is the subscription's plan
    now, or the gift's; single issues bought on their own count together as
    SINGLE_ISSUES."""
    from django.db.models.functions import TruncMonth

    sums = {f"sum_{index}": Sum(column) for index, column in enumerate(columns)}
    rows = (
        payments.annotate(
            month=TruncMonth("paid_at", tzinfo=publisher_zone()),
            single_issue=ExpressionWrapper(
                Q(issue_purchase__isnull=False), output_field=BooleanField()
            ),
        )
        .values("month", "subscription__plan__name", "gift__plan__name", "single_issue", "currency")
        .annotate(**sums)
        .order_by()
    )
    totals = defaultdict(lambda: [0] * len(columns))
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") else month
        plan = (
            row["subscription__plan__name"]
            or row["gift__plan__name"]
            or (SINGLE_ISSUES if row["single_issue"] else "")
        )
        found = totals[(month, plan, row["currency"])]
        for index, name in enumerate(sums):
            found[index] += row[name] or 0
    return dict(totals)


def months_with_changed_gross(kept_at, now):
    """Of the months in `kept_at` ({month: when its gross payments were
    kept}), those whose kept gross may no longer hold: a payment dated in
    the month was recorded after, or a subscription with a payment in it
    changed plans after (a payment counts under its subscription's plan
    now)."""
    from django.db.models import Q

    from masthead.billing.models import BillingAuditLog, Payment

    if not kept_at:
        return set()
    since = min(kept_at.values())
    first = local_midnight(min(kept_at))
    last = local_midnight(max(kept_at) + relativedelta(months=1))
    changed = set()
    for paid_at, created_at in Payment.objects.filter(
        created_at__gt=since, paid_at__gte=first, paid_at__lt=last
    ).values_list("paid_at", "created_at"):
        month = month_start(local_date(paid_at))
        if month in kept_at and created_at > kept_at[month]:
            changed.add(month)
    replanned = defaultdict(list)
    for subscription_id, created_at in BillingAuditLog.objects.filter(
        Q(action="plan_switched")
        | Q(action="subscription_updated", detail__changes__has_key="price_id"),
        created_at__gt=since,
        subscription__isnull=False,
    ).values_list("subscription_id", "created_at"):
        replanned[subscription_id].append(created_at)
    if replanned:
        for subscription_id, paid_at in Payment.objects.filter(
            subscription_id__in=replanned, paid_at__gte=first, paid_at__lt=last
        ).values_list("subscription_id", "paid_at"):
            month = month_start(local_date(paid_at))
            if month in kept_at and max(replanned[subscription_id]) > kept_at[month]:
                changed.add(month)
    return changed


def circulation(limit=24):
    """Per issue, newest first: print copies by country from closed print
    runs, and edition downloads by format."""
    from masthead.editions.models import EditionDownload
    from masthead.printing.models import PrintRun, PrintRunEntry

    runs = list(
        PrintRun.objects.filter(status=PrintRun.Status.CLOSED)
        .select_related("issue")
        .order_by("-issue__cover_date")[:limit]
    )
    by_country = defaultdict(dict)
    for run_id, country, copies in (
        PrintRunEntry.objects.filter(run__in=runs)
        .values("run_id", "country")
        .annotate(copies=Sum("copies"))
        .values_list("run_id", "country", "copies")
    ):
        by_country[run_id][country] = copies
    print_rows = [
        {
            "issue": run.issue.title,
            "copies": sum(by_country[run.pk].values()),
            "countries": dict(sorted(by_country[run.pk].items())),
        }
        for run in runs
    ]
    downloads = defaultdict(dict)
    titles = {}
    for issue_id, title, edition_format, total in (
        EditionDownload.objects.values("issue_id", "issue__title", "format")
        .annotate(total=Count("pk"))
        .values_list("issue_id", "issue__title", "format", "total")
    ):
        downloads[issue_id][edition_format] = total
        titles[issue_id] = title
    download_rows = [
        {"issue": titles[issue_id], "formats": dict(sorted(formats.items()))}
        for issue_id, formats in sorted(downloads.items(), reverse=True)
    ]
    return {"print": print_rows, "downloads": download_rows}


def reading(start_day, end_day, limit=20):
    """Reads, paywall views and checkouts by article and by section, and
    narrations started, past half and to the end, between two days."""
    from masthead.newsroom.models import ArticlePage

    from .models import Tally

    tallies = Tally.objects.filter(day__gte=start_day, day__lte=end_day)
    per_article = defaultdict(Counter)
    for kind, object_id, total in (
        tallies.values("kind", "object_id")
        .annotate(total=Sum("count"))
        .values_list("kind", "object_id", "total")
    ):
        per_article[object_id][kind] = total
    articles = {
        page.pk: page for page in ArticlePage.objects.filter(pk__in=per_article).select_related()
    }
    sections = {}
    for page in articles.values():
        parent = page.get_parent()
        sections[page.pk] = parent.title if parent else ""
    rows = []
    for article_id, counts in per_article.items():
        page = articles.get(article_id)
        views = counts["paywall_view"]
        rows.append(
            {
                "article": page.title if page else f"#{article_id}",
                "section": sections.get(article_id, ""),
                "reads": counts["read"],
                "paywall_views": views,
                "checkouts": counts["checkout"],
                "conversion": Fraction(counts["checkout"], views) if views else None,
                "narrations_started": counts["narration_started"],
                "narrations_half": counts["narration_half"],
                "narrations_end": counts["narration_end"],
            }
        )
    rows.sort(key=lambda row: (-row["reads"], row["article"]))
    by_section = defaultdict(Counter)
    for row in rows:
        for name in ("reads", "paywall_views", "checkouts"):
            by_section[row["section"]][name] += row[name]
    section_rows = [
        {
            "section": section,
            **counts,
            "conversion": (
                Fraction(counts["checkouts"], counts["paywall_views"])
                if counts["paywall_views"]
                else None
            ),
        }
        for section, counts in sorted(by_section.items())
    ]
    totals = Counter()
    for row in rows:
        for name in ("narrations_started", "narrations_half", "narrations_end"):
            totals[name] += row[name]
    return {"articles": rows[:limit], "sections": section_rows, "listening": dict(totals)}


# Gathered for a period ------------------------------------------------------------------


@dataclass
class Period:
    start_day: date
    end_day: date  # included

    @property
    def start(self):
        return local_midnight(self.start_day)

    @property
    def end(self):
        return local_midnight(self.end_day + timedelta(days=1))


def month_ends(period, now):
    """(month, the moment its figures are read: its end, or now for the month
    that has not ended) for each month of the period."""
    found = []
    for month in months_between(period.start_day, period.end_day):
        end = local_midnight(month + relativedelta(months=1))
        found.append((month, min(end, now)))
    return found


def current_mrr(now):
    """MRR and paying readers at `now`, in a few aggregate queries: the same
    rule as `load_segments` (first payment to end), at the current price, for
    the admin's home page, which must not read every subscription. The
    discounts are taken off after, from the few discounted subscriptions."""
    from django.db.models import Case, F, IntegerField, When

    running = _running(now)
    twelfths = Case(
        When(price__interval="year", then=F("price__amount")),
        default=F("price__amount") * 12,
        output_field=IntegerField(),
    )
    totals = running.values("price__currency").annotate(total=Sum(twelfths))
    found = Counter({row["price__currency"]: row["total"] for row in totals})
    for currency, cut in _discounts_at(running, now).items():
        found[currency] -= cut
    mrr_now = {currency: cents(value) for currency, value in found.items()}
    paying = running.values("member_id").distinct().count()
    return dict(sorted(mrr_now.items())), paying


def _discounts_at(running, now):
    """{currency: twelfths of a cent} that the discounts in force at `now`
    take off the recurring amounts of `running` subscriptions."""
    offers = _discount_offers()
    cut = Counter()
    for row in running.filter(
        Q(offer_id__in=list(offers)) | Q(retention_accepted_at__isnull=False)
    ).values(
        "first_paid_at",
        "price__amount",
        "price__interval",
        "price__currency",
        *DISCOUNT_FIELDS,
    ):
        amount, interval = row["price__amount"], row["price__interval"]
        found = discounts(row, offers, interval)
        less = amount - discounted(amount, found, now)
        if less:
            cut[row["price__currency"]] += monthly_amount(less, interval)
    return cut


def _with_end(subscriptions):
    """`subscriptions` annotated with `ends`: `_subscription_end` in SQL."""
    from django.db.models import Case, DateTimeField, F, When
    from django.db.models.functions import Coalesce

    from masthead.billing.models import Subscription

    S = Subscription.Status
    return subscriptions.annotate(
        ends=Case(
            When(status=S.REFUNDED, then=Coalesce("ended_at", "canceled_at")),
            When(
                status=S.CANCELED,
                then=Coalesce("ended_at", "current_period_end", "canceled_at"),
            ),
            When(cancel_at_period_end=True, then=F("current_period_end")),
            default=None,
            output_field=DateTimeField(),
        )
    )


def _running(now):
    """Paid subscriptions bringing recurring revenue at `now`."""
    from django.db.models import Q

    return _with_end(_paid_subscriptions().filter(first_paid_at__lte=now)).filter(
        Q(ends__isnull=True) | Q(ends__gt=now)
    )


def paying_by_plan_now(now):
    """`paying_by_plan` at `now` in one aggregate query (the price in force
    now is the subscription's current one)."""
    rows = (
        _running(now)
        .values("price__plan__name")
        .annotate(paying=Count("pk"))
        .values_list("price__plan__name", "paying")
    )
    return dict(sorted(rows))


def changed_segments(start, end):
    """The segments of every member whose recurring revenue may differ
    between the moments `start` and `end`: a subscription of theirs was
    first paid, ended, switched plans, or had a discount begin or end in
    (start, end]. Every other member's figures are the same at both
    moments."""
    from django.db.models import Q

    from masthead.billing.models import BillingAuditLog

    switched = BillingAuditLog.objects.filter(
        action="plan_switched", created_at__gt=start, created_at__lte=end
    ).values("subscription_id")
    changed = _with_end(_paid_subscriptions()).filter(
        Q(first_paid_at__gt=start, first_paid_at__lte=end)
        | Q(ends__gt=start, ends__lte=end)
        | Q(pk__in=switched)
    )
    # The few changed ones are read first, so that their segments are looked
    # up by member (an index) rather than by a subquery PostgreSQL cannot
    # size (the end is a CASE) and answers by reading every subscription.
    members, orphans = set(), []
    for member_id, pk in changed.values_list("member_id", "pk"):
        if member_id is None:
            orphans.append(pk)
        else:
            members.add(member_id)
    for member_id, pk in _discount_edges(start, end):
        if member_id is None:
            orphans.append(pk)
        else:
            members.add(member_id)
    if not members and not orphans:
        return []
    return load_segments(Q(member_id__in=sorted(members)) | Q(pk__in=orphans))


def _discount_edges(start, end):
    """(member, subscription) of the discounted subscriptions whose discount
    began or ended in (start, end]."""
    offers = _discount_offers()
    discounted_ones = _paid_subscriptions().filter(
        Q(offer_id__in=list(offers)) | Q(retention_accepted_at__isnull=False),
        first_paid_at__lte=end,
    )
    found = []
    for row in discounted_ones.values(
        "pk", "member_id", "first_paid_at", "price__interval", *DISCOUNT_FIELDS
    ):
        for discount in discounts(row, offers, row["price__interval"]):
            edges = (discount.start, discount.end)
            if any(edge is not None and start < edge <= end for edge in edges):
                found.append((row["member_id"], row["pk"]))
                break
    return found


def month_since(opening, start, now):
    """The running month's figures (`series`' for its last step) from the
    figures kept at its start (`opening`: mrr and paying, as a daily
    snapshot keeps them) and the members whose revenue changed since."""
    changed = changed_segments(start, now)
    if "mrr_twelfths" in opening:
        mrr_now, paying_now, by_plan_now = moved_on(opening, changed, start, now)
    else:
        # Kept before snapshots held MRR in twelfths: asked of every
        # running subscription instead.
        mrr_now, paying_now = current_mrr(now)
        by_plan_now = paying_by_plan_now(now)
    moved = mrr_movement(changed, start, now)
    names = ("start", "new", "reactivated", "expansion", "contraction", "churned", "end")
    movement = {}
    for currency in sorted(set(opening["mrr"]) | set(mrr_now)):
        figures = moved.get(currency) or dict.fromkeys(names, 0)
        figures["start"] = opening["mrr"].get(currency, 0)
        figures["end"] = mrr_now.get(currency, 0)
        movement[currency] = figures
    churned = len(paying_members(changed, start) - paying_members(changed, now))
    at_start = opening["paying"]
    return {
        "mrr": mrr_now,
        "paying": paying_now,
        "paying_by_plan": by_plan_now,
        "movement": movement,
        "churn": (churned, at_start, Fraction(churned, at_start) if at_start else None),
    }


def moved_on(opening, changed, start, now):
    """MRR (cents), paying readers and paying readers by plan at `now`, from
    those kept at `start` (`opening`) and the segments of the members whose
    revenue changed since (`changed_segments`): every other member's share
    is the same at both moments."""
    twelfths = Counter(opening["mrr_twelfths"])
    for (_member, currency), value in member_mrr(changed, now).items():
        twelfths[currency] += value
    for (_member, currency), value in member_mrr(changed, start).items():
        twelfths[currency] -= value
    paying = (
        opening["paying"] + len(paying_members(changed, now)) - len(paying_members(changed, start))
    )
    by_plan = Counter(opening["paying_by_plan"])
    by_plan.update(paying_by_plan(changed, now))
    by_plan.subtract(paying_by_plan(changed, start))
    return (
        {currency: cents(value) for currency, value in sorted(twelfths.items()) if value},
        paying,
        {plan: n for plan, n in sorted(by_plan.items()) if n},
    )


def cohort_segments(months, now):
    """The segments of the members whose first payment fell in one of
    `months` (first days), for `cohorts` to recompute those rows alone."""
    from django.db.models import Q

    # Every member with a subscription first paid in one of the months: a
    # superset of those whose first payment was then, which `cohorts` sorts
    # out (it groups each member by their own first payment).
    within = Q()
    for month in months:
        within |= Q(
            first_paid_at__gte=local_midnight(month),
            first_paid_at__lt=local_midnight(month + relativedelta(months=1)),
        )
    started = _paid_subscriptions().filter(within)
    return load_segments(
        Q(member_id__in=started.filter(member__isnull=False).values("member_id"))
        | Q(pk__in=started.filter(member__isnull=True).values("pk"))
    )


def kept_cohorts(segments, moment):
    """`cohorts` at `moment` as a daily snapshot keeps them: per first month,
    its size, the latest first payment in it, and how many still paid after
    k months (None where not known yet)."""
    first_paid = {}
    for segment in segments:
        member = segment.member
        if member not in first_paid or segment.start < first_paid[member]:
            first_paid[member] = segment.start
    last_first = defaultdict(lambda: None)
    for started in first_paid.values():
        month = month_start(local_date(started))
        if last_first[month] is None or started > last_first[month]:
            last_first[month] = started
    return [
        [
            month.isoformat(),
            size,
            last_first[month].isoformat(),
            [None if cell is None else int(cell * size) for cell in cells],
        ]
        for month, size, cells in cohorts(segments, moment)
    ]


def cohorts_since(kept, kept_at, now, since=None):
    """`cohorts(segments, now, since=since)` from those a snapshot kept at
    `kept_at`: rows kept whole where nothing changed, recomputed where a
    cell has become known since or the month had not ended by then."""
    table = {}
    stale = set()
    unfinished = month_start(local_date(kept_at))
    for month_iso, size, last_first, stills in kept:
        month = date.fromisoformat(month_iso)
        if since is not None and month < since:
            continue
        last = datetime.fromisoformat(last_first)
        # Only the cells unknown then are asked whether they are known now.
        if month >= unfinished or any(
            still is None and last + relativedelta(months=k) <= now
            for k, still in enumerate(stills, start=1)
        ):
            stale.add(month)
            continue
        table[month] = (size, [None if s is None else Fraction(s, size) for s in stills])
    stale.update(months_between(unfinished, local_date(now)))
    stale = {month for month in stale if since is None or month >= since}
    if stale:
        for month, size, cells in cohorts(cohort_segments(sorted(stale), now), now):
            if month in stale:
                table[month] = (size, cells)
    return [
        (month, size, cells)
        for month, (size, cells) in sorted(table.items())
        if since is None or month >= since
    ]


def series(segments, moments):
    """`mrr`, `paying_by_plan`, and between each two consecutive moments
    `mrr_movement` and `churn_rate`, for sorted `moments`, in one pass over
    the segments (the dashboard's months): the same answers as those
    functions, which read every segment once per moment."""
    from bisect import bisect_left

    count = len(moments)
    amounts = {}
    covered = defaultdict(int)  # member -> bit k set when paying at moments[k]
    first_start = {}
    plans = [Counter() for _ in moments]
    for segment in segments:
        first = bisect_left(moments, segment.start)
        last = count if segment.end is None else bisect_left(moments, segment.end)
        key = (segment.member, segment.currency)
        if key not in first_start or segment.start < first_start[key]:
            first_start[key] = segment.start
        if first >= last:
            continue
        values = amounts.get(key)
        if values is None:
            values = amounts[key] = [0] * count
        for k in range(first, last):
            values[k] += segment.monthly
            plans[k][segment.plan] += 1
        covered[segment.member] |= ((1 << last) - 1) ^ ((1 << first) - 1)
    mrr_at = [defaultdict(int) for _ in moments]
    names = ("start", "new", "reactivated", "expansion", "contraction", "churned", "end")
    moved = [defaultdict(lambda: dict.fromkeys(names, 0)) for _ in moments[1:]]
    for key, values in amounts.items():
        currency = key[1]
        for k, value in enumerate(values):
            if value:
                mrr_at[k][currency] += value
            if k == 0:
                continue
            was = values[k - 1]
            if not was and not value:
                continue
            figures = moved[k - 1][currency]
            figures["start"] += was
            figures["end"] += value
            if was == 0:
                before = first_start[key] < moments[k - 1]
                figures["reactivated" if before else "new"] += value
            elif value == 0:
                figures["churned"] += was
            elif value > was:
                figures["expansion"] += value - was
            elif value < was:
                figures["contraction"] += was - value
    churn = []
    for k in range(1, count):
        at_start = at_end_too = 0
        start_bit, end_bit = 1 << (k - 1), 1 << k
        for bits in covered.values():
            if bits & start_bit:
                at_start += 1
                if bits & end_bit:
                    at_end_too += 1
        churned = at_start - at_end_too
        churn.append((churned, at_start, Fraction(churned, at_start) if at_start else None))
    return {
        "mrr": [
            {currency: cents(value) for currency, value in sorted(totals.items())}
            for totals in mrr_at
        ],
        "paying_by_plan": [dict(sorted(counter.items())) for counter in plans],
        "movement": [
            {
                currency: {name: cents(value) for name, value in figures.items()}
                for currency, figures in sorted(found.items())
            }
            for found in moved
        ],
        "churn": churn,
    }
