from django.conf import settings
from django.core.management.base import BaseCommand

from masthead.newsroom.site_tree import ensure_site_tree


class Command(BaseCommand):
    help = (
        "Make sure the magazine's page tree exists and that the default Wagtail site "
        "has the address of SITE_URL, from which absolute URLs are built. Run it after "
        "changing SITE_URL; existing pages are kept."
    )

    def handle(self, *args, **options):
        ensure_site_tree()
        self.stdout.write(f"The site answers at {settings.SITE_URL}.")
