"""Ids in URLs: `<id:...>` takes what fits the database's 64-bit integer."""

import pytest
from django.urls import resolve, reverse

from masthead.core.converters import MAX_ID

HUGE = "9" * 20


@pytest.mark.parametrize(
    "url",
    [
        f"/api/articles/{HUGE}/",
        f"/editions/{HUGE}/epub/",
        f"/audio/narration/{HUGE}/full.mp3",
        f"/audio/narration/{HUGE}/opening.mp3",
        f"/gated-images/{HUGE}/1/width-800/",
        f"/gated-images/1/{HUGE}/width-800/",
        f"/documents/{HUGE}/report.pdf",
        f"/subscribe/checkout/{HUGE}/",
        f"/billing/switch/{HUGE}/",
    ],
)
def test_an_id_too_long_for_the_database_is_not_found(client, db, url):
    response = client.get(url)
    assert response.status_code == 404
    assert client.post(url).status_code in (404, 405)


@pytest.mark.parametrize(
    "url",
    [
        f"/api/articles/{MAX_ID}/",
        f"/editions/{MAX_ID}/epub/",
        f"/audio/narration/{MAX_ID}/full.mp3",
    ],
)
def test_the_largest_id_is_looked_up_and_not_found(client, db, url):
    assert client.get(url).status_code == 404


def test_ids_resolve_to_ints_and_reverse():
    match = resolve(f"/api/articles/{MAX_ID}/")
    assert match.kwargs == {"article_id": MAX_ID}
    assert reverse("api:article", args=[42]) == "/api/articles/42/"
    # A longer id falls through to the page tree, which has no such page.
    assert resolve(f"/api/articles/{HUGE}/").view_name != "api:article"
