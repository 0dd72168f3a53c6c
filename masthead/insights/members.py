"""The members list: who each member is to the publisher right now (their
status), the filters staff narrow the list with, and the rows of the CSV.

A member's status, in this order of precedence: paying, cancelled (still in
the paid period), trial, gift, complimentary (all entitled now, by billing's
rule), then refunded, lapsed (subscribed once, nothing now) and free (never
subscribed). The filters ask the same questions of the database, one EXISTS
each, so the list stays fast at 100,000 members.
"""

import csv
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from masthead.accounts.models import AccountEvent
from masthead.billing.entitlements import entitled_q, entitlement_for, grace_days
from masthead.billing.models import Subscription

from .models import MemberLabel

STATUSES = {
    "free": "Free",
    "paying": "Paying",
    "trial": "Trial",
    "cancelled": "Cancelled, in paid period",
    "lapsed": "Lapsed",
    "refunded": "Refunded",
    "complimentary": "Complimentary",
    "gift": "Gift",
}
SOURCES = {"sign-up": "Signed up", "import": "Imported", "gift": "Gift"}
KINDS = {"print": "Print", "digital": "Digital only"}
SORTS = {
    "joined": ("-date_joined", "-pk"),
    "-joined": ("date_joined", "pk"),
    "email": ("email",),
    "-email": ("-email",),
    "name": ("full_name", "pk"),
    "-name": ("-full_name", "-pk"),
}
S = Subscription.Status
RUNNING = (S.ACTIVE, S.TRIALING, S.PAST_DUE, S.UNPAID)


def _subscriptions(**lookups):
    return Subscription.objects.filter(member=OuterRef("pk"), **lookups)


def _entitled(now, grace, *extra):
    return Exists(_subscriptions().filter(entitled_q(now, grace), *extra))


def status_q(status, now, grace):
    entitled = _entitled(now, grace)
    if status == "paying":
        return Q(
            _entitled(
                now,
                grace,
                Q(status__in=(S.ACTIVE, S.PAST_DUE, S.UNPAID), cancel_at_period_end=False),
            )
        )
    if status == "cancelled":
        return Q(_entitled(now, grace, Q(status__in=RUNNING, cancel_at_period_end=True)))
    if status == "trial":
        return Q(_entitled(now, grace, Q(status=S.TRIALING)))
    if status == "gift":
        return Q(_entitled(now, grace, Q(status=S.GIFT)))
    if status == "complimentary":
        return Q(_entitled(now, grace, Q(status=S.COMPLIMENTARY)))
    if status == "refunded":
        return Q(Exists(_subscriptions(status=S.REFUNDED))) & ~Q(entitled)
    if status == "lapsed":
        return (
            Q(Exists(_subscriptions()))
            & ~Q(entitled)
            & ~Q(Exists(_subscriptions(status=S.REFUNDED)))
        )
    if status == "free":
        return ~Q(Exists(_subscriptions()))
    raise ValueError(f"Unknown status {status!r}")


def source_q(source):
    signed_up = Exists(
        AccountEvent.objects.filter(user=OuterRef("pk"), kind=AccountEvent.Kind.SIGNED_UP)
    )
    # Came in through a gift: holds one and never paid for a subscription.
    gift = Q(Exists(_subscriptions(status=S.GIFT))) & ~Q(
        Exists(_subscriptions(first_paid_at__isnull=False))
    )
    if source == "gift":
        return gift
    if source == "sign-up":
        return Q(signed_up) & ~gift
    if source == "import":
        return ~Q(signed_up) & ~gift
    raise ValueError(f"Unknown source {source!r}")


