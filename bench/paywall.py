"""The paywalled article page, anonymous and personal, against nginx.

    .venv/bin/python bench/paywall.py [--seconds 10] [--connections 32] [--site DIR]

Builds a throwaway demo magazine, makes a subscriber (a complimentary
subscription, made with billing's models) and signs them in (a session in the
session store), starts granian as `make run` does (page cache on), and nginx
serving the anonymous article page's HTML as a static file. Then, one after
another, with wrk at the same concurrency:

- nginx, the static file (the reference);
- a subscriber-only article, anonymous (the teaser, from the page cache);
- a public article, anonymous (from the page cache);
- the subscriber-only article for the signed-in subscriber (personal: the
  session, one entitlement query and the kept variant of the page), with
  the session cookie passed to wrk.

The subscriber's page is measured without, with, with and without 1,000
institutions configured (ABBA: the machine's speed drifts during a run),
each institution with an IP range (IPv4 /16, /20 and /24, IPv6 /48): what
matching every request's address against the ranges costs, side by side
(target: at most 5% fewer requests per second). Then, with the
institutions: the anonymous pages again, and the subscriber-only article
for a reader let in by an institution's IP range (wrk's address stands for
nginx's, a trusted proxy; X-Forwarded-For names the reader): private, never
from the shared cache.

Targets on the 2-core machine: anonymous at least 10% of nginx's requests
per second; the subscriber's page at least 1,000 requests per second with
p99 under 50 ms at 32 connections. The machine's load average is printed
before and after: other work on the machine skews every figure.
"""

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    app_server,
    bench_env,
    cleanup,
    free_port,
    nginx_static,
    prepare_site,
    print_table,
    wait_for,
    wrk,
)

from masthead.core.serve import default_workers

SUBSCRIBER = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from masthead.billing.models import Plan, Subscription
user, _ = get_user_model().objects.get_or_create(email="bench.subscriber@example.org")
Subscription.objects.get_or_create(
    member=user, status=Subscription.Status.COMPLIMENTARY, plan=Plan.objects.order_by("pk").first()
)
client = Client()
client.force_login(user)
print("SESSION=" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""


# 1,000 organisations under contract, a range each; 10.0.0.0/24 is the first.
INSTITUTIONS = """
from datetime import timedelta
from django.utils import timezone
from masthead.billing.models import Organisation, OrganisationNetwork, Plan
plan = Plan.objects.order_by("pk").first()
today = timezone.localdate()
Organisation.objects.filter(name__startswith="Bench institution").delete()
organisations = Organisation.objects.bulk_create(
    Organisation(
        name=f"Bench institution {n}",
        plan=plan,
        contract_starts=today - timedelta(days=1),
        contract_ends=today + timedelta(days=365),
    )
    for n in range(1000)
)
def cidr(n):
    high, low = divmod(n, 256)
    return (
        f"10.{high}.{low}.0/24",
        f"{20 + high}.{low}.0.0/16",
        f"{30 + high}.{low}.{16 * (n % 16)}.0/20",
        f"2001:db8:{n:x}::/48",
    )[n % 4]
OrganisationNetwork.objects.bulk_create(
    OrganisationNetwork(organisation=organisation, cidr=cidr(n))
    for n, organisation in enumerate(organisations)
)
print("RANGES", OrganisationNetwork.objects.count())
"""
INSTITUTION_READER = "10.0.0.7"


def add_institutions(env):
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", INSTITUTIONS],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "RANGES 1000" in output, output


def remove_institutions(env):
    subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from masthead.billing.models import Organisation; "
            "Organisation.objects.filter(name__startswith='Bench institution').delete()",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )


def subscriber_session(env):
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", SUBSCRIBER],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.search(r"SESSION=(\S+)", output).group(1)


def article_paths(base_url):
    """(a subscriber-only article, a public article) linked from the home page."""
    home = wait_for(base_url + "/").decode()
    gated = public = None
    for path in re.findall(r'href="(/[a-z-]+/[a-z0-9-]+/)"', home):
        if path.startswith(("/issues/", "/authors/", "/feeds/", "/account/")):
            continue
        html = wait_for(base_url + path).decode()
        if "article__header" not in html:
            continue
        header = html.split("article__header")[1][:600]
        if 'class="badge">Subscribers' in header and "data-paywall=" in html:
            gated = gated or path
        elif "badge" not in header:
            public = public or path
        if gated and public:
            return gated, public
    raise RuntimeError("the home page links no subscriber-only and public articles")


def fetch(url, cookie=None, forwarded_for=None):
    import urllib.request

    headers = {"Cookie": cookie} if cookie else {}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), response.headers  # case-insensitive names


