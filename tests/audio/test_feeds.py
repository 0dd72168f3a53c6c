"""Podcast feeds: Apple's required fields, private feeds, token rotation, 410.

Subscribers come from patching billing's `current_entitlement` (the
`subscriber` fixture) until billing lands.
"""

import hashlib
import io
import json
import struct
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import pytest
from defusedxml import ElementTree
from django.urls import reverse
from PIL import Image

from masthead.audio import mastering
from masthead.audio.actions import build_episode, narrate_revision, rotate_podcast_token
from masthead.audio.models import IssueEpisode, Narration, PodcastFeedToken
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, make_issue, paragraph

pytestmark = pytest.mark.django_db

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"


@pytest.fixture
def catalogue(site_tree, tone_engine):
    section = SectionPage.objects.get(slug="politics")
    body = [paragraph("<p>One.</p>"), paragraph("<p>Two.</p>"), paragraph("<p>Three.</p>")]
    free = make_article(image=False, section=section, title="Free to hear", body=body)
    gated = make_article(
        image=False, section=section, title="For subscribers", body=body, access_level="subscribers"
    )
    silent = make_article(image=False, section=section, title="Not narrated yet", body=body)
    for article in (free, gated):
        narrate_revision(article.pk, article.live_revision_id)
    issue = make_issue([free, gated], number=30)
    episode = build_episode(issue)
    return {"free": free, "gated": gated, "silent": silent, "issue": issue, "episode": episode}


def parse(response):
    assert response["Content-Type"].startswith("application/rss+xml")
    return ElementTree.fromstring(response.content)


