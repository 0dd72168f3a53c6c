"""Periodic work: `make run` starts this beside the worker. At scale run
exactly one of it (deploy/masthead-scheduler.service), or use cron or systemd
timers for the same commands instead.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

# (every N seconds, what to run). Task paths are enqueued for the worker;
# management commands run here and are quick.
SCHEDULE = [
    (30, "command:requeue_stale_tasks"),
    (60, "command:publish_scheduled"),
    (60, "task:masthead.mailings.tasks.start_due_mailings"),
    (24 * 3600, "task:masthead.billing.tasks.reconcile_subscriptions"),
    # A no-op unless BACKUP_NIGHTLY is on.
    (24 * 3600, "task:masthead.backups.tasks.nightly_backup"),
    # Hourly: the snapshot is taken once, soon after the publisher's midnight.
    (3600, "task:masthead.insights.tasks.snapshot_yesterday"),
]


class Command(BaseCommand):
    help = "Run scheduled publishing and nightly jobs until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args, once=False, **options):
        last_run = {}
        while True:
            now = time.monotonic()
            for interval, job in SCHEDULE:
                if once or now - last_run.get(job, -interval) >= interval:
                    last_run[job] = now
                    self.run(job)
            if once:
                return
            time.sleep(5)

    def run(self, job):
        kind, _, target = job.partition(":")
        try:
            if kind == "command":
                call_command(target, verbosity=0)
            else:
                import_string(target).enqueue()
        except ImportError:
            self.stderr.write(f"Skipping {target}: not available.")
        except Exception as error:
            self.stderr.write(f"{job} failed: {error!r}")
