"""Keeping background work alive: worker heartbeats, putting back the tasks
of workers that died, and the failed tasks staff can see and retry.

A worker killed mid-task (SIGKILL, out of memory, a lost machine) must lose
no task. Both task backends get the same guarantee:

- Database queue (django-tasks-db). Its worker marks a task RUNNING and
  nothing ever resets it. So `manage.py db_worker` (overridden in
  core/management/commands) writes a heartbeat for its worker id into
  Django's cache every TASK_WORKER_HEARTBEAT seconds. A task RUNNING for more
  than TASK_WORKER_TIMEOUT seconds whose worker has no heartbeat goes back to
  READY. Workers check this every TASK_WORKER_TIMEOUT seconds, and so does
  the scheduler (`requeue_stale_tasks`).
- RQ. Each execution has a heartbeat in RQ's StartedJobRegistry; RQ's own
  cleanup moves an execution that stopped beating to the failed registry as
  AbandonedJobError, and a work horse killed under a live worker lands there
  as "Work-horse terminated unexpectedly". `requeue_stale_tasks` puts both
  back in their queue. `RQWorker` takes its heartbeat and maintenance
  intervals from the same two settings.

A task goes back at most MAX_RECOVERIES times: one that kills its worker
every time (out of memory) ends as failed rather than looping. Tasks must
therefore be idempotent: one put back may have done part of its work.
"""

import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, close_old_connections, router, transaction
from django.utils import timezone
from rq.worker import Worker

logger = logging.getLogger(__name__)

MAX_RECOVERIES = 3
HEARTBEAT_KEY = "tasks:worker:{}"
WORKER_LOST = "masthead.core.taskqueue.WorkerLost"
# What RQ records for a job whose worker or work horse died.
RQ_DEATH_MARKERS = ("AbandonedJobError", "Work-horse terminated unexpectedly")
RECOVERIES_META = "masthead_recoveries"


class WorkerLost(Exception):
    """The worker running a task died, again and again."""


def heartbeat_interval():
    return max(1, int(getattr(settings, "TASK_WORKER_HEARTBEAT", 10)))


def worker_timeout():
    return max(heartbeat_interval() + 1, int(getattr(settings, "TASK_WORKER_TIMEOUT", 60)))


def enqueue_on_commit(task, *args, **kwargs):
    """Queue `task` to run once the current transaction has committed.

    The database queue takes it inside the transaction, as an outbox: the
    task row commits or rolls back with the change that asked for it, so a
    crash between the commit and the enqueue cannot lose it, and no second
    write transaction is needed (a webhook's receipt costs one commit, not
    two). Other backends (RQ, inline in tests) get it after the commit.
    """
    if _queues_in_default_database(task):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(partial(task.enqueue, *args, **kwargs))


def _queues_in_default_database(task):
    from django_tasks_db import DatabaseBackend

    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    from django_tasks_db.models import DBTaskResult

    return router.db_for_write(DBTaskResult) == DEFAULT_DB_ALIAS


def uses_rq():
    return bool(getattr(settings, "RQ_QUEUES", None)) and any(
        "RQBackend" in config["BACKEND"] for config in settings.TASKS.values()
    )


# --- Database queue: heartbeats and recovery -----------------------------------


def beat(worker_id):
    cache.set(HEARTBEAT_KEY.format(worker_id), timezone.now().isoformat(), worker_timeout())


def worker_is_alive(worker_id):
    return cache.get(HEARTBEAT_KEY.format(worker_id)) is not None


def stop_beating(worker_id):
    cache.delete(HEARTBEAT_KEY.format(worker_id))


class Heartbeat(threading.Thread):
    """Beats for a database worker, and now and then puts back the tasks
    of workers that stopped beating."""

    def __init__(self, worker_id):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def run(self):
        since_recovery = 0.0
        while not self.stopped.is_set():
            try:
                beat(self.worker_id)
            except Exception:
                logger.exception("Worker %s could not write its heartbeat", self.worker_id)
            if since_recovery >= worker_timeout():
                since_recovery = 0.0
                try:
                    requeue_stale_db_tasks()
                except Exception:
                    logger.exception("Could not put back the tasks of dead workers")
                finally:
                    close_old_connections()
            self.stopped.wait(heartbeat_interval())
            since_recovery += heartbeat_interval()

    def stop(self):
        self.stopped.set()
        stop_beating(self.worker_id)


