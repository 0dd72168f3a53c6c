from django.conf import settings
from django_tasks import task


@task()
def back_up(backup_id):
    """Make the archive of a backup asked for from the admin (a no-op for
    one already made or being made)."""
    from .actions import run_backup

    return run_backup(backup_id)


@task()
def nightly_backup():
    """The scheduler's daily backup, when BACKUP_NIGHTLY is on."""
    if not settings.BACKUP_NIGHTLY:
        return None
    from .actions import run_backup
    from .models import Backup

    return run_backup(Backup.objects.create().pk)