def filter_members(filters, now=None):
    """Members matching `filters` (a cleaned MemberFilterForm's data), sorted."""
    now = now or timezone.now()
    members = get_user_model().objects.filter(is_staff=False)
    grace = None
    if filters.get("status"):
        grace = grace_days()
        members = members.filter(status_q(filters["status"], now, grace))
    if filters.get("kind"):
        grace = grace if grace is not None else grace_days()
        prints = _entitled(now, grace, Q(plan__includes_print=True))
        if filters["kind"] == "print":
            members = members.filter(prints)
        else:
            members = members.filter(_entitled(now, grace)).exclude(prints)
    if filters.get("plan"):
        grace = grace if grace is not None else grace_days()
        members = members.filter(_entitled(now, grace, Q(plan=filters["plan"])))
    if filters.get("source"):
        members = members.filter(source_q(filters["source"]))
    if filters.get("joined_from"):
        members = members.filter(date_joined__date__gte=filters["joined_from"])
    if filters.get("joined_to"):
        members = members.filter(date_joined__date__lte=filters["joined_to"])
    if filters.get("newsletter") in ("yes", "no"):
        members = members.filter(wants_newsletter=filters["newsletter"] == "yes")
    if filters.get("label"):
        members = members.filter(
            Exists(MemberLabel.objects.filter(member=OuterRef("pk"), label=filters["label"]))
        )
    query = (filters.get("q") or "").strip()
    if query:
        members = members.filter(Q(email__icontains=query) | Q(full_name__icontains=query))
    return members.order_by(*SORTS.get(filters.get("sort") or "joined", SORTS["joined"]))


def member_status(subscriptions, now, grace):
    """(status key, the subscription that makes it) for one member's
    subscriptions (with their plans)."""
    held = [
        (subscription, entitlement_for(subscription, now, grace)) for subscription in subscriptions
    ]
    held = [(subscription, found) for subscription, found in held if found is not None]
    order = ("paying", "cancelled", "trial", "gift", "complimentary")
    ranked = []
    for subscription, found in held:
        if found.kind == "paid":
            key = "cancelled" if subscription.cancel_at_period_end else "paying"
        else:
            key = found.kind
        ranked.append((order.index(key), key, subscription))
    if ranked:
        _rank, key, subscription = min(ranked, key=lambda item: item[0])
        return key, subscription
    subscriptions = list(subscriptions)
    if any(subscription.status == S.REFUNDED for subscription in subscriptions):
        return "refunded", None
    if subscriptions:
        return "lapsed", None
    return "free", None


def with_status(members, now=None, chunk=2000):
    """(member, status key, the subscription behind it, label names) for each
    member, reading subscriptions and labels per chunk of members: two
    queries per chunk, whatever the number of members."""
    now = now or timezone.now()
    grace = grace_days()
    batch = []
    for member in members:
        batch.append(member)
        if len(batch) >= chunk:
            yield from _statuses_for(batch, now, grace)
            batch = []
    if batch:
        yield from _statuses_for(batch, now, grace)


def _statuses_for(members, now, grace):
    ids = [member.pk for member in members]
    subscriptions = defaultdict(list)
    for subscription in Subscription.objects.filter(member_id__in=ids).select_related("plan"):
        subscriptions[subscription.member_id].append(subscription)
    labels = defaultdict(list)
    for member_id, name in MemberLabel.objects.filter(member_id__in=ids).values_list(
        "member_id", "label__name"
    ):
        labels[member_id].append(name)
    for member in members:
        status, subscription = member_status(subscriptions[member.pk], now, grace)
        yield member, status, subscription, sorted(labels[member.pk])


CSV_HEADER = ["email", "name", "joined", "status", "plan", "print", "newsletter", "labels"]


class _Echo:
    def write(self, value):
        return value


def csv_rows(members, now=None):
    """The CSV of `members`, line by line, for a StreamingHttpResponse: the
    members are read with a server-side cursor, never all at once."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    members = members.only(
        "pk", "email", "full_name", "first_name", "last_name", "date_joined", "wants_newsletter"
    )
    for member, status, subscription, labels in with_status(members.iterator(chunk_size=2000), now):
        yield writer.writerow(
            [
                member.email,
                member.get_full_name(),
                member.date_joined.date().isoformat(),
                STATUSES[status],
                subscription.plan.name if subscription else "",
                "yes" if subscription and subscription.plan.includes_print else "no",
                "yes" if member.wants_newsletter else "no",
                "; ".join(labels),
            ]
        )