def requeue_stale_db_tasks(now=None):
    """Put back (READY) the RUNNING tasks whose worker stopped beating;
    fail those put back MAX_RECOVERIES times already. Returns
    (requeued ids, failed ids).

    Each change is conditional on the task still being in the run that was
    looked at, so two processes doing this at once, or a worker claiming the
    task in between, cannot make it run twice.
    """
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=worker_timeout())
    requeued, failed = [], []
    candidates = DBTaskResult.objects.running().filter(started_at__lt=cutoff)
    for task_id, started_at, worker_ids in candidates.values_list("id", "started_at", "worker_ids"):
        worker_ids = worker_ids or []
        if worker_ids and worker_is_alive(worker_ids[-1]):
            continue
        same_run = DBTaskResult.objects.filter(
            pk=task_id, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        if len(worker_ids) > MAX_RECOVERIES:
            changed = same_run.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=WORKER_LOST,
                traceback=(
                    f"{WORKER_LOST}: the worker running this task died "
                    f"{len(worker_ids)} times (workers {', '.join(worker_ids)}); "
                    "it was not put back again.\n"
                ),
            )
            if changed:
                failed.append(str(task_id))
        elif same_run.update(status=TaskResultStatus.READY):
            requeued.append(str(task_id))
    for task_id in requeued:
        logger.warning("Task %s was running on a dead worker: put back in the queue", task_id)
    for task_id in failed:
        logger.error("Task %s killed its worker %d times: failed", task_id, MAX_RECOVERIES + 1)
    return requeued, failed


# --- RQ: the worker class and recovery -------------------------------------------


