"""Backing up and restoring a large magazine while it serves readers.

    .venv/bin/python bench/backup.py [--members 100000] [--articles 10000]

Builds a throwaway demo magazine (SQLite, the embedded mode), adds the
members (each with a subscription) and articles asked for, starts granian as
`make run` does, and measures a cached free article with wrk at rest and
then while `manage.py backup` runs. Then restores the archive into a fresh
install with `manage.py restore`. Prints the backup's time and size, the
requests per second at rest and during the backup (and their ratio: the aim
is above 50%), and the restore's time.
"""

import argparse
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from article_page import public_article_path
from common import (
    PYTHON,
    ROOT,
    app_server,
    bench_env,
    cleanup,
    free_port,
    manage,
    prepare_site,
    python_speed,
    wrk,
)

GENERATE = """
import django
django.setup()
from django.db import transaction
from django.utils import timezone
from masthead.accounts.models import User
from masthead.billing.models import Plan, Subscription
from masthead.newsroom.models import ArticlePage, SectionPage

members, articles = {members}, {articles}
plan = Plan.objects.order_by("pk").first()
now = timezone.now()
batch = 5000
for start in range(0, members, batch):
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(email=f"member-{{n}}@example.org", password="!")
            for n in range(start, min(start + batch, members))
        )
        Subscription.objects.bulk_create(
            Subscription(member=user, plan=plan, status="active", current_period_end=now)
            for user in users
        )
section = SectionPage.objects.live().order_by("path").first()
body = [("paragraph", f"<p>Paragraph {{p}} of a generated article, long enough to be read "
         "aloud and indexed like the real thing.</p>") for p in range(8)]
for n in range(articles):
    with transaction.atomic():
        section.add_child(instance=ArticlePage(
            title=f"Generated article {{n}}", slug=f"generated-{{n}}", dek="A dek.",
            body=body, live=True, first_published_at=now,
        ))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    speed = python_speed()
    work = Path(tempfile.mkdtemp(prefix="masthead-bench-backup-"))
    try:
        env = bench_env(work / "site", BACKUP_DIR=work / "backups", BACKUP_KEEP=0)
        prepare_site(env)
        began = time.monotonic()
        subprocess.run(
            [PYTHON, "-c", GENERATE.format(members=args.members, articles=args.articles)],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "masthead.settings", "LOG_LEVEL": "WARNING"},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        generated = time.monotonic() - began
        database = work / "site" / "masthead.sqlite3"

        port = free_port()
        with app_server(env, port):
            base = f"http://127.0.0.1:{port}"
            url = base + public_article_path(base)
            wrk(url, connections=args.connections, seconds=2)  # fills the cache
            idle = wrk(url, connections=args.connections, seconds=args.seconds)

            began = time.monotonic()
            backup = subprocess.Popen(
                [PYTHON, "manage.py", "backup"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
            )
            finished = []
            waiter = threading.Thread(
                target=lambda: (backup.wait(), finished.append(time.monotonic()))
            )
            waiter.start()
            during = []
            while backup.poll() is None:
                during.append(wrk(url, connections=args.connections, seconds=2))
            waiter.join()
            backup_seconds = finished[0] - began
            assert backup.returncode == 0, "the backup failed"

        [archive] = (work / "backups").glob("masthead-*.tar.gz")
        fresh = bench_env(work / "fresh")
        restore_seconds = manage(fresh, "restore", str(archive))

        busy_rps = sum(r["rps"] for r in during) / len(during)
        print(
            f"python speed (s, lower is faster): {speed:.2f}; load before: {os.getloadavg()[0]:.1f}"
        )
        print(
            f"data set: {args.members} members with subscriptions, {args.articles} articles "
            f"added to the demo magazine in {generated:.0f} s; "
            f"database {database.stat().st_size / 1e6:.0f} MB"
        )
        print(
            f"backup (manage.py, start-up included): {backup_seconds:.1f} s, archive {archive.stat().st_size / 1e6:.1f} MB"
        )
        print(f"cached article at rest: {idle['rps']:.0f} req/s (p99 {idle['p99_ms']:.1f} ms)")
        print(
            f"cached article during the backup: {busy_rps:.0f} req/s over {len(during)} "
            f"windows of 2 s ({busy_rps / idle['rps']:.0%} of at rest; aim: above 50%), "
            f"errors {sum(r['errors'] for r in during)}"
        )
        print(f"restore into a fresh install: {restore_seconds:.1f} s")
    finally:
        cleanup(work)


if __name__ == "__main__":
    main()
