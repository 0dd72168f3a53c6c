"""`manage.py run_worker`: the background worker for the configured task
backend, so one command (systemd unit, Procfile) fits both modes.

Database queue: `db_worker` (with its heartbeat, see taskqueue). RQ:
`rqworker` with RQ's scheduler, for tasks deferred to later; of several
workers one runs the scheduler at a time.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a background task worker (db_worker or rqworker, as configured)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queues",
            default="",
            help="Comma-separated queues to take tasks from (default: all of TASK_QUEUES).",
        )

    def handle(self, *args, queues="", **options):
        names = [name for name in queues.split(",") if name] or settings.TASK_QUEUES
        backend = settings.TASKS["default"]["BACKEND"]
        if backend.endswith("RQBackend"):
            call_command("rqworker", *names, "--with-scheduler")
        elif backend.endswith("DatabaseBackend"):
            call_command("db_worker", "--queue-name", ",".join(names))
        else:
            raise CommandError(
                f"The task backend {backend} runs tasks inline: there is no queue to work on."
            )
