"""The fixed shape of a magazine's page tree: home, sections, archive."""

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


def ensure_site_tree(title="Home", hostname="localhost", port=80):
    """Make a HomePage the default site's root, with sections and an archive.

    Safe to run again: existing pages are kept.
    """
    from masthead.issues.models import IssueIndexPage

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
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()
    for title_, slug, intro in DEFAULT_SECTIONS:
        if not SectionPage.objects.filter(slug=slug).exists():
            home.add_child(
                instance=SectionPage(
                    title=title_, slug=slug, intro=intro, default_access_level=AccessLevel.PUBLIC
                )
            )
    if not IssueIndexPage.objects.exists():
        home.add_child(
            instance=IssueIndexPage(
                title="Archive", slug="issues", intro="Every issue, from the first to the latest."
            )
        )
    return home


def _create_root():
    """Wagtail's root node, for a database whose initial rows were flushed."""
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    if not Collection.objects.exists():
        Collection.add_root(name="Root")
    return Page.add_root(instance=Page(title="Root", slug="root", live=True))
