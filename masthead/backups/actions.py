"""Backups asked for from the admin or the schedule, and running one."""

import logging

from django.db import transaction
from django.utils import timezone

from masthead.core.taskqueue import enqueue_on_commit

from .models import Backup
from .snapshot import make_backup, prune_backups

logger = logging.getLogger(__name__)


def request_backup(user=None):
    """Record a backup asked for by `user` (None: the schedule) and queue it."""
    from .tasks import back_up

    with transaction.atomic():
        backup = Backup.objects.create(requested_by=user)
        enqueue_on_commit(back_up, backup.pk)
    return backup


def run_backup(backup_id):
    """Make the archive of a queued backup, then prune the old ones. A
    backup already claimed by another run is left alone."""
    claimed = Backup.objects.filter(pk=backup_id, status=Backup.Status.QUEUED).update(
        status=Backup.Status.RUNNING, started_at=timezone.now(), stage="Starting"
    )
    if not claimed:
        return None
    rows = Backup.objects.filter(pk=backup_id)
    try:
        path = make_backup(progress=lambda stage: rows.update(stage=stage[:200]))
    except Exception as error:
        logger.exception("Backup %s failed", backup_id)
        rows.update(
            status=Backup.Status.FAILED, finished_at=timezone.now(), stage="", error=str(error)
        )
        return None
    rows.update(
        status=Backup.Status.DONE,
        finished_at=timezone.now(),
        stage="",
        archive=path.name,
        size=path.stat().st_size,
    )
    prune_backups(path.parent)
    return path.name
