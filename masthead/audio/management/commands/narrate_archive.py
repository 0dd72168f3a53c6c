import os
import sys

from django.core.management.base import BaseCommand, CommandError

from masthead.audio.archive import narrate_all
from masthead.audio.engines import EngineUnavailable, engine_class
from masthead.newsroom.models import ArticlePage


class Command(BaseCommand):
    help = (
        "Narrate every live article that has no narration of its live revision, with "
        "one worker process per core. Safe to stop and run again: it resumes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="Worker processes, each with one synthesis thread (default: one per core).",
        )
        parser.add_argument(
            "--engine", default=None, help="Engine to use (default: settings.NARRATION_ENGINE)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Narrate articles that are up to date too."
        )
        parser.add_argument(
            "--article", type=int, action="append", help="Only this article id (repeatable)."
        )

    def handle(self, *args, workers, engine, force, article, verbosity, **options):
        from django.conf import settings

        name = engine or settings.NARRATION_ENGINE
        try:
            engine_class(name)().check()
        except EngineUnavailable as error:
            raise CommandError(str(error))
        articles = ArticlePage.objects.live().order_by("-date")
        if article:
            articles = articles.filter(pk__in=article)
        self._tty = sys.stderr.isatty()
        self._last = None
        stats = narrate_all(
            list(articles),
            workers_count=workers,
            engine_name=name,
            force=force,
            progress=self._progress if verbosity else None,
        )
        if self._tty and verbosity:
            self.stderr.write("")
        for failure in stats.errors:
            self.stderr.write(self.style.ERROR(f"Failed: {failure}"))
        minutes = stats.audio_seconds / 60
        self.stdout.write(
            self.style.SUCCESS(
                f"Narrated {stats.narrated} article(s), skipped {stats.skipped} up to date, "
                f"{stats.failed} failed: {minutes:.1f} min of audio in "
                f"{stats.wall_seconds:.1f}s ({stats.real_time_factor:.1f}x real time, "
                f"{stats.segments_synthesised} sentences synthesised, {workers} worker(s))."
            )
        )

    def _progress(self, stats):
        total = max(1, stats.articles)
        done = stats.narrated + stats.skipped + stats.failed
        width = 30
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {done}/{total} articles, {stats.audio_seconds / 60:.1f} min of audio, "
            f"{stats.real_time_factor:.1f}x real time"
        )
        if line == self._last:
            return
        self._last = line
        if self._tty:
            self.stderr.write("\r" + line, ending="")
            self.stderr.flush()
        else:
            self.stderr.write(line)
