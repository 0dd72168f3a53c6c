import logging
import time
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from masthead.demo.loader import DEFAULT_ARTICLES_DIR, DemoLoadError, load_demo
from masthead.demo.parser import ArticleFormatError
from masthead.newsroom.models import ArticlePage


class Command(BaseCommand):
    help = (
        "Load the demo magazine (The Meridian Review): sections, authors, three "
        "published issues of articles with generated images, and a draft issue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--articles-dir",
            type=Path,
            default=DEFAULT_ARTICLES_DIR,
            help="Folder of article files in the demo format (default: the bundled articles).",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the database already has articles.",
        )
        mode.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo's pages, authors and images first, then load it again.",
        )

    def handle(self, *args, articles_dir, if_empty, reset, verbosity, **options):
        if if_empty and ArticlePage.objects.exists():
            self.stdout.write("The database already has articles; demo magazine not loaded.")
            return
        started = time.monotonic()
        log = self.stdout.write if verbosity >= 2 else None
        try:
            with quiet_logger("wagtail", enabled=verbosity < 2):
                summary = load_demo(articles_dir, reset=reset, log=log)
        except (ArticleFormatError, DemoLoadError) as error:
            raise CommandError(str(error))
        for warning in summary.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded the demo magazine: {summary} in {time.monotonic() - started:.1f}s."
            )
        )


@contextmanager
def quiet_logger(name, enabled=True):
    """Hold back a logger's INFO lines (Wagtail logs every page it creates)."""
    logger = logging.getLogger(name)
    level = logger.level
    if enabled:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
