from django.core.management.base import BaseCommand, CommandError

from masthead.backups.restore import RestoreRefused, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive onto an empty install: check it against its "
        "manifest, put back the database and the media, then migrate forward."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive (masthead-….tar.gz).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that already holds a magazine.",
        )

    def handle(self, *args, archive, force=False, **options):
        self.verbosity = options["verbosity"]
        try:
            summary = restore_backup(archive, force=force, progress=self._progress)
        except RestoreRefused as error:
            raise CommandError(str(error))
        manifest = summary["manifest"]
        self.stdout.write(
            f"Restored the backup of {manifest['created']}: "
            f"{sum(manifest['counts'].values())} rows in {len(manifest['counts'])} tables, "
            f"{summary['files']} files."
        )
        if summary["migrated"]:
            self.stdout.write(f"Migrated forward: {', '.join(summary['migrated'])}")
        for name in manifest["skipped"]:
            self.stdout.write(f"Not in the backup (deleted while it ran): {name}")
        for name in summary["missing"]:
            self.stderr.write(
                f"Missing from the bucket: {name}; restore it from the bucket's versions."
            )

    def _progress(self, stage):
        if self.verbosity > 1:
            self.stderr.write(stage)
