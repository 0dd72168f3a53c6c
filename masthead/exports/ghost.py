"""The members CSV in Ghost's column layout, so a publisher can move their
readers to Ghost. Ghost links a paying member to Stripe by the customer id,
so paid subscribers keep paying there; complimentary and gift subscribers
come over as complimentary members.
"""

import csv
from datetime import UTC

from masthead.billing.models import Subscription

from .archive import readers

COLUMNS = (
    "id",
    "email",
    "name",
    "note",
    "subscribed_to_emails",
    "complimentary_plan",
    "stripe_customer_id",
    "created_at",
    "deleted_at",
    "labels",
    "tiers",
)

# Statuses whose holder still reads: Ghost needs the Stripe customer of a
# paying member and the complimentary flag of the others.
ENTITLED_STATUSES = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.COMPLIMENTARY,
    Subscription.Status.GIFT,
)


def ghost_timestamp(value):
    """Ghost's ISO 8601 form: 2019-10-30T14:52:08.000Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z") if value else ""


def member_rows():
    subscriptions = {}
    entitled = Subscription.objects.filter(status__in=ENTITLED_STATUSES).select_related("plan")
    for subscription in entitled.order_by("created_at"):
        subscriptions.setdefault(subscription.member_id, []).append(subscription)
    for user in readers().order_by("email"):
        own = subscriptions.get(user.pk, [])
        paid = [s for s in own if s.status not in ("complimentary", "gift") and not s.is_test_mode]
        free = [s for s in own if s.status in ("complimentary", "gift")]
        customer = next((s.stripe_customer_id for s in paid if s.stripe_customer_id), "")
        yield {
            "id": "",
            "email": user.email,
            "name": user.get_full_name(),
            "note": "; ".join(s.note for s in own if s.note),
            "subscribed_to_emails": "true" if user.wants_newsletter else "false",
            "complimentary_plan": "true" if free and not customer else "false",
            "stripe_customer_id": customer,
            "created_at": ghost_timestamp(user.date_joined),
            "deleted_at": "",
            "labels": "",
            "tiers": ",".join(dict.fromkeys(s.plan.name for s in own)),
        }


def write_members_csv(handle):
    """Write the CSV to a text file object. Returns the number of members."""
    writer = csv.DictWriter(handle, fieldnames=COLUMNS)
    writer.writeheader()
    count = 0
    for row in member_rows():
        writer.writerow(row)
        count += 1
    return count