def get_body(client, url, **headers):
    response = client.get(url, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def check_apple_channel(channel, client):
    assert channel.findtext("title")
    assert channel.findtext("description")
    assert channel.findtext("language") == "en-us"
    assert channel.findtext(f"{ITUNES}explicit") == "false"
    category = channel.find(f"{ITUNES}category")
    assert category.get("text") == "News"
    assert category.find(f"{ITUNES}category").get("text") == "News Commentary"
    assert channel.findtext(f"{ITUNES}author")
    image_url = channel.find(f"{ITUNES}image").get("href")
    artwork = client.get(urlparse(image_url).path)
    assert artwork.status_code == 200 and artwork["Content-Type"] == "image/png"
    width, height = Image.open(io.BytesIO(artwork.content)).size
    assert width == height and 1400 <= width <= 3000


def check_apple_item(item):
    assert item.findtext("title")
    assert item.findtext("description")
    guid = item.find("guid")
    assert guid.text and guid.get("isPermaLink") == "false"
    assert parsedate_to_datetime(item.findtext("pubDate"))
    assert int(item.findtext(f"{ITUNES}duration")) > 0
    assert item.findtext(f"{ITUNES}explicit") == "false"
    enclosure = item.find("enclosure")
    assert enclosure.get("type") == "audio/mpeg"
    assert int(enclosure.get("length")) > 0
    return enclosure


def test_public_feed_has_free_narrations_only(client, catalogue):
    response = client.get(reverse("audio:public_feed"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    root = parse(response)
    channel = root.find("channel")
    check_apple_channel(channel, client)
    assert channel.find(f"{ITUNES}block") is None
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Free to hear"]
    enclosure = check_apple_item(items[0])
    narration = Narration.objects.get(article=catalogue["free"])
    assert int(enclosure.get("length")) == narration.audio_size
    # The enclosure is the public audio URL, fetched without cookies.
    audio, body = get_body(client, urlparse(enclosure.get("url")).path)
    assert audio.status_code == 200 and len(body) == narration.audio_size
    # Guids are stable from one fetch to the next.
    again = parse(client.get(reverse("audio:public_feed")))
    assert again.find("channel/item/guid").text == items[0].findtext("guid")


def feed_url_for(client, user):
    client.force_login(user)
    response = client.post(reverse("audio:podcast_feed"))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index("/audio/podcast/feed/")
    path = html[start : html.index(".xml", start) + 4]
    client.logout()
    return path


def test_private_feed_carries_every_readable_article_and_the_issue(client, catalogue, subscriber):
    path = feed_url_for(client, subscriber)
    response = client.get(path)
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Cache-Control"].startswith("private")
    channel = parse(response).find("channel")
    check_apple_channel(channel, client)
    assert channel.findtext(f"{ITUNES}block") == "Yes"
    items = {item.findtext("title"): item for item in channel.findall("item")}
    issue = catalogue["issue"]
    episode_title = f"{issue.title} ({issue.label}): the whole issue"
    assert set(items) == {"Free to hear", "For subscribers", episode_title}
    for title, item in items.items():
        enclosure = check_apple_item(item)
        # Podcast apps have no cookies: the signed enclosure URL is enough.
        audio, body = get_body(client, urlparse(enclosure.get("url")).path)
        assert audio.status_code == 200, title
        assert len(body) == int(enclosure.get("length"))
        assert audio["X-Robots-Tag"] == "noindex"
        ranged, part = get_body(client, urlparse(enclosure.get("url")).path, HTTP_RANGE="bytes=0-9")
        assert ranged.status_code == 206 and len(part) == 10
    chapters_url = items[episode_title].find(f"{PODCAST}chapters").get("url")
    chapters = json.loads(client.get(urlparse(chapters_url).path).content)
    assert [c["title"] for c in chapters["chapters"]] == ["Free to hear", "For subscribers"]
    assert chapters["chapters"][0]["startTime"] == 0


def test_issue_episode_joins_narrations_with_id3_chapters(catalogue):
    from django.core.files.storage import storages

    episode = IssueEpisode.objects.get(issue=catalogue["issue"])
    data = storages["private"].open(episode.audio_file).read()
    narrations = [Narration.objects.get(article=catalogue[k]) for k in ("free", "gated")]
    assert episode.duration == pytest.approx(sum(n.duration for n in narrations), abs=0.01)
    assert mastering.duration(data) == pytest.approx(episode.duration, abs=0.01)
    chapters = read_id3_chapters(data)
    assert [c[2] for c in chapters] == ["Free to hear", "For subscribers"]
    assert chapters[0][0] == 0
    assert chapters[1][0] == pytest.approx(narrations[0].duration * 1000, abs=2)
    assert chapters[1][1] == pytest.approx(episode.duration * 1000, abs=2)
    # Built again only when a narration changes.
    assert build_episode(catalogue["issue"]).audio_file == episode.audio_file


def read_id3_chapters(data):
    """[(start ms, end ms, title)] from ID3v2.3 CHAP frames."""
    assert data[:3] == b"ID3" and data[3] == 3
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    position, end, chapters = 10, 10 + size, []
    has_toc = False
    while position + 10 <= end:
        frame_id = data[position : position + 4].decode()
        length = struct.unpack(">I", data[position + 4 : position + 8])[0]
        body = data[position + 10 : position + 10 + length]
        if frame_id == "CTOC":
            has_toc = True
        if frame_id == "CHAP":
            element_end = body.index(b"\x00")
            start, stop = struct.unpack(">II", body[element_end + 1 : element_end + 9])
            sub = body[element_end + 17 :]
            assert sub[:4] == b"TIT2"
            text = sub[10 : 10 + struct.unpack(">I", sub[4:8])[0]]
            title = text[1:].decode("utf-16").rstrip("\x00")
            chapters.append((start, stop, title))
        position += 10 + length
    assert has_toc
    return chapters


def test_feed_token_is_long_random_and_stored_hashed(subscriber):
    token = rotate_podcast_token(subscriber)
    assert len(token) >= 22  # 128 bits or more, base64
    row = PodcastFeedToken.objects.get(user=subscriber, revoked_at__isnull=True)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash


def test_rotating_the_token_kills_the_old_feed_and_its_enclosures(client, catalogue, subscriber):
    old_path = feed_url_for(client, subscriber)
    old_feed = parse(client.get(old_path))
    old_enclosure = urlparse(old_feed.find("channel/item/enclosure").get("url")).path
    new_path = feed_url_for(client, subscriber)
    assert new_path != old_path
    assert client.get(old_path).status_code == 410
    assert client.get(old_enclosure).status_code == 410
    assert client.get(new_path).status_code == 200
    assert PodcastFeedToken.objects.filter(user=subscriber).count() == 2
    assert PodcastFeedToken.objects.filter(user=subscriber, revoked_at__isnull=True).count() == 1


def test_feed_is_gone_once_the_subscription_ends(client, catalogue, subscriber):
    path = feed_url_for(client, subscriber)
    enclosure = urlparse(parse(client.get(path)).find("channel/item/enclosure").get("url")).path
    subscriber.granted.clear()  # lapsed or refunded: no entitlement any more
    response = client.get(path)
    assert response.status_code == 410
    assert response["X-Robots-Tag"] == "noindex"
    assert client.get(enclosure).status_code == 410


def test_unknown_token_and_forged_enclosure(client, catalogue):
    assert client.get(reverse("audio:private_feed", args=["x" * 43])).status_code == 404
    forged = reverse("audio:enclosure", args=['{"t":1,"a":1}:forged'])
    assert client.get(forged).status_code == 404


def test_member_without_subscription_gets_a_dead_feed(client, catalogue, member):
    path = feed_url_for(client, member)
    assert client.get(path).status_code == 410


def test_podcast_page_needs_sign_in_and_shows_the_address_once(client, subscriber):
    response = client.get(reverse("audio:podcast_feed"))
    assert response.status_code == 302
    client.force_login(subscriber)
    page = client.get(reverse("audio:podcast_feed")).content.decode()
    assert "/audio/podcast/feed/" not in page
    assert 'action="/audio/podcast/"' in page
    created = client.post(reverse("audio:podcast_feed")).content.decode()
    assert "/audio/podcast/feed/" in created
    assert "/audio/podcast/feed/" not in client.get(reverse("audio:podcast_feed")).content.decode()


def test_podcast_app_links_hand_the_address_to_each_app():
    from masthead.audio.feeds import podcast_app_links

    url = "https://meridian.example/audio/podcast/feed/Ab-c_9.xml"
    assert podcast_app_links(url) == [
        ("Apple Podcasts", "pcast://meridian.example/audio/podcast/feed/Ab-c_9.xml"),
        (
            "Overcast",
            "overcast://x-callback-url/add?url="
            "https%3A%2F%2Fmeridian.example%2Faudio%2Fpodcast%2Ffeed%2FAb-c_9.xml",
        ),
        ("Pocket Casts", "pktc://subscribe/meridian.example/audio/podcast/feed/Ab-c_9.xml"),
        ("AntennaPod and other apps", "podcast://meridian.example/audio/podcast/feed/Ab-c_9.xml"),
    ]
    for bad in ("/audio/podcast/free.xml", "javascript:alert(1)", "ftp://x/feed.xml"):
        with pytest.raises(ValueError, match="http"):
            podcast_app_links(bad)


def test_podcast_page_shows_the_new_address_whole_with_the_apps(client, subscriber):
    client.force_login(subscriber)
    html = client.post(reverse("audio:podcast_feed")).content.decode()
    start = html.index("http://testserver/audio/podcast/feed/")
    url = html[start : html.index(".xml", start) + 4]
    bare = url.removeprefix("http://")
    # The whole address in a read-only field, labelled; a copy button for
    # the script to reveal.
    assert '<label for="private-feed">Private feed address</label>' in html
    assert (
        '<textarea id="private-feed" class="feed-address__url" readonly rows="2" '
        f'spellcheck="false" autocapitalize="off" data-select-on-click>{url}</textarea>'
    ) in html
    assert 'data-copy="private-feed">Copy the address</button>' in html
    for link in (
        f'<a href="pcast://{bare}">Apple Podcasts</a>',
        '<a href="overcast://x-callback-url/add?url=http%3A%2F%2Ftestserver%2Faudio%2F',
        f'<a href="pktc://subscribe/{bare}">Pocket Casts</a>',
        f'<a href="podcast://{bare}">AntennaPod and other apps</a>',
    ):
        assert link in html
    # The free feed, for anyone, the same way.
    assert ">http://testserver/audio/podcast/free.xml</textarea>" in html
    assert '<a href="pcast://testserver/audio/podcast/free.xml">Apple Podcasts</a>' in html

    # Later visits never show the private address again.
    again = client.get(reverse("audio:podcast_feed")).content.decode()
    assert bare not in again and "private-feed" not in again
    assert '<a href="podcast://testserver/audio/podcast/free.xml">' in again
