"""Who gets what: every reader state × every surface × every access level.

The readers are made with billing's models directly (see support.py); the
content is one article per level, each with a sentinel sentence, a figure
and a narration behind its teaser break, in an issue with an EPUB.
"""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.access.support import (
    LEVELS,
    SENTINEL,
    STATES,
    document_bytes,
    gated_attachments,
    gated_sentence,
    gets_editions,
    gets_issue_announcements,
    make_reader,
    reads_in_full,
    sees_ads,
    teaser_sentence,
)

SURFACES = (
    "article page",
    "print view",
    "rss",
    "atom",
    "sitemaps",
    "search",
    "api list",
    "api detail",
    "oembed",
    "meta, open graph and json-ld",
    "audio teaser",
    "audio full",
    "edition download",
    "issue audio",
    "gated attachments",
    "stored media files",
    "newsletter",
    "newsletter article mailing",
    "ads",
)
ATOM = "{http://www.w3.org/2005/Atom}"


def paywall_reason(state, level):
    if state == "anonymous":
        return "sign-in-required"
    if level == "plans":
        return "plan-required"
    if state == "metered, over the limit":
        return "meter-spent"
    return "subscription-required"


def no_sentinel(text):
    assert SENTINEL not in text.lower()


def print_hidden_selectors():
    """The selectors print.css (and masthead.css's print rules) hide."""
    css = (Path(settings.BASE_DIR) / "static/css/print.css").read_text()
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none", css).group(1)
    return [selector.strip() for selector in hidden.split(",") if selector.strip()]


@pytest.fixture
def reader(request, in_world):
    state = request.node.callspec.params["state"]
    user = make_reader(state, in_world)
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _no_edition_builds(monkeypatch):
    monkeypatch.setattr("masthead.editions.views.schedule_edition_builds", lambda issue: None)


def check_article_page(client, world, article, state, level, full):
    response = client.get(article.url)
    assert response.status_code == 200
    html = response.content.decode()
    soup = BeautifulSoup(html, "html.parser")
    assert teaser_sentence(level) in html
    full_audio = reverse("audio:full", args=[article.pk])
    if full:
        assert gated_sentence(level) in html
        figure, report = gated_attachments(article)
        # The gated figure, through the view that asks the rule, and the report.
        assert reverse("access:gated_image", args=[article.pk, figure.pk, "width-900"]) in html
        assert report.url in html
        assert full_audio in html
        assert soup.select_one(".paywall") is None
    else:
        no_sentinel(html)
        assert full_audio not in html
        assert reverse("audio:teaser", args=[article.pk]) in html
        paywall = soup.select_one(".paywall")
        assert paywall["data-paywall"] == paywall_reason(state, level)
        sign_in = paywall.find("a", string="Sign in")
        assert (sign_in is not None) is (state == "anonymous")
        if level != "members":
            prices = paywall.select_one(".paywall__plans").get_text(" ", strip=True)
            assert "$14.00 a month" in prices  # Digital + Print, from billing's prices
            if level == "plans":
                assert "Digital + Print" in prices and "$8.00" not in prices
            else:
                assert "$8.00 a month" in prices
            assert paywall.find("a", string="Subscribe") or paywall.find(
                "a", string="See the plans"
            )
    if level == "public":
        assert soup.select_one(".paywalled") is None
    else:
        # The element JSON-LD's hasPart names: the gated part, or the paywall in its place.
        [wrapper] = soup.select(".paywalled")
        assert (gated_sentence(level) in wrapper.get_text()) is full
    meter_note = soup.select_one(".meter-note")
    metered_read = state == "metered, within the limit" and level == "subscribers"
    assert (meter_note is not None) is metered_read


def check_print_view(client, world, article, state, level, full):
    soup = BeautifulSoup(client.get(article.url).content, "html.parser")
    [stylesheet] = soup.select('link[rel="stylesheet"][media="print"]')
    assert stylesheet["href"].endswith("/css/print.css")
    for selector in print_hidden_selectors():
        for element in soup.select(selector):
            element.decompose()
    printed = soup.get_text(" ", strip=True)
    assert teaser_sentence(level) in printed
    assert (gated_sentence(level) in printed) is full
    assert "Advertisement" not in printed and "Subscribe to keep reading" not in printed
    if not full:
        no_sentinel(str(soup))


def check_rss(client, world, article, state, level, full):
    response = client.get("/feeds/rss/")
    no_sentinel(response.content.decode())
    root = ET.fromstring(response.content)
    [item] = [i for i in root.iter("item") if i.findtext("title") == article.title]
    assert item.findtext("description") == article.dek


