"""Put back in the queue the tasks whose worker died mid-task.

The scheduler runs this every 30 seconds and workers do it themselves too;
running it by hand is safe at any time (see masthead.core.taskqueue).
"""

from django.core.management.base import BaseCommand

from masthead.core.taskqueue import requeue_stale_tasks


class Command(BaseCommand):
    help = "Put back the tasks of workers that stopped (killed, out of memory, lost)."

    def handle(self, *args, **options):
        for backend, ids in requeue_stale_tasks().items():
            for task_id in ids:
                self.stdout.write(f"{backend}: put back {task_id}")