def load_average():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    # As many workers as `make run` starts (masthead/core/serve.py).
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument(
        "--site",
        type=Path,
        help="A folder to build the demo site in and keep (reused when it has one), "
        "so that a second run starts at once.",
    )
    args = parser.parse_args()

    var_dir = args.site or Path(tempfile.mkdtemp(prefix="masthead-paywall-bench-"))
    try:
        # wrk's address stands for nginx's: a trusted proxy in both halves.
        env = bench_env(var_dir, LOG_LEVEL="WARNING", TRUSTED_PROXIES="127.0.0.1")
        if not (var_dir / "masthead.sqlite3").exists():
            prepare_site(env)
        else:
            cleanup(var_dir / "cache")  # pages kept by an earlier run's code
        remove_institutions(env)  # an earlier run's, in a kept site
        session = subscriber_session(env)
        cookie = f"sessionid={session}"
        port, nginx_port = free_port(), free_port()
        with app_server(env, port, args.workers):
            base = f"http://127.0.0.1:{port}"
            gated, public = article_paths(base)
            teaser_html, _ = fetch(base + gated)
            full_html, headers = fetch(base + gated, cookie)
            assert b"data-paywall=" in teaser_html and b"data-paywall=" not in full_html, (
                "the subscriber did not get the full article"
            )
            assert "private" in headers.get("Cache-Control", "")
            for _ in range(20):  # every worker keeps the page and the route
                fetch(base + gated, cookie)
                fetch(base + gated)
                fetch(base + public)
            with nginx_static(teaser_html, nginx_port) as nginx:
                wait_for(f"http://127.0.0.1:{nginx_port}/")
                run = {"connections": args.connections, "seconds": args.seconds}
                loads = []

                def measure(url, headers=()):
                    loads.append(load_average().split()[0])
                    return wrk(url, headers=headers, **run)

                load_before = load_average()
                subscriber_cookie = [f"Cookie: {cookie}"]
                institution = [f"X-Forwarded-For: {INSTITUTION_READER}"]

                def warm():
                    for _ in range(20):  # every worker reads the ranges, keeps the pages
                        fetch(base + gated, cookie)
                        fetch(base + gated)
                        fetch(base + public)

                def with_institutions():
                    add_institutions(env)
                    library_html, headers = fetch(base + gated, forwarded_for=INSTITUTION_READER)
                    assert b"data-paywall=" not in library_html, "the range reader got the teaser"
                    assert b"Access provided by Bench institution 0" in library_html
                    assert "private" in headers.get("Cache-Control", "")
                    warm()

                def without_institutions():
                    remove_institutions(env)
                    warm()

                reference = measure(f"http://127.0.0.1:{nginx_port}/")
                # The subscriber's page without, with, with and without the
                # ranges (ABBA): the machine's speed drifts while it runs.
                without = [measure(base + gated, headers=subscriber_cookie)]
                with_institutions()
                with_ranges = [measure(base + gated, headers=subscriber_cookie) for _ in "ab"]
                without_institutions()
                without.append(measure(base + gated, headers=subscriber_cookie))
                subscriber = without[0]
                anonymous = measure(base + gated)
                rows = [
                    ("nginx, static file", reference),
                    ("0 institutions: subscriber article, subscriber", without[0]),
                    ("1,000 institutions: subscriber article, subscriber", with_ranges[0]),
                    ("1,000 institutions: subscriber article, subscriber", with_ranges[1]),
                    ("0 institutions: subscriber article, subscriber", without[1]),
                    ("0 institutions: subscriber article, anonymous (page cache)", anonymous),
                    (
                        "0 institutions: public article, anonymous (page cache)",
                        measure(base + public),
                    ),
                ]
                with_institutions()
                for _ in range(20):
                    fetch(base + gated, forwarded_for=INSTITUTION_READER)
                rows += [
                    (
                        "1,000 institutions: subscriber article, anonymous (page cache)",
                        measure(base + gated),
                    ),
                    (
                        "1,000 institutions: public article, anonymous (page cache)",
                        measure(base + public),
                    ),
                    (
                        "1,000 institutions: reader in a range (Django, private)",
                        measure(base + gated, headers=institution),
                    ),
                ]
                remove_institutions(env)
                load_after = load_average()
                cleanup(nginx.folder)
        print(
            f"\nArticles {gated} (subscribers) and {public} (public); {args.connections} "
            f"connections, {args.seconds}s each, granian with {args.workers} workers, "
            f"{os.cpu_count()} CPUs"
        )
        print(
            f"Load average before: {load_before}; after: {load_after}; "
            f"1-minute load before each row: {', '.join(loads)}\n"
        )
        print_table(rows, reference)
        print(
            "\nTargets: anonymous >= 10% of nginx: "
            f"{'met' if anonymous['rps'] >= 0.1 * reference['rps'] else 'NOT met'}; "
            "subscriber >= 1,000 req/s with p99 < 50 ms: "
            f"{'met' if subscriber['rps'] >= 1000 and subscriber['p99_ms'] < 50 else 'NOT met'}"
        )
        change = sum(row["rps"] for row in with_ranges) / sum(row["rps"] for row in without) - 1
        print(
            f"Subscriber page with 1,000 institutions' ranges: {change:+.1%} requests per "
            f"second against none (two runs each, ABBA; target: no worse than -5%): "
            f"{'met' if change >= -0.05 else 'NOT met'}"
        )
    finally:
        if not args.site:
            cleanup(var_dir)


if __name__ == "__main__":
    main()
