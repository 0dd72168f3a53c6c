from django.core.management.base import BaseCommand, CommandError

from masthead.exports.importer import ArchiveError, import_archive


class Command(BaseCommand):
    help = (
        "Import a Masthead export (from export_magazine) into this install, which must "
        "have no articles or readers yet. Never calls Stripe."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The zip written by export_magazine.")

    def handle(self, *args, archive, **options):
        try:
            summary = import_archive(archive, log=self.stderr.write)
        except (ArchiveError, FileNotFoundError) as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{count} {name}" for name, count in summary.counts.items())
        self.stdout.write(f"Imported {archive}: {counts}.")