def check_atom(client, world, article, state, level, full):
    response = client.get(f"/feeds/sections/{article.section.slug}/atom/")
    no_sentinel(response.content.decode())
    root = ET.fromstring(response.content)
    [entry] = [e for e in root.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == article.title]
    assert entry.findtext(f"{ATOM}summary") == article.dek


def check_sitemaps(client, world, article, state, level, full):
    sitemap = client.get("/sitemap.xml").content.decode()
    no_sentinel(sitemap)
    assert article.full_url in sitemap
    no_sentinel(client.get("/news-sitemap.xml").content.decode())


def search_titles(client, words):
    response = client.get("/search/", {"q": words})
    assert response.status_code == 200
    html = response.content.decode()
    soup = BeautifulSoup(html, "html.parser")
    # The page repeats the query; what it found must not show gated words.
    shown = html if SENTINEL not in words.lower() else str(soup.select(".search-results"))
    no_sentinel(shown)
    assert "keeps" not in shown
    return {result.find("h2").get_text() for result in soup.select(".search-results li")}


def check_search(client, world, article, state, level, full):
    # Words only the gated sentence holds find the article for the readers
    # `decide` grants it to, and for no one else; a metered member has not
    # spent a free read on it by searching. The teaser's words find it for
    # everyone. No result shows gated text.
    granted = full and not (state == "metered, within the limit" and level == "subscribers")
    assert (article.title in search_titles(client, "obsidian lighthouse")) is granted
    assert (article.title in search_titles(client, f"SENTINEL-{level}")) is granted
    assert article.title in search_titles(client, f"{level} story opens")
    assert article.title in search_titles(client, "Rosa Quill")


def check_api_list(client, world, article, state, level, full):
    response = client.get("/api/articles/")
    assert response.status_code == 200
    no_sentinel(response.content.decode())
    [item] = [i for i in response.json()["results"] if i["id"] == article.pk]
    assert item["dek"] == article.dek and "body" not in item
    assert item["access_level"] == level


def check_api_detail(client, world, article, state, level, full):
    response = client.get(f"/api/articles/{article.pk}/")
    assert response.status_code == 200
    data = response.json()
    body = " ".join(block["html"] for block in data["body"])
    assert teaser_sentence(level) in body
    assert data["complete"] is full and data["access"]["granted"] is full
    if full:
        assert gated_sentence(level) in body
    else:
        no_sentinel(response.content.decode())
        assert data["access"]["reason"] == paywall_reason(state, level)
    if state != "anonymous" and level != "public":
        assert "private" in response["Cache-Control"], (
            response.status_code,
            response.get("Content-Type"),
            response.content[:300] if not response.streaming else "stream",
        )


def check_oembed(client, world, article, state, level, full):
    response = client.get("/oembed/", {"url": article.full_url, "format": "json"})
    assert response.status_code == 200
    data = response.json()
    no_sentinel(response.content.decode())
    assert teaser_sentence(level) in data["html"]
    assert (data["title"], data["author_name"], data["type"]) == (
        article.title,
        "Rosa Quill",
        "rich",
    )
    assert data["thumbnail_url"].startswith("http://testserver/media/images/")


def check_meta(client, world, article, state, level, full):
    soup = BeautifulSoup(client.get(article.url).content, "html.parser")
    meta = {
        (tag.get("name") or tag.get("property")): tag.get("content", "")
        for tag in soup.find_all("meta")
        if tag.get("name") or tag.get("property")
    }
    for key in ("description", "og:description", "twitter:description"):
        assert meta[key] == article.dek
    for value in meta.values():
        no_sentinel(value)
    [script] = soup.find_all("script", type="application/ld+json")
    no_sentinel(script.string)
    data = json.loads(script.string)
    assert "articleBody" not in data
    if level == "public":
        assert "isAccessibleForFree" not in data and "hasPart" not in data
    else:
        assert data["isAccessibleForFree"] is False
        assert data["hasPart"] == {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": ".paywalled",
        }
        assert len(soup.select(data["hasPart"]["cssSelector"])) == 1


