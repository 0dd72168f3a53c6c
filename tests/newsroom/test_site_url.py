"""Every absolute URL the site hands out starts with SITE_URL: the default
Wagtail site follows it (`ensure_site_tree`), so page URLs built from the
site record agree with those built from the request."""

import re
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from wagtail.models import Site

from masthead.newsroom.site_tree import ensure_site_tree

pytestmark = pytest.mark.django_db

SITE_URL = "https://magazine.example"
ABSOLUTE = re.compile(r"https?://[^\s\"'<>)\\]+")
# Addresses of others: XML namespaces, schema.org, links inside articles.
ELSEWHERE = (
    "http://www.w3.org/",
    "http://www.sitemaps.org/",
    "http://www.google.com/schemas/",
    "http://www.itunes.com/",
    "https://podcastindex.org/",
    "http://purl.org/",
    "https://schema.org",
    "http://ogp.me/",
    "https://ogp.me/",
    "https://example.org/",
    "https://oembed.com/",
)


@pytest.fixture
def site(magazine, settings):
    """The magazine, moved to SITE_URL after it was built at the default."""
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "magazine.example"]
    ensure_site_tree()
    return magazine


def reader_client(user=None):
    client = Client(HTTP_HOST="magazine.example")
    if user is not None:
        client.force_login(user)
    return client


def absolute_urls(client, path):
    response = client.get(path, secure=True)
    assert response.status_code == 200, path
    text = response.content.decode()
    return [url for url in ABSOLUTE.findall(text) if not url.startswith(ELSEWHERE)]


def test_the_default_site_follows_site_url(site):
    default = Site.objects.get(is_default_site=True)
    assert (default.hostname, default.port) == ("magazine.example", 443)
    assert default.root_url == SITE_URL
    assert site["free"].get_full_url().startswith(SITE_URL + "/")


def test_the_command_moves_the_site(site, settings):
    from django.core.management import call_command

    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("ensure_site_tree")
    assert Site.objects.get(is_default_site=True).root_url == "http://127.0.0.1:8000"


@pytest.fixture
def narrated(site, settings):
    """The magazine's articles narrated (by the fast tone engine) and its
    current issue's episode built, with chapters."""
    from masthead.audio import engines
    from masthead.audio.actions import build_episode, narrate_revision
    from tests.audio.fakes import ToneEngine

    settings.NARRATION_ENGINE = "tests.audio.fakes.ToneEngine"
    engines._loaded.pop(settings.NARRATION_ENGINE, None)
    ToneEngine.calls = []
    for article in (site["free"], site["gated"]):
        narrate_revision(article.pk, article.live_revision_id)
    build_episode(site["issue"])
    yield site
    engines._loaded.pop(settings.NARRATION_ENGINE, None)


def test_every_absolute_url_starts_with_site_url(narrated):
    from masthead.audio.actions import rotate_podcast_token
    from masthead.billing.models import Subscription
    from tests.access.support import _subscription, ensure_plans

    site = narrated
    free, gated = site["free"], site["gated"]
    subscriber = get_user_model().objects.create_user(email="reader@example.org", password="x")
    _subscription(subscriber, ensure_plans()["digital"], Subscription.Status.COMPLIMENTARY)
    token = rotate_podcast_token(subscriber)
    author = site["authors"][0]
    pages = [
        "/",
        "/politics/",
        free.url,
        gated.url,
        site["issue"].url,
        "/issues/",
        "/authors/",
        author.get_absolute_url(),
        "/search/?q=bond",
        "/feeds/rss/",
        "/feeds/atom/",
        "/feeds/sections/politics/rss/",
        "/feeds/sections/finance/atom/",
        f"/feeds/authors/{author.slug}/rss/",
        "/audio/podcast/free.xml",
        f"/audio/podcast/feed/{token}.xml",
        "/sitemap.xml",
        "/news-sitemap.xml",
        "/robots.txt",
        "/api/articles/",
        f"/api/articles/{free.pk}/",
        f"/oembed/?url={quote(SITE_URL + free.url)}",
    ]
    seen = {}
    for user in (None, subscriber):
        client = reader_client(user)
        for path in pages:
            for url in absolute_urls(client, path):
                seen.setdefault(url, path)
        # The private feed's chapter lists, for its issue episodes.
        for url in list(seen):
            if "/podcast/chapters/" in url:
                for inner in absolute_urls(client, url.removeprefix(SITE_URL)):
                    seen.setdefault(inner, url)
    elsewhere = {url: path for url, path in seen.items() if not url.startswith(SITE_URL + "/")}
    assert elsewhere == {}
    # Each kind of address was there to be checked.
    kinds = ("/politics/", "/feeds/", "/sitemap.xml", "/media/", "/authors/", "/podcast/chapters/")
    for kind in kinds:
        assert any(kind in url for url in seen), kind
