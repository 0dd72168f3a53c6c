"""Crawl the site as an anonymous visitor and as a free member, from the home
page, the sitemaps, the feeds, search and the API, following every same-site
link (bounded), and look for the sentinels the gated parts carry: in HTML,
XML and JSON, in text and in attribute values, and in the URLs themselves."""

import json
import re
import xml.etree.ElementTree as ET
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.access.support import make_reader

MAX_FETCHES = 500
SAME_SITE = {"testserver", "localhost", urlsplit(settings.SITE_URL).hostname}
# Never followed: the admin (a login form), files that are not documents.
SKIP_PREFIXES = ("/admin/", "/django-admin/", "/static/", "/media/", "/documents/")
SKIP_SUFFIXES = (".mp3", ".png", ".jpg", ".jpeg", ".epub", ".pdf", ".css", ".js")
START = [
    "/",
    "/robots.txt",
    "/sitemap.xml",
    "/news-sitemap.xml",
    "/feeds/rss/",
    "/feeds/atom/",
    "/audio/podcast/free.xml",
    "/search/?q=obsidian+lighthouse",
    "/search/?q=lighthouse",
    "/search/?q=sentinel",
    "/api/articles/",
]


def same_site_path(url, base):
    absolute = urljoin(base, url.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.hostname not in SAME_SITE:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_in(content_type, text, base):
    found = []
    if "html" in content_type:
        soup = BeautifulSoup(text, "html.parser")
        for tag in soup.find_all(True):
            for attribute in ("href", "src", "action"):
                if tag.get(attribute):
                    found.append(tag[attribute])
    elif "xml" in content_type:
        root = ET.fromstring(text.encode())
        for element in root.iter():
            if element.text and element.text.strip().startswith(("http://", "https://", "/")):
                found.append(element.text)
            for attribute in ("href", "url"):
                if element.get(attribute):
                    found.append(element.get(attribute))
    elif "json" in content_type:

        def walk(value):
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str) and value.startswith(("http://", "https://", "/")):
                found.append(value)

        walk(json.loads(text))
    return found


def attribute_values(content_type, text):
    if "html" not in content_type:
        return []
    soup = BeautifulSoup(text, "html.parser")
    return [
        " ".join(value) if isinstance(value, list) else value
        for tag in soup.find_all(True)
        for value in tag.attrs.values()
    ]


def forbidden_patterns(levels, world):
    # Editions are for subscribers: their download address is not shown to
    # readers without a subscription.
    patterns = [re.compile(re.escape(reverse("editions:download", args=[world.issue.pk, "epub"])))]
    for level in levels:
        patterns.append(re.compile(rf"sentinel-(figure-)?{level}\b", re.I))
        patterns.append(
            re.compile(re.escape(reverse("audio:full", args=[world.articles[level].pk])))
        )
    return patterns


def crawl(client, world, forbidden):
    queue = deque(START)
    for article in world.articles.values():
        queue.append(f"/oembed/?url={article.full_url}")
        queue.append(f"/api/articles/{article.pk}/")
    seen, fetched = set(queue), 0
    kinds = set()
    while queue and fetched < MAX_FETCHES:
        path = queue.popleft()
        response = client.get(path)
        fetched += 1
        if response.status_code in (301, 302, 303, 307, 308):
            target = same_site_path(response["Location"], "http://testserver" + path)
            if target and target not in seen:
                seen.add(target)
                queue.append(target)
            continue
        content_type = response.get("Content-Type", "")
        if getattr(response, "streaming", False) or not content_type.startswith(
            ("text/", "application/")
        ):
            continue
        text = response.content.decode("utf-8", "replace")
        kinds.add(content_type.split(";")[0])
        for pattern in forbidden:
            assert not pattern.search(text), f"{pattern.pattern} in {path}"
            for value in attribute_values(content_type, text):
                assert not pattern.search(value), f"{pattern.pattern} in an attribute of {path}"
        for link in links_in(content_type, text, "http://testserver" + path):
            for pattern in forbidden:
                assert not pattern.search(link), f"{pattern.pattern} in a link on {path}"
            target = same_site_path(link, "http://testserver" + path)
            if (
                target
                and target not in seen
                and not target.startswith(SKIP_PREFIXES)
                and not urlsplit(target).path.endswith(SKIP_SUFFIXES)
            ):
                seen.add(target)
                queue.append(target)
    return fetched, seen, kinds


@pytest.mark.parametrize(
    "state, forbidden_levels",
    [("anonymous", ("members", "subscribers", "plans")), ("free member", ("subscribers", "plans"))],
)
def test_no_gated_text_or_media_reaches_readers_without_access(state, forbidden_levels, in_world):
    client = Client()
    user = make_reader(state, in_world)
    if user is not None:
        client.force_login(user)
    forbidden = forbidden_patterns(forbidden_levels, in_world)
    fetched, seen, kinds = crawl(client, in_world, forbidden)
    # The crawl reached every gated article, its API entry, the issue and
    # every kind of document.
    for level in forbidden_levels:
        article = in_world.articles[level]
        assert article.url in seen
        assert f"/api/articles/{article.pk}/" in seen
    assert in_world.issue.url in seen
    assert {"text/html", "application/json", "application/xml", "application/rss+xml"} <= kinds
    assert fetched > 40


def test_the_crawl_would_see_a_leak(in_world):
    """The same crawl, as a subscriber, finds the sentinels: the check works."""
    client = Client()
    client.force_login(make_reader("active", in_world))
    sentinels = [
        p for p in forbidden_patterns(("subscribers",), in_world) if "sentinel" in p.pattern
    ]
    with pytest.raises(AssertionError, match="sentinel-"):
        crawl(client, in_world, sentinels)
