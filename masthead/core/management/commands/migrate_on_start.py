"""`manage.py migrate_on_start`: migrate, one process at a time.

The systemd units run it before starting the app server, worker or scheduler,
so that no process of a new release runs against an older schema. Several
machines (or a worker and the app server on one) start together after an
upgrade or a reboot; two `migrate`s at once could both try to apply the same
migration, so each waits for a lock first and the later ones then find
nothing left to apply. The lock is a PostgreSQL advisory lock, or on SQLite,
whose processes all share one machine, a lock on a file next to the database.
"""

import contextlib
import fcntl
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# Any fixed number: the key of the advisory lock every Masthead process takes
# around migrate.
MIGRATE_LOCK_KEY = 0x6D617374  # "mast"


class Command(BaseCommand):
    help = "Apply unapplied migrations, waiting while another process applies them."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, **options):
        with migrate_lock(connections[database], self.stdout):
            call_command(
                "migrate",
                database=database,
                interactive=False,
                verbosity=options["verbosity"],
            )


@contextlib.contextmanager
def migrate_lock(connection, stdout):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            if not cursor.fetchone()[0]:
                stdout.write("Waiting for another process to finish migrating.")
                stdout.flush()
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
    elif connection.vendor == "sqlite" and not connection.is_in_memory_db():
        path = Path(f"{connection.settings_dict['NAME']}.migrate-lock")
        with open(path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stdout.write("Waiting for another process to finish migrating.")
                stdout.flush()
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        yield
