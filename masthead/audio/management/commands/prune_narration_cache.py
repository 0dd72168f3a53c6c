from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from masthead.audio.models import Narration, Segment
from masthead.audio.pipeline import private_storage


class Command(BaseCommand):
    help = (
        "Delete cached sentences no current narration uses and cached encoded parts, "
        "when unused for --days. Safe: anything needed again is synthesised again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days, dry_run, **options):
        cutoff = timezone.now() - timedelta(days=days)
        storage = private_storage()
        in_use = set()
        for keys in Narration.objects.values_list("segment_keys", flat=True):
            in_use.update(keys or [])
        stale = Segment.objects.filter(last_used_at__lt=cutoff).exclude(key__in=in_use)
        segments = 0
        for segment in stale.iterator():
            segments += 1
            if not dry_run:
                storage.delete(segment.file)
                segment.delete()
        parts = 0
        try:
            folders, _ = storage.listdir("audio/parts")
        except FileNotFoundError:
            folders = []
        for folder in folders:
            for name in storage.listdir(f"audio/parts/{folder}")[1]:
                path = f"audio/parts/{folder}/{name}"
                if storage.get_modified_time(path) < cutoff:
                    parts += 1
                    if not dry_run:
                        storage.delete(path)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {segments} cached sentence(s) and {parts} cached part(s).")
