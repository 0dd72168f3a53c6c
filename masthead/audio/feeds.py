"""Podcast feeds of narrations, to Apple Podcasts' requirements.

The public feed carries the narrations anyone may hear (public articles).
A member's private feed, at an address with a revocable token, carries every
article they can read plus one episode per issue (the issue's narrations
joined, with chapters); it is blocked from directories (`itunes:block`,
`X-Robots-Tag: noindex`) and its enclosure URLs carry signed tokens.
"""

import io
from datetime import datetime, time
from email.utils import parseaddr
from functools import lru_cache
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed

from masthead.access.rules import decide
from masthead.core.models import MagazineSettings

from .models import IssueEpisode, Narration

FEED_LENGTH = 300
ARTWORK_SIZE = 1400
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
CATEGORY = ("News", "News Commentary")


def magazine(request=None):
    if request is not None:
        return MagazineSettings.for_request(request)
    from wagtail.models import Site

    site = Site.objects.filter(is_default_site=True).first()
    return MagazineSettings.for_site(site) if site else MagazineSettings()


def absolute(request, path):
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL + path


def public_feed_path():
    return reverse("audio:public_feed")


def private_feed_path(token):
    return reverse("audio:private_feed", args=[token])


def podcast_app_links(feed_url):
    """(app, link) pairs that hand a feed's address to a podcast app.

    Each app registers its own scheme: Apple Podcasts `pcast:`, Overcast an
    x-callback-url, Pocket Casts `pktc://subscribe/`; `podcast:` is the one
    that AntennaPod and most other apps answer to. The scheme-only forms
    carry the address without its `https://`.
    """
    parts = urlsplit(feed_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"A podcast feed needs an http(s) address, not {feed_url!r}")
    bare = feed_url.split("://", 1)[1]
    return [
        ("Apple Podcasts", f"pcast://{bare}"),
        ("Overcast", f"overcast://x-callback-url/add?url={quote(feed_url, safe='')}"),
        ("Pocket Casts", f"pktc://subscribe/{bare}"),
        ("AntennaPod and other apps", f"podcast://{bare}"),
    ]


def duration_text(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class PodcastFeed(Rss201rev2Feed):
    """RSS 2.0 with the iTunes and Podcasting 2.0 namespaces."""

    def rss_attributes(self):
        attributes = super().rss_attributes()
        attributes["xmlns:itunes"] = ITUNES
        attributes["xmlns:podcast"] = PODCAST
        return attributes

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        feed = self.feed
        handler.addQuickElement("itunes:author", feed["itunes_author"])
        handler.addQuickElement("itunes:summary", feed["description"])
        handler.addQuickElement("itunes:type", "episodic")
        handler.startElement("itunes:owner", {})
        handler.addQuickElement("itunes:name", feed["itunes_author"])
        if feed.get("owner_email"):
            handler.addQuickElement("itunes:email", feed["owner_email"])
        handler.endElement("itunes:owner")
        handler.addQuickElement("itunes:image", None, {"href": feed["image_url"]})
        handler.startElement("image", {})
        handler.addQuickElement("url", feed["image_url"])
        handler.addQuickElement("title", feed["title"])
        handler.addQuickElement("link", feed["link"])
        handler.endElement("image")
        handler.startElement("itunes:category", {"text": CATEGORY[0]})
        handler.addQuickElement("itunes:category", None, {"text": CATEGORY[1]})
        handler.endElement("itunes:category")
        handler.addQuickElement("itunes:explicit", "false")
        if feed.get("private"):
            handler.addQuickElement("itunes:block", "Yes")

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("itunes:title", item["title"])
        handler.addQuickElement("itunes:duration", str(int(round(item["duration"]))))
        handler.addQuickElement("itunes:explicit", "false")
        handler.addQuickElement("itunes:episodeType", "full")
        if item.get("summary"):
            handler.addQuickElement("itunes:summary", item["summary"])
        if item.get("chapters_url"):
            handler.addQuickElement(
                "podcast:chapters",
                None,
                {"url": item["chapters_url"], "type": "application/json+chapters"},
            )


def _new_feed(request, feed_path, private):
    mag = magazine(request)
    owner_email = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    title = mag.name if not private else f"{mag.name}: your narrated articles"
    return PodcastFeed(
        title=title,
        link=absolute(request, "/"),
        description=(
            f"Narrated articles from {mag.name}. {mag.description}".strip()
            if not private
            else f"Every article you can read in {mag.name}, narrated, and each issue "
            "as one episode. This feed is personal: please do not share it."
        ),
        language=mag.language or "en-us",
        feed_url=absolute(request, feed_path),
        feed_copyright=f"© {mag.publisher}",
        itunes_author=mag.publisher or mag.name,
        owner_email=owner_email if "@" in owner_email and "localhost" not in owner_email else "",
        image_url=absolute(request, reverse("audio:artwork")),
        private=private,
    )


def _narrations():
    return (
        Narration.objects.filter(article__live=True)
        .exclude(audio_file="")
        .select_related("article")
        .order_by("-article__date")
    )


def _add_article(feed, request, narration, url):
    article = narration.article
    authors = ", ".join(author.name for author in article.authors)
    feed.add_item(
        title=article.title,
        link=absolute(request, article.url or "/"),
        description=article.dek or article.title,
        summary=article.dek,
        author_name=authors or None,
        pubdate=article.date,
        updateddate=article.last_published_at,
        unique_id=f"{settings.SITE_URL}/narration/{article.pk}",
        unique_id_is_permalink=False,
        enclosures=[Enclosure(url, str(narration.audio_size), "audio/mpeg")],
        duration=narration.duration,
    )


def _response(feed, private):
    response = HttpResponse(content_type="application/rss+xml; charset=utf-8")
    feed.write(response, "utf-8")
    if private:
        response["X-Robots-Tag"] = "noindex"
        response["Cache-Control"] = "private, max-age=900"
    else:
        response["Cache-Control"] = "public, max-age=900"
    return response


def public_feed_response(request):
    feed = _new_feed(request, public_feed_path(), private=False)
    anonymous = AnonymousUser()
    count = 0
    for narration in _narrations():
        if count >= FEED_LENGTH:
            break
        if not decide(anonymous, narration):
            continue
        url = absolute(request, reverse("audio:full", args=[narration.article_id]))
        _add_article(feed, request, narration, url)
        count += 1
    return _response(feed, private=False)


def issue_episode(issue_id):
    return (
        IssueEpisode.objects.filter(issue_id=issue_id, issue__live=True)
        .exclude(audio_file="")
        .select_related("issue")
        .first()
    )


def private_feed_response(request, token_row):
    from .views import sign_enclosure

    user = token_row.user
    feed = _new_feed(request, request.path, private=True)
    items = []
    for narration in _narrations()[:FEED_LENGTH]:
        if decide(user, narration):
            items.append(("article", narration.article.date, narration))
    episodes = (
        IssueEpisode.objects.filter(issue__live=True)
        .exclude(audio_file="")
        .select_related("issue")
        .order_by("-issue__cover_date")
    )
    for episode in episodes:
        if decide(user, episode.issue):
            items.append(("issue", None, episode))
    for kind, _, thing in sorted(items, key=_item_date, reverse=True):
        if kind == "article":
            signed = sign_enclosure(token_row, "a", thing.article_id)
            url = absolute(request, reverse("audio:enclosure", args=[signed]))
            _add_article(feed, request, thing, url)
        else:
            _add_issue(feed, request, token_row, thing)
    return _response(feed, private=True)


def _cover_datetime(issue):
    return timezone.make_aware(datetime.combine(issue.cover_date, time(6)))


def _item_date(item):
    kind, date, thing = item
    return _cover_datetime(thing.issue) if kind == "issue" else date


def _add_issue(feed, request, token_row, episode):
    from .views import sign_enclosure

    issue = episode.issue
    signed = sign_enclosure(token_row, "i", issue.pk)
    titles = "; ".join(chapter["title"] for chapter in episode.chapters)
    feed.add_item(
        title=f"{issue.title} ({issue.label}): the whole issue",
        link=absolute(request, issue.url or "/"),
        description=f"Every narrated article of {issue.title}: {titles}",
        summary=titles,
        pubdate=_cover_datetime(issue),
        unique_id=f"{settings.SITE_URL}/issue-episode/{issue.pk}",
        unique_id_is_permalink=False,
        enclosures=[
            Enclosure(
                absolute(request, reverse("audio:enclosure", args=[signed])),
                str(episode.audio_size),
                "audio/mpeg",
            )
        ],
        duration=episode.duration,
        chapters_url=absolute(request, reverse("audio:chapters", args=[signed])),
    )


@lru_cache(maxsize=8)
def artwork_png(name, size=ARTWORK_SIZE):
    """Square cover art for podcast apps: the magazine's name on its colours."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (24, 38, 58))
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        [size * 0.06, size * 0.06, size * 0.94, size * 0.94],
        outline=(230, 196, 120),
        width=size // 90,
    )
    words = name.split()
    lines, line = [], ""
    for word in words:
        if len(line) + len(word) + 1 > 12 and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    font = _font(size // 9)
    small = _font(size // 20)
    heights = [draw.textbbox((0, 0), text, font=font)[3] for text in lines]
    top = size * 0.45 - sum(heights) * 0.6
    for text, height in zip(lines, heights, strict=True):
        width = draw.textlength(text, font=font)
        draw.text(((size - width) / 2, top), text, font=font, fill=(246, 240, 226))
        top += height * 1.25
    label = "NARRATED"
    width = draw.textlength(label, font=small)
    draw.text(((size - width) / 2, size * 0.8), label, font=small, fill=(230, 196, 120))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _font(size):
    from PIL import ImageFont

    for path in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)
