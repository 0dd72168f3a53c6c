"""Insights at scale on PostgreSQL: 100,000 members, 150,000 subscriptions
and 1,000,000 payments over five years, loaded with COPY; then the server
time (in-process, Django's test client) of the dashboard and the members
list (first page, a filter, a search), median and p99, and the 100,000-row
CSV stream's time and peak memory. The process's first admin page (imports
and template compiles, once per process) is timed on its own first.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h18_bench \\
        .venv/bin/python bench/insights.py [--scale 0.1] [--runs 20] [--keep]

The database named in DATABASE_URL is dropped and made anew (unless --keep
and it holds data already).
"""

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recreate_database(url):
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def copy_rows(model, columns, rows):
    """COPY `rows` (tuples in `columns` order) into `model`'s table; columns
    not named get the field's default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = []
    for field in fields:
        default = field.get_default() if field.attname not in columns else None
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = datetime.now(UTC)
        defaults.append(default)
    names = [f.column for f in fields]
    order = [columns.index(f.attname) if f.attname in columns else None for f in fields]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor().copy(
            f'COPY "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)}) FROM STDIN'
        ) as copy:
            for row in rows:
                copy.write_row(
                    [row[i] if i is not None else defaults[j] for j, i in enumerate(order)]
                )


def generate(scale, seed=1):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from masthead.billing.models import Payment, Price, Subscription

    rng = random.Random(seed)
    User = get_user_model()
    members = int(100_000 * scale)
    subscriptions = int(150_000 * scale)
    payments = int(1_000_000 * scale)
    now = datetime.now(UTC)
    start = now - timedelta(days=5 * 365)
    prices = list(Price.objects.select_related("plan"))
    began = time.perf_counter()
    copy_rows(
        User,
        [
            "password",
            "email",
            "full_name",
            "date_joined",
            "wants_newsletter",
            "first_name",
            "last_name",
            "is_staff",
            "is_active",
            "is_superuser",
            "wants_issue_emails",
        ],
        (
            (
                "!",
                f"reader{n}@example.com",
                f"Reader {n}",
                start + timedelta(seconds=rng.randrange(5 * 365 * 86400)),
                n % 3 == 0,
                "",
                "",
                False,
                True,
                False,
                True,
            )
            for n in range(members)
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT min(id) FROM "{User._meta.db_table}"')
        first_user = cursor.fetchone()[0]
    statuses = ["active"] * 6 + ["canceled"] * 3 + ["trialing", "past_due", "refunded"]
    rows = []
    plans = []
    for n in range(subscriptions):
        member = first_user + (n % members)
        price = prices[rng.randrange(len(prices))]
        status = statuses[rng.randrange(len(statuses))]
        paid = start + timedelta(seconds=rng.randrange(5 * 365 * 86400))
        ended = (
            paid + timedelta(days=rng.randrange(30, 900))
            if status in ("canceled", "refunded")
            else None
        )
        if ended and ended > now:
            # Cancelled later than today: still running.
            status, ended = "active", None
        rows.append(
            (
                member,
                price.plan_id,
                price.pk,
                status,
                f"sub_{n}",
                f"cus_{n}",
                paid if status != "trialing" else None,
                ended,
                ended,
                paid,
                False,
            )
        )
        plans.append((price, paid, ended or now))
    copy_rows(
        Subscription,
        [
            "member_id",
            "plan_id",
            "price_id",
            "status",
            "stripe_subscription_id",
            "stripe_customer_id",
            "first_paid_at",
            "ended_at",
            "canceled_at",
            "created_at",
            "cancel_at_period_end",
        ],
        rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT min(id) FROM "{Subscription._meta.db_table}"')
        first_sub = cursor.fetchone()[0]
    per = max(1, payments // subscriptions)
    extra = payments - per * subscriptions

    def payment_rows():
        for n, (price, paid, until) in enumerate(plans):
            count = per + (1 if n < extra else 0)
            span = max(1, int((until - paid).total_seconds()))
            for k in range(count):
                yield (
                    first_sub + n,
                    first_user + (n % members),
                    f"in_{n}_{k}",
                    price.amount,
                    price.currency,
                    0,
                    paid + timedelta(seconds=span * k // count),
                )

    copy_rows(
        Payment,
        [
            "subscription_id",
            "member_id",
            "stripe_invoice_id",
            "amount",
            "currency",
            "amount_refunded",
            "paid_at",
        ],
        payment_rows(),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - began


def timed(client, url, runs, before=None):
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        began = time.perf_counter()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)
        times.append(time.perf_counter() - began)
    first = times[0]
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return first * 1000, statistics.median(times) * 1000, p99 * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database of your own (it is recreated).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
    os.environ.pop("MASTHEAD_TESTING", None)
    os.environ["DEBUG"] = "0"
    # A cache of the bench's own, emptied before each "nothing cached" run.
    os.environ["CACHE_DIR"] = tempfile.mkdtemp(prefix="masthead-bench-cache-")
    os.environ.pop("REDIS_URL", None)
    import django

    if not args.keep:
        recreate_database(url)
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    # Pages only: no collectstatic manifest is needed to name static files.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.staticfiles import storage

    storage.staticfiles_storage._wrapped = storage.StaticFilesStorage()
    call_command("migrate", verbosity=0)
    from masthead.billing.models import Subscription

    if not Subscription.objects.exists():
        print(f"generated in {generate(args.scale):.1f} s")
    User = get_user_model()
    staff, _ = User.objects.get_or_create(
        email="bench-staff@example.com", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(staff)
    print(f"members {User.objects.count()}, subscriptions {Subscription.objects.count()}")
    from django.core.cache import cache
    from django.utils import timezone

    from masthead.insights.tasks import take_snapshots

    began = time.perf_counter()
    taken = take_snapshots(timezone.now())
    print(f"daily snapshots: {taken} taken in {time.perf_counter() - began:.1f} s")
    # A web process's first admin page imports Wagtail's admin and compiles
    # its templates, once per process: timed on its own, then the process is
    # warm, as a server's is after its first staff request.
    began = time.perf_counter()
    assert client.get("/admin/").status_code == 200
    print(
        f"{'first admin page':26s} {(time.perf_counter() - began) * 1000:8.1f} ms (fresh process)"
    )
    for name, path, before in [
        ("dashboard, nothing cached", "/admin/insights/", cache.clear),
        ("dashboard", "/admin/insights/", None),
        ("members, first page", "/admin/members/", None),
        ("members, filter paying", "/admin/members/?status=paying", None),
        ("members, search", "/admin/members/?q=reader4242", None),
    ]:
        first, median, p99 = timed(client, path, args.runs, before)
        print(f"{name:26s} first {first:8.1f} ms   median {median:8.1f} ms   p99 {p99:8.1f} ms")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    response = client.get("/admin/members/export.csv")
    lines = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - began
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(f"CSV {lines - 1} rows in {elapsed:.1f} s, peak RSS grew by {grown / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
