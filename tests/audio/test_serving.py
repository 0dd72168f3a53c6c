"""Serving narration files: gated like the text, with byte ranges."""

import pytest
from django.core.files.storage import storages
from django.urls import reverse

from masthead.audio.actions import narrate_revision
from masthead.audio.models import Narration
from masthead.core.storage import parse_range
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

pytestmark = pytest.mark.django_db


class Narrated(dict):
    """Articles made and narrated when a test first asks for them."""

    LEVELS = {"free": "", "gated": "subscribers", "members": "members"}

    def __missing__(self, which):
        body = [paragraph("<p>Free words.</p>"), paragraph("<p>More free words.</p>"),
                paragraph("<p>Gated words.</p>")]  # fmt: skip
        article = make_article(
            image=False,
            section=SectionPage.objects.get(slug="finance"),
            title=which.title(),
            body=body,
            access_level=self.LEVELS[which],
        )
        narrate_revision(article.pk, article.live_revision_id)
        self[which] = article
        return article


@pytest.fixture
def narrated(site_tree, tone_engine):
    return Narrated()


def content(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def stored(article, kind="audio_file"):
    narration = Narration.objects.get(article=article)
    return storages["private"].open(getattr(narration, kind)).read()


@pytest.mark.parametrize(
    ("who", "which", "status"),
    [
        ("anonymous", "gated", 403),
        ("member", "gated", 403),
        ("subscriber", "gated", 200),
        ("staff", "gated", 200),
        ("anonymous", "members", 403),
        ("member", "members", 200),
        ("anonymous", "free", 200),
    ],
)
def test_full_audio_is_gated_like_the_text(client, narrated, who, which, status, request):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    article = narrated[which]
    response = client.get(reverse("audio:full", args=[article.pk]))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "audio/mpeg"
        assert content(response) == stored(article)
        assert response["Accept-Ranges"] == "bytes"
        if which == "free":
            assert response["Cache-Control"].startswith("public")
        else:
            assert response["Cache-Control"].startswith("private")


@pytest.mark.parametrize("which", ["free", "gated"])
def test_teaser_audio_is_for_everyone(client, narrated, which):
    article = narrated[which]
    response = client.get(reverse("audio:teaser", args=[article.pk]))
    assert response.status_code == 200
    assert content(response) == stored(article, "teaser_file")


def test_unpublished_or_unnarrated_articles_have_no_audio(client, narrated, site_tree):
    article = narrated["free"]
    article.unpublish()
    assert client.get(reverse("audio:full", args=[article.pk])).status_code == 404
    fresh = make_article(image=False, section=SectionPage.objects.get(slug="finance"))
    assert client.get(reverse("audio:teaser", args=[fresh.pk])).status_code == 404


def test_byte_ranges(client, narrated):
    url = reverse("audio:full", args=[narrated["free"].pk])
    data = stored(narrated["free"])
    size = len(data)

    response = client.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 0-99/{size}"
    assert response["Content-Length"] == "100"
    assert content(response) == data[:100]

    response = client.get(url, HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert content(response) == data[1000:]

    response = client.get(url, HTTP_RANGE="bytes=-500")
    assert response.status_code == 206
    assert content(response) == data[-500:]

    response = client.get(url, HTTP_RANGE=f"bytes=10-{size + 5000}")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-{size - 1}/{size}"

    response = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{size}"

    # Not understood: several ranges, another unit. The whole file is sent.
    for header in ("bytes=0-1,5-9", "items=0-5", "bytes=9-2"):
        response = client.get(url, HTTP_RANGE=header)
        assert response.status_code == 200
        assert content(response) == data

    response = client.head(url, HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206 and response["Content-Length"] == "10"

    # If-Range with a stale ETag gets the whole (new) file.
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"').status_code == 200


def test_ranges_of_gated_audio_still_need_access(client, narrated):
    url = reverse("audio:full", args=[narrated["gated"].pk])
    assert client.get(url, HTTP_RANGE="bytes=0-99").status_code == 403


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=0-", (0, 999)),
        ("bytes=-1", (999, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=500-2000", (500, 999)),
        ("bytes=1000-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=5-1", None),
        ("bytes=a-b", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected
