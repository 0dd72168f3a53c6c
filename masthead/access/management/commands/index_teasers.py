from typing import Any

from django.core.management.base import BaseCommand

from masthead.access.search import refresh_teaser
from masthead.newsroom.models import ArticlePage


class Command(BaseCommand):
    help = (
        "Index the teaser of every live article, which search reads for readers "
        "without access. Publishing keeps it current; run this once after upgrading "
        "to a release that adds it, or after changing how teasers are cut."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        articles = ArticlePage.objects.live()
        count = 0
        for article in articles.iterator(chunk_size=200):
            refresh_teaser(article)
            count += 1
        self.stdout.write(f"Indexed {count} teasers.")