class RQWorker(Worker):
    """RQ's forking worker with Masthead's heartbeat settings.

    RQ declares an execution dead 60 s after its last heartbeat and runs its
    registry cleanup every 10 minutes; here both follow TASK_WORKER_HEARTBEAT
    and TASK_WORKER_TIMEOUT, and the cleanup also puts back jobs whose
    worker died. A psycopg pool is closed before each fork so a work horse
    never shares the parent's connections.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", heartbeat_interval())
        kwargs.setdefault("maintenance_interval", worker_timeout())
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self):
        # An idle worker wakes up this often to beat and run maintenance.
        return max(1, min(super().dequeue_timeout, worker_timeout()))

    def get_heartbeat_ttl(self, job, working_time=0.0):
        ttl = super().get_heartbeat_ttl(job, working_time)
        return min(ttl, self.job_monitoring_interval + worker_timeout())

    def clean_registries(self):
        super().clean_registries()
        try:
            requeue_abandoned_rq_jobs(self.queues)
        except Exception:
            self.log.exception("Could not put back the jobs of dead workers")

    def fork_work_horse(self, job, queue):
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            if getattr(connection, "pool", None):
                connection.close_pool()
        super().fork_work_horse(job, queue)


def rq_queues():
    import django_rq

    return [django_rq.get_queue(name) for name in settings.RQ_QUEUES]


def requeue_abandoned_rq_jobs(queues=None):
    """Move executions that stopped beating to the failed registry (RQ's own
    cleanup), then put back every failed job whose worker died, up to
    MAX_RECOVERIES times. Returns the ids put back."""
    from rq.exceptions import InvalidJobOperation
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    requeued = []
    for queue in queues if queues is not None else rq_queues():
        StartedJobRegistry(queue=queue).cleanup()
        failed = FailedJobRegistry(queue=queue)
        for job_id in failed.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            result = job.latest_result()
            error = (result.exc_string if result else None) or ""
            if not any(marker in error for marker in RQ_DEATH_MARKERS):
                continue
            recoveries = job.meta.get(RECOVERIES_META, 0)
            if recoveries >= MAX_RECOVERIES:
                continue
            job.meta[RECOVERIES_META] = recoveries + 1
            job.save_meta()
            try:
                failed.requeue(job)
            except InvalidJobOperation:
                continue  # put back by another process meanwhile
            logger.warning("Job %s was running on a dead worker: put back in the queue", job_id)
            requeued.append(job_id)
    return requeued


def requeue_stale_tasks():
    """Both backends, as configured: {"database": [...], "rq": [...]}."""
    requeued = {"database": requeue_stale_db_tasks()[0]}
    if uses_rq():
        requeued["rq"] = requeue_abandoned_rq_jobs()
    return requeued


# --- Failed tasks, for staff ---------------------------------------------------------


@dataclass(frozen=True)
class FailedTask:
    backend: str  # "database" or "rq"
    id: str
    task_path: str
    queue: str
    arguments: str
    error: str
    traceback: str
    failed_at: datetime | None
    attempts: int

    @property
    def name(self):
        return self.task_path.rsplit(".", 1)[-1]


def _last_line(traceback):
    lines = [line for line in (traceback or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "Unknown error"


def _arguments(args, kwargs):
    parts = [repr(value) for value in args or []]
    parts += [f"{key}={value!r}" for key, value in (kwargs or {}).items()]
    return ", ".join(parts)


def failed_tasks(limit=100):
    """The most recent failed tasks of both backends, newest first."""
    from django_tasks_db.models import DBTaskResult

    found = []
    for row in DBTaskResult.objects.failed().order_by("-finished_at")[:limit]:
        args_kwargs = row.args_kwargs or {}
        found.append(
            FailedTask(
                backend="database",
                id=str(row.id),
                task_path=row.task_path,
                queue=row.queue_name,
                arguments=_arguments(args_kwargs.get("args"), args_kwargs.get("kwargs")),
                error=_last_line(row.traceback),
                traceback=row.traceback,
                failed_at=row.finished_at,
                attempts=len(row.worker_ids or []),
            )
        )
    if uses_rq():
        found += _failed_rq_jobs(limit)
    epoch = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    found.sort(key=lambda task: task.failed_at or epoch, reverse=True)
    return found[:limit]


def _failed_rq_jobs(limit):
    from rq.registry import FailedJobRegistry

    found = []
    for queue in rq_queues():
        registry = FailedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids(0, limit - 1, desc=True):
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            result = job.latest_result()
            traceback = (result.exc_string if result else "") or ""
            failed_at = job.ended_at or (result.created_at if result else None)
            if failed_at is not None and timezone.is_naive(failed_at):
                failed_at = timezone.make_aware(failed_at, timezone.utc)
            found.append(
                FailedTask(
                    backend="rq",
                    id=job.id,
                    task_path=job.func_name,
                    queue=queue.name,
                    arguments=_arguments(job.args, job.kwargs),
                    error=_last_line(traceback),
                    traceback=traceback,
                    failed_at=failed_at,
                    attempts=len(job.results()),
                )
            )
    return found


def retry_failed_task(backend, task_id):
    """Put a failed task back in its queue. Returns whether it was."""
    if backend == "database":
        from django_tasks_db.compat import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        with contextlib.suppress(ValidationError, ValueError):
            return bool(
                DBTaskResult.objects.filter(pk=task_id, status=TaskResultStatus.FAILED).update(
                    status=TaskResultStatus.READY,
                    started_at=None,
                    finished_at=None,
                    return_value=None,
                    exception_class_path="",
                    traceback="",
                    worker_ids=[],
                )
            )
        return False
    if backend == "rq" and uses_rq():
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.registry import FailedJobRegistry

        for queue in rq_queues():
            registry = FailedJobRegistry(queue=queue)
            if task_id in registry:
                try:
                    registry.requeue(task_id)
                except (InvalidJobOperation, NoSuchJobError):
                    return False
                return True
    return False
