from django.core.management.base import BaseCommand, CommandError

from masthead.backups.snapshot import BackupFailed, make_backup, prune_backups


class Command(BaseCommand):
    help = (
        "Back up the database and the media into one archive, while the site runs; "
        "then delete the archives beyond BACKUP_KEEP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", help="Folder for the archive (default: BACKUP_DIR).")
        parser.add_argument(
            "--keep-all", action="store_true", help="Delete no older archive this time."
        )

    def handle(self, *args, to=None, keep_all=False, **options):
        self.verbosity = options["verbosity"]
        try:
            path = make_backup(to, progress=self._progress)
        except BackupFailed as error:
            raise CommandError(str(error))
        self.stdout.write(f"Backed up into {path}")
        if not keep_all:
            for old in prune_backups(path.parent):
                self.stdout.write(f"Deleted the old backup {old.name}")

    def _progress(self, stage):
        if self.verbosity > 1:
            self.stderr.write(stage)