def check_audio_teaser(client, world, article, state, level, full):
    response = client.get(reverse("audio:teaser", args=[article.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"ID3 teaser narration"


def check_audio_full(client, world, article, state, level, full):
    client.get(article.url)  # the player is on the page: a metered read is spent there
    response = client.get(reverse("audio:full", args=[article.pk]))
    if full:
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"ID3 full narration"
    else:
        assert response.status_code == 403


def check_edition_download(client, world, article, state, level, full):
    response = client.get(reverse("editions:download", args=[world.issue.pk, "epub"]))
    if gets_editions(state):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"PK edition of the issue"
    else:
        assert response.status_code == 403
    issue_page = client.get(world.issue.url).content.decode()
    no_sentinel(issue_page)
    assert (reverse("editions:download", args=[world.issue.pk, "epub"]) in issue_page) is (
        gets_editions(state)
    )


def check_issue_audio(client, world, article, state, level, full):
    """The issue's audio episode, and its player on the issue page: for
    readers the rule grants the issue, as its editions are."""
    url = reverse("audio:issue", args=[world.issue.pk])
    response = client.get(url)
    assert "private" in response["Cache-Control"] or response.status_code == 403
    if gets_editions(state):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"ID3 the issue's episode"
    else:
        assert response.status_code == 403
    issue_page = client.get(world.issue.url).content.decode()
    assert (url in issue_page) is gets_editions(state)
    # An issue the reader did not buy stays a subscriber's.
    other = client.get(reverse("audio:issue", args=[world.other_issue.pk]))
    assert other.status_code == 404  # it has no episode: nothing to give away either way


def check_gated_attachments(client, world, article, state, level, full):
    client.get(article.url)  # a metered read is spent on the page
    figure, report = gated_attachments(article)
    picture = client.get(reverse("access:gated_image", args=[article.pk, figure.pk, "width-900"]))
    document = client.get(report.url)
    for response in (picture, document):
        assert "private" in response["Cache-Control"], (
            response.status_code,
            response.get("Content-Type"),
            response.content[:300] if not response.streaming else "stream",
        )
    if full:
        assert picture.status_code == 200 and picture["Content-Type"] == "image/jpeg"
        assert b"".join(picture.streaming_content)[:2] == b"\xff\xd8"
        assert document.status_code == 200
        assert b"".join(document.streaming_content) == document_bytes(report.title)
    else:
        assert picture.status_code == document.status_code == 403
        no_sentinel(picture.content.decode() + document.content.decode())
    # Neither file is anywhere under the public media.
    public = [path.name for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert not any("sentinel-report" in name for name in public)
    assert not any(name.startswith("sentinel-figure") and "width-900" in name for name in public)


def check_stored_media_files(client, world, article, state, level, full):
    """Every file under the public media, fetched at its /media/ address:
    the figure of a gated part is never among them, and its own address
    asks the rule."""
    client.get(article.url)  # a metered read is spent on the page
    figure, _report = gated_attachments(article)
    root = Path(settings.MEDIA_ROOT)
    public = [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
    assert public
    for name in public:
        assert client.get(f"/media/{name}").status_code == 200, name
    shown = [name for name in public if Path(name).name.startswith(f"sentinel-figure-{level}")]
    private_file = client.get(figure.file.url)
    if level == "public":
        assert shown and private_file.status_code == 200
        return
    assert shown == []
    assert client.get(f"/media/original_images/sentinel-figure-{level}.jpg").status_code == 404
    assert private_file.status_code == (200 if full else 403)
    assert "private" in private_file["Cache-Control"]


def check_newsletter(client, world, article, state, level, full):
    """The new-issue email: to readers the rule grants the issue, with
    titles, deks and links, never gated text."""
    from types import SimpleNamespace

    from django.core import mail
    from django.test import TestCase

    from masthead.mailings.actions import announce_issue

    with TestCase.captureOnCommitCallbacks(execute=True):
        announce_issue(SimpleNamespace(issue_id=world.issue.pk))
    assert len(mail.outbox) == (1 if gets_issue_announcements(state) else 0)
    for message in mail.outbox:
        texts = [message.body, *(content for content, _type in message.alternatives)]
        for text in texts:
            no_sentinel(text)
        assert article.title in message.body and article.url in message.body


def check_newsletter_article_mailing(client, world, article, state, level, full):
    """An article sent as a newsletter: the reader's email holds what the
    rule grants them, the teaser and a subscribe link otherwise."""
    from django.contrib.auth import get_user_model
    from django.core import mail
    from django.test import TestCase

    from masthead.mailings import actions
    from masthead.mailings.models import Mailing, Newsletter, NewsletterSubscription

    letter = Newsletter.objects.create(name="Letter", slug="matrix-letter")
    mailing = Mailing.objects.create(newsletter=letter, subject="Read this", article=article)
    email = f"{state.replace(' ', '-').replace(',', '')}@example.org"
    readers = get_user_model().objects.filter(
        email=email
    )  # this state's reader (none if anonymous)
    for member in readers:
        actions.set_newsletter_consent(member, letter, True, NewsletterSubscription.Source.ADMIN)
    mail.outbox = []
    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.start_mailing(mailing)
    assert len(mail.outbox) == readers.count()
    if state.startswith("metered"):
        # An email spends no free read: a metered reader gets the teaser.
        full = level == "public" or level == "members"
    for message in mail.outbox:
        texts = [message.body, *(content for content, _type in message.alternatives)]
        for text in texts:
            assert teaser_sentence(level) in text
            if full:
                assert gated_sentence(level) in text
            else:
                no_sentinel(text)
                assert "Subscribe to read it all" in text


def check_ads(client, world, article, state, level, full):
    html = client.get(article.url).content.decode()
    section = client.get(article.section.url).content.decode()
    shown = sees_ads(state)
    assert ("ad-slot" in html) is shown
    assert ('data-ad="' in html) is shown
    assert ("Sponsored by a trusted partner" in html) is shown
    assert ("https://example.org/offer" in html) is shown
    assert ("Section sponsor" in section) is shown


CHECKS = {
    "article page": check_article_page,
    "print view": check_print_view,
    "rss": check_rss,
    "atom": check_atom,
    "sitemaps": check_sitemaps,
    "search": check_search,
    "api list": check_api_list,
    "api detail": check_api_detail,
    "oembed": check_oembed,
    "meta, open graph and json-ld": check_meta,
    "audio teaser": check_audio_teaser,
    "audio full": check_audio_full,
    "edition download": check_edition_download,
    "issue audio": check_issue_audio,
    "gated attachments": check_gated_attachments,
    "stored media files": check_stored_media_files,
    "newsletter": check_newsletter,
    "newsletter article mailing": check_newsletter_article_mailing,
    "ads": check_ads,
}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("state", STATES)
def test_who_gets_what(state, surface, level, reader, in_world):
    article = in_world.articles[level]
    CHECKS[surface](reader, in_world, article, state, level, reads_in_full(state, level))


# Readers let in by an institution's IP range ------------------------------------------

# (kind of institutional reader, the institution's plan, whether its access runs)
INSTITUTIONAL = {
    "in a range, institution on the chosen plan": ("digital-print", True),
    "in a range, institution on another plan": ("digital", True),
    "in a range, institution's contract ended": ("digital-print", False),
}
INSTITUTION_SURFACES = ("article page", "audio full", "edition download", "issue audio")


def institution_reads_in_full(kind, level):
    plan, runs = INSTITUTIONAL[kind]
    if level == "public":
        return True
    return runs and (level != "plans" or plan == "digital-print")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("surface", INSTITUTION_SURFACES)
@pytest.mark.parametrize("kind", list(INSTITUTIONAL))
def test_who_gets_what_by_ip_range(kind, surface, level, in_world):
    from datetime import timedelta

    from django.utils import timezone

    from masthead.billing.models import Organisation, OrganisationNetwork

    plan, runs = INSTITUTIONAL[kind]
    today = timezone.localdate()
    library = Organisation.objects.create(
        name="City Library",
        plan=in_world.plans[plan],
        contract_starts=today - timedelta(days=60),
        contract_ends=today + (timedelta(days=30) if runs else -timedelta(days=1)),
    )
    OrganisationNetwork.objects.create(organisation=library, cidr="2001:db8:42::/48")
    client = Client(REMOTE_ADDR="2001:db8:42::7")
    article = in_world.articles[level]
    full = institution_reads_in_full(kind, level)
    # An institution's reader is not signed in: without access, the paywall
    # of an anonymous reader.
    if surface in ("article page", "audio full"):
        CHECKS[surface](client, in_world, article, "anonymous", level, full)
        if surface == "article page":
            html = client.get(article.url).content.decode()
            assert ("Access provided by City Library" in html) is runs
        return
    # The issue's editions and audio: what any subscriber gets.
    gets_issue = runs
    if surface == "edition download":
        response = client.get(reverse("editions:download", args=[in_world.issue.pk, "epub"]))
        expected = b"PK edition of the issue"
    else:
        response = client.get(reverse("audio:issue", args=[in_world.issue.pk]))
        expected = b"ID3 the issue's episode"
    if gets_issue:
        assert response.status_code == 200
        assert "private" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == expected
    else:
        assert response.status_code == 403
