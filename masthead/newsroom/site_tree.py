"""The fixed shape of a magazine's page tree: home, sections, archive."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Collection, Locale, Page, Site

from .models import AccessLevel, HomePage, SectionPage

DEFAULT_SECTIONS = [
    ("Politics", "politics", "Power, policy and the people who wield them."),
    ("Finance", "finance", "Markets, money and the economy behind the headlines."),
    ("Foreign Affairs", "foreign-affairs", "Diplomacy, conflict and the world beyond our borders."),
    ("Environment", "environment", "Climate, land, water and the fight to protect them."),
    ("Culture", "culture", "Books, arts, ideas and the way we live now."),
    ("Technology", "technology", "The machines, the makers and what they change."),
]

# Callables that add the pages of apps above newsroom (issues' archive) to
# the fixed tree, given the home page; those apps append them from their
# AppConfig.ready(). Each must leave existing pages as they are.
SITE_TREE_PAGES: list[Callable[[HomePage], None]] = []


def site_address():
    """(hostname, port) of SITE_URL, the address readers use."""
    url = urlsplit(settings.SITE_URL)
    return url.hostname or "localhost", url.port or (443 if url.scheme == "https" else 80)


def ensure_site_tree(title="Home"):
    """Make a HomePage the default site's root, with sections and the pages
    of SITE_TREE_PAGES (the archive), and give the default site the address
    of SITE_URL: Wagtail builds every page's absolute URL (canonical, feeds,
    sitemaps, JSON-LD) from it.

    Safe to run again: existing pages are kept.
    """
    hostname, port = site_address()
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node() or _create_root()
        # Wagtail's placeholder welcome page makes way for the magazine.
        placeholders = list(root.get_children())
        sites = list(Site.objects.filter(root_page__in=placeholders))
        for site in sites:
            site.root_page = root
            site.save()
        for page in placeholders:
            page.delete()
        home = root.add_child(instance=HomePage(title=title, slug="home"))
        Site.objects.filter(pk__in=[site.pk for site in sites]).update(root_page=home)
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname=hostname, port=port, root_page=home, is_default_site=True, site_name=title
        )
    elif (site.root_page_id, site.hostname, site.port) != (home.pk, hostname, port):
        # Saved one by one, so Wagtail forgets its cached site root paths.
        site.root_page, site.hostname, site.port = home, hostname, port
        site.save()
    for title_, slug, intro in DEFAULT_SECTIONS:
        if not SectionPage.objects.filter(slug=slug).exists():
            home.add_child(
                instance=SectionPage(
                    title=title_, slug=slug, intro=intro, default_access_level=AccessLevel.PUBLIC
                )
            )
    for add_pages in SITE_TREE_PAGES:
        add_pages(home)
    return home


def _create_root():
    """Wagtail's root node, for a database whose initial rows were flushed."""
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if not Collection.objects.exists():
        Collection.add_root(name="Root")
    return Page.add_root(instance=Page(title="Root", slug="root", live=True))
