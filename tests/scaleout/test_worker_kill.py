"""A worker killed with SIGKILL mid-task loses no task: the task goes back
in the queue and another worker finishes it, once. Both backends, with real
worker processes.

Workers here beat every second and count as dead after three silent
seconds (TASK_WORKER_HEARTBEAT, TASK_WORKER_TIMEOUT), so a test takes
seconds instead of the minutes production waits.
"""

import os
import signal
import uuid

import pytest

from tests.scaleout import support
from tests.scaleout.tasks import write_marker

pytestmark = pytest.mark.django_db(transaction=True)

FAST_HEARTBEATS = {"TASK_WORKER_HEARTBEAT": 1, "TASK_WORKER_TIMEOUT": 3}
TASK_SECONDS = 2.0


def attempts(folder):
    log = folder / "attempts.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if line.startswith("start")], [
        line for line in lines if line.startswith("finish")
    ]


def running_pid(folder, key):
    marker = folder / f"{key}.running"
    return int(marker.read_text()) if marker.exists() and marker.read_text() else None


def test_the_marker_task_does_its_work_once_however_often_it_runs(tmp_path):
    assert write_marker.call(str(tmp_path), "twice") == "done"
    assert write_marker.call(str(tmp_path), "twice") == "already done"
    starts, finishes = attempts(tmp_path)
    assert len(starts) == 2
    assert finishes == [f"finish {os.getpid()} done"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "attempts.log",
        "twice.done",
        "twice.running",
    ]


def test_database_queue_worker_killed_mid_task_loses_nothing(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    key = "db-" + uuid.uuid4().hex[:8]
    result = write_marker.enqueue(str(tmp_path), key, TASK_SECONDS)
    database = support.SharedDatabase(tmp_path)
    database.publish()
    env = support.process_env(tmp_path, database, TASKS_BACKEND="database", **FAST_HEARTBEATS)

    first = support.db_worker(env, tmp_path / "worker-1.log")
    second = None
    try:
        pid = support.wait_until(
            lambda: running_pid(tmp_path, key),
            90,
            message=lambda: f"task started\n{first.output()}",
        )
        assert pid == first.pid  # the database worker runs tasks in its own process
        first.kill()
        assert not (tmp_path / f"{key}.done").exists()
        status = database.query(
            "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s",
            _db_id(result.id),
        )
        assert status == [("RUNNING",)]  # what a dead worker leaves behind

        second = support.db_worker(env, tmp_path / "worker-2.log")
        support.wait_until(
            lambda: (tmp_path / f"{key}.done").exists(),
            60,
            message=lambda: f"task finished by the second worker\n{second.output()}",
        )
        support.wait_until(
            lambda: (
                database.query(
                    "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s",
                    _db_id(result.id),
                )
                == [("SUCCESSFUL",)]
            ),
            20,
            message="task marked successful",
        )
    finally:
        first.stop()
        if second:
            second.stop()
    starts, finishes = attempts(tmp_path)
    assert len(starts) == 2, starts
    assert finishes == [f"finish {second.pid} done"]
    (worker_ids,) = database.query(
        "SELECT worker_ids FROM django_tasks_database_dbtaskresult WHERE id = %s",
        _db_id(result.id),
    )[0]
    assert len(_json(worker_ids)) == 2  # claimed by the dead worker, then by the second


def _db_id(task_id):
    # SQLite stores UUIDs as 32 hex digits; PostgreSQL as uuid.
    return task_id if support.on_postgresql() else uuid.UUID(task_id).hex


def _json(value):
    import json

    return value if isinstance(value, list) else json.loads(value)


def _rq_settings(settings, queue):
    settings.RQ_QUEUES = {name: {"URL": support.redis_url()} for name in ("default", queue)}
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", queue]}
    }
    settings.RQ = {"JOB_CLASS": "django_tasks_rq.Job"}


def _rq_job(job_id):
    import django_rq
    from django_tasks_rq import Job

    return Job.fetch(job_id, connection=django_rq.get_connection("default"))


@pytest.fixture
def rq_queue(settings):
    if not support.redis_available():
        pytest.skip(f"no Redis at {support.redis_url()}")
    queue = "scaleout-" + uuid.uuid4().hex[:10]
    _rq_settings(settings, queue)
    yield queue
    support.forget_rq_queue(queue)


def _rq_env(tmp_path, queue):
    database = support.SharedDatabase(tmp_path)
    database.publish()
    env = support.process_env(
        tmp_path,
        database,
        TASKS_BACKEND="rq",
        REDIS_URL=support.redis_url(),
        TASK_QUEUES=queue,
        **FAST_HEARTBEATS,
    )
    env.pop("RQ_KEY_PREFIX", None)  # the test process enqueues with RQ's default prefix
    return env


def test_rq_worker_killed_mid_task_loses_nothing(rq_queue, tmp_path):
    """The whole worker dies (main process and work horse), as when systemd
    kills it or the machine goes: the job's heartbeat stops, RQ calls it
    abandoned, and the next worker's maintenance puts it back."""
    key = "rq-" + uuid.uuid4().hex[:8]
    result = write_marker.using(queue_name=rq_queue).enqueue(str(tmp_path), key, TASK_SECONDS)
    env = _rq_env(tmp_path, rq_queue)

    first = support.rq_worker(env, tmp_path / "worker-1.log", queue=rq_queue)
    second = None
    try:
        horse = support.wait_until(
            lambda: running_pid(tmp_path, key),
            90,
            message=lambda: f"task started\n{first.output()}",
        )
        assert horse != first.pid  # RQ runs each job in a forked work horse
        os.kill(horse, signal.SIGKILL)
        first.kill()
        assert _rq_job(result.id).get_status() == "started"  # what a dead worker leaves

        second = support.rq_worker(env, tmp_path / "worker-2.log", queue=rq_queue)
        support.wait_until(
            lambda: (tmp_path / f"{key}.done").exists(),
            60,
            message=lambda: f"task finished by the second worker\n{second.output()}",
        )
        support.wait_until(
            lambda: _rq_job(result.id).get_status() == "finished", 20, message="job finished"
        )
    finally:
        first.stop()
        if second:
            second.stop()
    starts, finishes = attempts(tmp_path)
    assert len(starts) == 2, starts
    assert len(finishes) == 1 and finishes[0].endswith(" done"), finishes
    assert _rq_job(result.id).meta["masthead_recoveries"] == 1


def test_rq_work_horse_killed_mid_task_is_run_again(rq_queue, tmp_path):
    """Only the work horse dies (the kernel's out-of-memory killer picks the
    biggest process): the worker records the failure, and puts the job back
    at its next maintenance."""
    key = "horse-" + uuid.uuid4().hex[:8]
    result = write_marker.using(queue_name=rq_queue).enqueue(str(tmp_path), key, TASK_SECONDS)
    env = _rq_env(tmp_path, rq_queue)
    worker = support.rq_worker(env, tmp_path / "worker.log", queue=rq_queue)
    try:
        horse = support.wait_until(
            lambda: running_pid(tmp_path, key),
            90,
            message=lambda: f"task started\n{worker.output()}",
        )
        os.kill(horse, signal.SIGKILL)
        support.wait_until(
            lambda: (tmp_path / f"{key}.done").exists(),
            60,
            message=lambda: f"task finished after its work horse died\n{worker.output()}",
        )
        support.wait_until(
            lambda: _rq_job(result.id).get_status() == "finished", 20, message="job finished"
        )
    finally:
        worker.stop()
    starts, finishes = attempts(tmp_path)
    assert len(starts) == 2, starts
    assert len(finishes) == 1, finishes
