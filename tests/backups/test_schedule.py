"""The nightly backup: made only when BACKUP_NIGHTLY is on, and old
archives beyond BACKUP_KEEP go."""

from masthead.backups.models import Backup
from masthead.backups.snapshot import archives
from masthead.backups.tasks import nightly_backup
from masthead.core.management.commands.run_scheduler import SCHEDULE


def test_the_scheduler_runs_the_nightly_backup_when_turned_on(transactional_db, settings, tmp_path):
    assert (24 * 3600, "task:masthead.backups.tasks.nightly_backup") in SCHEDULE
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_KEEP = 1

    settings.BACKUP_NIGHTLY = False
    nightly_backup.call()
    assert archives() == []
    assert not Backup.objects.exists()

    settings.BACKUP_NIGHTLY = True
    first = nightly_backup.call()
    assert [path.name for path in archives()] == [first]
    second = nightly_backup.call()
    assert [path.name for path in archives()] == [second]
    assert list(Backup.objects.values_list("status", "requested_by")) == [
        ("done", None),
        ("done", None),
    ]
