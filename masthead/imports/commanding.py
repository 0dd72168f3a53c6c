"""What every import command shares: the options, the dry run, the progress
bar in the terminal, the printed report."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from .records import ImportFormatError
from .writer import ImportOptions, plan_import, run_to_text, write_import


class ProgressBar:
    """A one-line bar on a terminal (nothing when output is not one)."""

    def __init__(self, stream, label):
        self.stream = stream
        self.label = label
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.last = 0.0

    def update(self, done, total=None):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done != total:
            return
        self.last = now
        if total:
            width = 30
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        else:
            self.stream.write(f"\r{self.label} {done} records read")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class ImportCommand(BaseCommand):
    importer = ""
    export_help = ""
    side_options: dict = {}
    images_option = ""

    def add_arguments(self, parser):
        parser.add_argument("export", help=self.export_help)
        for name, (flag, help_text) in self.side_options.items():
            parser.add_argument(flag, dest=name, default=None, help=help_text)
        parser.add_argument(
            "--dry-run", action="store_true", help="Write nothing; print what would be imported."
        )
        parser.add_argument(
            "--no-fetch",
            action="store_true",
            help="Do not fetch pictures from their URLs (only the images folder is used).",
        )
        parser.add_argument("--batch-size", type=int, default=200)
        parser.add_argument(
            "--resume",
            type=int,
            default=None,
            metavar="RUN_ID",
            help="Resume a stopped run (its id is printed when it stops).",
        )

    def handle(self, *args, **options):
        from .models import ImportRun
        from .registry import get

        importer = get(self.importer)
        side = {name: options.get(name) for name in self.side_options}
        parser = importer.parser_class()(options["export"], **side)
        import_options = ImportOptions(
            images_dir=(side.get(self.images_option) or "") if self.images_option else "",
            fetch_images=not options["no_fetch"],
            batch_size=options["batch_size"],
            local_files=True,
        )
        progress = ProgressBar(sys.stderr, "Reading")
        try:
            if options["resume"]:
                run = ImportRun.objects.filter(pk=options["resume"], importer=self.importer).first()
                if run is None:
                    raise CommandError(f"No {self.importer} import run {options['resume']}.")
            else:
                report = plan_import(parser, import_options, progress=progress.update)
                progress.close()
                if options["dry_run"]:
                    self.stdout.write(run_to_text(report))
                    return
                run = ImportRun.objects.create(
                    importer=self.importer,
                    export_path=str(options["export"]),
                    side_files={k: v for k, v in side.items() if v},
                    report=report.as_dict(),
                )
            bar = ProgressBar(sys.stderr, "Importing")
            try:
                report = write_import(parser, run, import_options, progress=bar.update)
            except ImportFormatError:
                raise
            except Exception as error:
                bar.close()
                run.refresh_from_db()
                raise CommandError(
                    f"{run_to_text(_report(run))}\nResume with --resume {run.pk}."
                ) from error
            bar.close()
        except ImportFormatError as error:
            raise CommandError(f"Nothing was imported. {error}") from error
        self.stdout.write(run_to_text(report))


def _report(run):
    from .writer import Report

    return Report.from_dict(run.report)
