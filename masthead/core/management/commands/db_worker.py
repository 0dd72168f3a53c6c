"""`manage.py db_worker`: django-tasks-db's worker, with a heartbeat.

This command shadows the library's own (masthead.core comes first in
INSTALLED_APPS) and adds what it lacks: while it runs, the worker writes a
heartbeat to the cache, and now and then puts back the tasks of workers whose
heartbeat stopped (see masthead.core.taskqueue). Every option of the
library's command works as before.
"""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as LibraryCommand

from masthead.core.taskqueue import Heartbeat, beat, requeue_stale_db_tasks


class Command(LibraryCommand):
    help = LibraryCommand.help + ", with a heartbeat that lets dead workers' tasks be put back"

    def handle(self, *args, worker_id, reload=False, batch=False, **options):
        # With --reload the parent process only restarts the child; the
        # child, which runs tasks, is the one that beats.
        if reload and not batch and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, worker_id=worker_id, reload=reload, batch=batch, **options)
        beat(worker_id)
        requeue_stale_db_tasks()
        heartbeat = Heartbeat(worker_id)
        heartbeat.start()
        try:
            return super().handle(*args, worker_id=worker_id, reload=reload, batch=batch, **options)
        finally:
            heartbeat.stop()
