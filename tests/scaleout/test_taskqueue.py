"""Putting back the tasks of dead workers (database queue), and failed tasks
in the admin with their error and a retry button."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from masthead.core import taskqueue
from tests.scaleout.tasks import fail_loudly, write_marker

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASK_WORKER_HEARTBEAT = 10
    settings.TASK_WORKER_TIMEOUT = 60


def running_task(tmp_path, *, worker_ids, started_seconds_ago):
    result = write_marker.enqueue(str(tmp_path), "k")
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING",
        worker_ids=worker_ids,
        started_at=timezone.now() - timedelta(seconds=started_seconds_ago),
    )
    return result.id


def status(task_id):
    return DBTaskResult.objects.get(pk=task_id).status


def test_a_task_of_a_dead_worker_goes_back_in_the_queue(database_queue, tmp_path):
    task_id = running_task(tmp_path, worker_ids=["gone"], started_seconds_ago=120)
    assert taskqueue.requeue_stale_db_tasks() == ([str(task_id)], [])
    assert status(task_id) == "READY"
    assert DBTaskResult.objects.ready().filter(pk=task_id).exists()


def test_a_long_task_of_a_live_worker_is_left_alone(database_queue, tmp_path):
    task_id = running_task(tmp_path, worker_ids=["alive"], started_seconds_ago=3600)
    taskqueue.beat("alive")
    assert taskqueue.requeue_stale_db_tasks() == ([], [])
    assert status(task_id) == "RUNNING"


def test_a_task_just_claimed_is_left_alone_until_the_timeout(database_queue, tmp_path):
    task_id = running_task(tmp_path, worker_ids=["quiet"], started_seconds_ago=5)
    assert taskqueue.requeue_stale_db_tasks() == ([], [])
    assert status(task_id) == "RUNNING"


def test_a_task_that_keeps_killing_its_worker_ends_as_failed(database_queue, tmp_path):
    workers = [f"w{n}" for n in range(taskqueue.MAX_RECOVERIES + 1)]
    task_id = running_task(tmp_path, worker_ids=workers, started_seconds_ago=120)
    assert taskqueue.requeue_stale_db_tasks() == ([], [str(task_id)])
    row = DBTaskResult.objects.get(pk=task_id)
    assert row.status == "FAILED"
    assert row.exception_class_path == taskqueue.WORKER_LOST
    assert "died 4 times" in row.traceback


def test_a_task_claimed_again_meanwhile_is_not_put_back(database_queue, tmp_path, monkeypatch):
    """Two recoveries at once, or a claim in between: the update only
    applies to the run that was looked at."""
    task_id = running_task(tmp_path, worker_ids=["gone"], started_seconds_ago=120)
    original = taskqueue.worker_is_alive

    def claimed_meanwhile(worker_id):
        DBTaskResult.objects.filter(pk=task_id).update(
            started_at=timezone.now(), worker_ids=["gone", "new"]
        )
        return original(worker_id)

    monkeypatch.setattr(taskqueue, "worker_is_alive", claimed_meanwhile)
    assert taskqueue.requeue_stale_db_tasks() == ([], [])
    assert status(task_id) == "RUNNING"


def test_heartbeats_expire(database_queue, settings):
    taskqueue.beat("w1")
    assert taskqueue.worker_is_alive("w1")
    taskqueue.stop_beating("w1")
    assert not taskqueue.worker_is_alive("w1")


def failed_database_task():
    from django_tasks_db.management.commands.db_worker import Worker

    result = fail_loudly.enqueue("the printer is on fire")
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=1,
        worker_id="w-test",
        excluded_queue_names=[],
    )
    row = DBTaskResult.objects.get(pk=result.id)
    row.claim(worker.worker_id)
    worker.run_task(row)
    return result.id


def test_failed_tasks_show_their_error_and_can_be_retried(database_queue, admin_client):
    task_id = failed_database_task()
    (failed,) = [task for task in taskqueue.failed_tasks() if task.id == str(task_id)]
    assert failed.backend == "database"
    assert failed.name == "fail_loudly"
    assert failed.error == "ValueError: the printer is on fire"
    assert failed.arguments == "'the printer is on fire'"

    page = admin_client.get(reverse("core_admin:failed_tasks"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ValueError: the printer is on fire" in html
    assert f'value="{task_id}"' in html

    response = admin_client.post(
        reverse("core_admin:failed_tasks"), {"backend": "database", "task": str(task_id)}
    )
    assert response.status_code == 302
    row = DBTaskResult.objects.get(pk=task_id)
    assert (row.status, row.traceback, row.worker_ids) == ("READY", "", [])
    assert not taskqueue.retry_failed_task("database", str(task_id))  # not failed any more
    assert not taskqueue.retry_failed_task("database", "not-a-uuid")


def test_failed_tasks_are_for_staff_only(database_queue, client, django_user_model):
    editor = django_user_model.objects.create_user(email="ed@example.org", password="x")
    from django.contrib.auth.models import Permission

    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    assert client.get(reverse("core_admin:failed_tasks")).status_code in (302, 403)
    admin_menu = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("core_admin:failed_tasks") not in admin_menu


def test_the_scheduler_puts_back_stale_tasks(database_queue, tmp_path):
    from django.core.management import call_command

    from masthead.core.management.commands.run_scheduler import SCHEDULE

    assert (30, "command:requeue_stale_tasks") in SCHEDULE
    task_id = running_task(tmp_path, worker_ids=["gone"], started_seconds_ago=120)
    call_command("requeue_stale_tasks")
    assert status(task_id) == "READY"


def test_scheduled_task_paths_exist():
    from django.core.management import get_commands
    from django.utils.module_loading import import_string

    from masthead.core.management.commands.run_scheduler import SCHEDULE

    for _interval, job in SCHEDULE:
        kind, _, target = job.partition(":")
        if kind == "command":
            assert target in get_commands(), target
        else:
            assert hasattr(import_string(target), "enqueue"), target


@pytest.fixture
def rq_queue(settings):
    import uuid

    from tests.scaleout import support

    if not support.redis_available():
        pytest.skip(f"no Redis at {support.redis_url()}")
    queue = "scaleout-" + uuid.uuid4().hex[:10]
    settings.RQ_QUEUES = {queue: {"URL": support.redis_url()}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [queue]}}
    settings.RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
    yield queue
    support.forget_rq_queue(queue)


def test_failed_rq_jobs_show_their_error_and_can_be_retried(rq_queue, admin_client):
    import django_rq
    from django_tasks_rq import Job
    from rq import SimpleWorker

    from masthead.core.health import check_queue

    result = fail_loudly.using(queue_name=rq_queue).enqueue("the press jammed")
    queue = django_rq.get_queue(rq_queue, job_class=Job)
    assert queue.count == 1
    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)

    (failed,) = [task for task in taskqueue.failed_tasks() if task.id == result.id]
    assert failed.backend == "rq"
    assert failed.queue == rq_queue
    assert failed.task_path == "tests.scaleout.tasks.fail_loudly"
    assert failed.error == "ValueError: the press jammed"
    assert failed.failed_at is not None
    html = admin_client.get(reverse("core_admin:failed_tasks")).content.decode()
    assert "ValueError: the press jammed" in html and "RQ on Redis" in html

    response = admin_client.post(
        reverse("core_admin:failed_tasks"), {"backend": "rq", "task": result.id}
    )
    assert response.status_code == 302
    assert queue.count == 1  # back in the queue
    assert not [task for task in taskqueue.failed_tasks() if task.id == result.id]
    assert check_queue()["backend"] == "rq"


# --- Queueing with the transaction ---------------------------------------------------


def queued_markers():
    return DBTaskResult.objects.filter(task_path__endswith="write_marker").count()


@pytest.mark.django_db(transaction=True)
def test_the_database_queue_takes_a_task_with_its_transaction(database_queue, tmp_path):
    # Committed: the task row commits with the change that asked for it.
    with transaction.atomic():
        taskqueue.enqueue_on_commit(write_marker, str(tmp_path), "kept")
        assert not transaction.get_connection().run_on_commit  # nothing left for after
    assert queued_markers() == 1
    # Rolled back: so is the task; nothing runs for a change that never was.
    with pytest.raises(RuntimeError), transaction.atomic():
        taskqueue.enqueue_on_commit(write_marker, str(tmp_path), "gone")
        raise RuntimeError("the change fails")
    assert queued_markers() == 1


@pytest.mark.django_db(transaction=True)
def test_other_backends_get_the_task_after_the_commit(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with transaction.atomic():
        taskqueue.enqueue_on_commit(write_marker, str(tmp_path), "later")
        assert not (tmp_path / "later.done").exists()  # not before the commit
    assert (tmp_path / "later.done").exists()
    with pytest.raises(RuntimeError), transaction.atomic():
        taskqueue.enqueue_on_commit(write_marker, str(tmp_path), "never")
        raise RuntimeError("the change fails")
    assert not (tmp_path / "never.done").exists()
