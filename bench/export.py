"""Bench: export the full demo magazine with a few thousand readers, and
import the archive into a fresh install.

    .venv/bin/python bench/export.py [--readers N]

Two throwaway SQLite installs in temporary folders. The first gets the demo
magazine and N readers (default 5000; a third of them paying subscribers
with a print address, a tenth comped); `export_magazine` writes the zip,
and `import_masthead` reads it into the second. Prints the wall seconds of
each command (Django's start-up included), the archive's size and counts,
and this machine's Python speed: the machines drift.
"""

import argparse
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from common import bench_env, manage, python_speed

MAKE_READERS = """
from datetime import timedelta
from django.utils import timezone
from masthead.accounts.models import ShippingAddress, User
from masthead.billing.actions import ensure_default_plans
from masthead.billing.models import Plan, Price, Subscription

ensure_default_plans()
plan = Plan.objects.get(code="digital-print")
price = Price.objects.get(plan=plan, interval="year")
now = timezone.now()
users = User.objects.bulk_create(
    User(email=f"reader{n}@example.com", full_name=f"Reader {n}", wants_newsletter=n % 2 == 0)
    for n in range({count})
)
addresses, subscriptions = [], []
for n, user in enumerate(users):
    if n % 3 == 0:
        addresses.append(ShippingAddress(user=user, line1=f"{n} Harbour Road",
                                         city="Portland", region="ME", postal_code="04101",
                                         country="US"))
        subscriptions.append(Subscription(member=user, plan=plan, price=price, status="active",
                                          stripe_subscription_id=f"sub_{n}",
                                          stripe_customer_id=f"cus_{n}",
                                          current_period_start=now,
                                          current_period_end=now + timedelta(days=365)))
    elif n % 10 == 1:
        subscriptions.append(Subscription(member=user, plan=plan, status="complimentary",
                                          ends_at=now + timedelta(days=90)))
ShippingAddress.objects.bulk_create(addresses)
Subscription.objects.bulk_create(subscriptions)
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--readers", type=int, default=5000)
    options = parser.parse_args()
    source, target = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    try:
        # Tasks queued in the database and never run: no narration, no editions.
        env = bench_env(source, TASKS_BACKEND="database", LOG_LEVEL="WARNING")
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo_magazine")
        manage(env, "shell", "-c", MAKE_READERS.replace("{count}", str(options.readers)))
        archive = source / "magazine.zip"
        export_seconds = manage(env, "export_magazine", str(archive))
        with zipfile.ZipFile(archive) as opened:
            counts = json.loads(opened.read("manifest.json"))["counts"]
        fresh = bench_env(target, TASKS_BACKEND="database", LOG_LEVEL="WARNING")
        manage(fresh, "migrate", "--noinput")
        import_seconds = manage(fresh, "import_masthead", str(archive))
        print(f"counts: {counts}")
        print(f"archive: {archive.stat().st_size / 1e6:.1f} MB")
        print(f"export_magazine: {export_seconds:.1f} s wall")
        print(f"import_masthead: {import_seconds:.1f} s wall")
        print(f"python speed: {python_speed():.2f} s for the reference loop")
    finally:
        shutil.rmtree(source, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    main()
