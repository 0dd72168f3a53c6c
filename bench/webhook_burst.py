"""Webhook throughput: a burst of 2,000 signed `invoice.paid` renewals.

Runs Masthead under granian on 127.0.0.1 against a fresh SQLite database (or
DATABASE_URL), with the local Stripe of the tests (localstripe and its
extensions) in this process. It creates subscriptions on that Stripe, renews
each of them a few times so that 2,000 renewal invoices exist, then delivers
one signed `invoice.paid` event per invoice from 8 concurrent senders. Each
delivery is handled as in production: signature check, event stored, the
subscription re-fetched from Stripe, the payment recorded, a receipt queued.

Prints events per second and p50/p99 latency, then checks that no event was
lost or applied twice: one processed event and one payment per invoice, one
receipt queued per payment.

    .venv/bin/python bench/webhook_burst.py [--events 2000] [--senders 8] [--workers 4]
"""

import argparse
import multiprocessing
import os
import queue
import random
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def send_all(stripe, url, events, senders, pipe):
    """Deliver `events` from `senders` threads; send back latencies, statuses
    and the wall time."""
    work = queue.Queue()
    for event in events:
        work.put(event)
    latencies, statuses, lock = [], [], threading.Lock()

    def sender():
        while True:
            try:
                event = work.get_nowait()
            except queue.Empty:
                return
            begin = time.perf_counter()
            status = stripe.deliver(url, event)[-1]
            elapsed = time.perf_counter() - begin
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begin
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    pipe.send((latencies, statuses, wall, cpu.ru_utime + cpu.ru_stime))
    pipe.close()


