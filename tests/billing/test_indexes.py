"""The lookups a webhook makes by Stripe id use their unique indexes (on
SQLite they are partial indexes, which a plain equality does not reach)."""

import pytest
from django.db import connection, transaction

from masthead.billing.models import Payment, Price, Subscription, by_stripe_id

pytestmark = pytest.mark.django_db


def plan_of(queryset):
    sql, params = queryset.order_by().query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: ask for the index
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize(
    "model, field, index",
    [
        (Subscription, "stripe_subscription_id", "billing_subscription_unique_stripe_id"),
        (Payment, "stripe_invoice_id", "billing_payment_unique_invoice"),
        (Price, "stripe_price_id", "billing_price_unique_stripe_id"),
    ],
)
def test_lookups_by_stripe_id_use_the_unique_index(model, field, index):
    assert index in plan_of(by_stripe_id(model.objects.all(), field, "x_123"))