def profile(stripe, events):
    """Where an event's time goes: the app's CPU per event (the local Stripe's
    excluded), handling events here through the WSGI handler, then a profile."""
    import cProfile
    import io
    import json
    import pstats

    from django.core.handlers.wsgi import WSGIHandler

    application = WSGIHandler()

    def deliver(event):
        payload = json.dumps(event).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/billing/webhook/",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(payload),
            "CONTENT_LENGTH": str(len(payload)),
            "CONTENT_TYPE": "application/json",
            "HTTP_STRIPE_SIGNATURE": stripe.sign(payload),
        }
        statuses = []
        b"".join(application(environ, lambda status, headers: statuses.append(status)))
        assert statuses == ["200 OK"], statuses

    half = len(events) // 2
    for event in events[:20]:  # warm up
        deliver(event)
    begin, stripe_begin = time.process_time(), stripe.cpu_seconds
    for event in events[20:half]:
        deliver(event)
    spent = time.process_time() - begin - (stripe.cpu_seconds - stripe_begin)
    print(f"app cpu/event, sequential: {spent / (half - 20) * 1000:.1f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for event in events[half:]:
        deliver(event)
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.dump_stats(os.environ.get("WEBHOOK_PROFILE_FILE", "/dev/null"))
    stats.sort_stats("cumulative").print_stats(50)
    stats.sort_stats("tottime").print_stats(30)
    # Own time by package: where the CPU goes, whoever called.
    by_package = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        package = "other"
        for marker in (
            "masthead",
            "django",
            "stripe",
            "requests",
            "urllib3",
            "sqlite3",
            "psycopg",
            "json",
            "http",
            "socket",
            "ssl",
            "email",
            "logging",
        ):
            if f"/{marker}/" in filename or filename.startswith(f"<{marker}") or marker in filename:
                package = marker
                break
        by_package[package] = by_package.get(package, 0.0) + own
    total = sum(by_package.values())
    for package, own in sorted(by_package.items(), key=lambda item: -item[1]):
        print(f"{package:10} {own / total:6.1%}")
    stripe.stop()
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="granian worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per granian worker")
    parser.add_argument("--renewals", type=int, default=4, help="renewal invoices per subscription")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile", action="store_true", help="handle the events in this process under cProfile"
    )
    args = parser.parse_args()
    from common import python_speed

    speed_before = python_speed()

    workdir = Path(tempfile.mkdtemp(prefix="masthead-webhook-burst-"))
    database = workdir / "masthead.sqlite3"

    from tests.billing.stripe_server import API_KEY, WEBHOOK_SECRET, StripeServer

    stripe = StripeServer().start()
    env = {
        "MASTHEAD_TESTING": "0",
        "MASTHEAD_VAR_DIR": str(workdir / "var"),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{database}"),
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TASKS_BACKEND": "database",
        "EMAIL_URL": "console:",
        "LOG_LEVEL": "WARNING",
        "SITE_URL": "http://127.0.0.1",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from masthead.billing import actions
    from masthead.billing.models import Payment, Plan, Price, StripeEvent, Subscription
    from masthead.billing.reconciliation import reconcile

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"database migrated in {time.monotonic() - started:.0f}s ({env['DATABASE_URL']})")

    actions.ensure_default_plans()
    for plan in Plan.objects.all():
        actions.create_plan_on_stripe(plan)
    prices = list(Price.objects.filter(interval="month"))

    subscriptions = max(1, args.events // args.renewals)
    User = get_user_model()
    started = time.monotonic()
    for n in range(subscriptions):
        member = User.objects.create_user(email=f"reader{n}@example.com")
        price = prices[n % len(prices)]
        customer = stripe.post("/v1/customers", {"email": member.email})
        method = stripe.post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": 12,
                    "exp_year": 2034,
                    "cvc": "123",
                },
            },
        )
        stripe.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": customer["id"]})
        stripe.post(
            f"/v1/customers/{customer['id']}",
            {"invoice_settings": {"default_payment_method": method["id"]}},
        )
        stripe.post(
            "/v1/subscriptions",
            {
                "customer": customer["id"],
                "items": [{"price": price.stripe_price_id}],
                "metadata": {"member_id": str(member.pk)},
            },
        )
    reconcile()  # Masthead learns of them (and their first payments)
    initial_payments = Payment.objects.count()
    print(f"{subscriptions} subscriptions set up in {time.monotonic() - started:.0f}s")

    started = time.monotonic()
    events = []
    stripe_ids = list(Subscription.objects.values_list("stripe_subscription_id", flat=True))
    for _round in range(args.renewals):
        for stripe_id in stripe_ids:
            if len(events) < args.events:
                events.append(stripe.event("invoice.paid", stripe.renew(stripe_id)))
    # Senders interleave subscriptions; a subscription's renewals may overtake each other.
    random.Random(1).shuffle(events)
    print(f"{len(events)} renewal invoices made on Stripe in {time.monotonic() - started:.0f}s")

    if args.profile:
        return profile(stripe, events)

    from tests.billing.appserver import AppServer

    server = AppServer(
        workdir, env["DATABASE_URL"], workers=args.workers, threads=args.threads, env=env
    )
    server.start()
    url = server.url + "/billing/webhook/"
    print(f"granian: {args.workers} workers × {args.threads} thread(s) at {server.url}")

    # The senders run in their own process, so that they do not share a
    # GIL with the local Stripe that the app server calls back.
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=send_all, args=(stripe, url, events, args.senders, sending))
    app_cpu_before = server.cpu_seconds()
    own_cpu_before = time.process_time()
    process.start()
    latencies, statuses, wall, senders_cpu = receiving.recv()
    process.join()
    app_cpu = server.cpu_seconds() - app_cpu_before
    stripe_cpu = time.process_time() - own_cpu_before
    server.stop()

    from django_tasks_db.models import DBTaskResult

    invoice_ids = {event["data"]["object"]["id"] for event in events}
    processed = StripeEvent.objects.filter(status="processed").count()
    paid = Payment.objects.filter(stripe_invoice_id__in=invoice_ids).count()
    receipts = sum(
        "billing_receipt" in str(task.args_kwargs)
        for task in DBTaskResult.objects.filter(task_path__endswith="send_templated_email")
    )
    failures = len(statuses) - statuses.count(200)

    print()
    print(f"events:      {len(events)} from {args.senders} senders in {wall:.2f}s")
    print(f"throughput:  {len(events) / wall:.0f} events/s")
    print(
        f"latency:     p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms"
    )
    print(
        f"cpu/event:   app {app_cpu / len(events) * 1000:.1f} ms, "
        f"local Stripe {stripe_cpu / len(events) * 1000:.1f} ms, "
        f"senders {senders_cpu / len(events) * 1000:.1f} ms "
        f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    cpu_per_event = (app_cpu + stripe_cpu + senders_cpu) / len(events)
    print(
        f"cores used:  {cpu_per_event * len(events) / wall:.2f} of {os.cpu_count()} "
        f"(the rest went to other processes); at {cpu_per_event * 1000:.1f} ms of CPU per "
        f"event in all, {os.cpu_count()} idle cores would take about "
        f"{os.cpu_count() / cpu_per_event:.0f} events/s"
    )
    print(
        f"python:      a 10M-step loop took {speed_before:.2f}s of CPU before, "
        f"{python_speed():.2f}s after (lower is faster)"
    )
    print(f"responses:   {statuses.count(200)} × 200, {failures} other")
    print(f"processed:   {processed} events (expected {len(events)})")
    print(
        f"payments:    {paid} renewal payments for {len(invoice_ids)} invoices "
        f"(+{initial_payments} first payments)"
    )
    print(f"receipts:    {receipts - initial_payments} renewal receipts queued")
    ok = (
        failures == 0
        and processed == len(events)
        and paid == len(invoice_ids) == len(events)
        and Payment.objects.count() == initial_payments + len(events)
        and receipts - initial_payments == len(events)
    )
    print("check:       " + ("none lost, none applied twice" if ok else "MISMATCH"))
    stripe.stop()
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
