"""The read API (/api/articles/) and oEmbed (/oembed/)."""

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from wagtail.models import PageViewRestriction

from masthead.newsroom.models import SectionPage
from tests.access.support import gated_sentence, make_reader, teaser_sentence
from tests.factories import make_article


def client_for(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_list_has_headlines_and_metadata_newest_first(in_world):
    data = client_for().get("/api/articles/").json()
    assert data["count"] == 7 and data["pages"] == 1 and data["next"] is None
    first = data["results"][0]
    assert set(first) == {
        "id",
        "title",
        "dek",
        "url",
        "date",
        "section",
        "authors",
        "access_level",
        "image",
        "api_url",
    }
    dates = [item["date"] for item in data["results"]]
    assert dates == sorted(dates, reverse=True)
    by_title = {item["title"]: item for item in data["results"]}
    plans = by_title["The plans story"]
    assert plans["access_level"] == "plans"
    assert plans["section"] == {"title": "Finance", "slug": "finance"}
    assert plans["authors"] == ["Rosa Quill"]
    assert plans["url"] == in_world.articles["plans"].full_url
    assert plans["image"]["url"].startswith("http://testserver/media/images/")


def test_the_list_pages_and_filters_by_section(in_world, monkeypatch):
    monkeypatch.setattr("masthead.api.views.PAGE_SIZE", 3)
    client = client_for()
    first = client.get("/api/articles/", {"section": "finance"}).json()
    assert (first["count"], first["pages"], len(first["results"])) == (7, 3, 3)
    assert first["next"] == "http://testserver/api/articles/?section=finance&page=2"
    second = client.get(first["next"]).json()
    assert second["previous"].endswith("page=1")
    assert not {i["id"] for i in first["results"]} & {i["id"] for i in second["results"]}
    assert client.get("/api/articles/", {"section": "politics"}).json()["count"] == 0
    assert client.get("/api/articles/", {"section": "nowhere"}).status_code == 404


def test_the_detail_has_the_teaser_without_access_and_all_with(in_world):
    article = in_world.articles["subscribers"]
    url = f"/api/articles/{article.pk}/"
    teaser = client_for().get(url).json()
    assert [block["type"] for block in teaser["body"]] == ["paragraph", "paragraph"]
    assert teaser_sentence("subscribers") in teaser["body"][0]["html"]
    assert teaser["complete"] is False
    assert teaser["access"] == {"granted": False, "reason": "sign-in-required"}
    assert teaser["subscribe_url"] == "http://testserver/subscribe/"

    full = client_for(make_reader("active", in_world)).get(url).json()
    assert [block["type"] for block in full["body"]] == [
        "paragraph",
        "paragraph",
        "paragraph",
        "paragraph",
        "figure",
        "pull_quote",
        "paragraph",
    ]
    assert gated_sentence("subscribers") in full["body"][2]["html"]
    # The gated figure through the view that asks the rule.
    assert f"/gated-images/{article.pk}/" in full["body"][4]["html"]
    assert full["complete"] is True and "subscribe_url" not in full


@pytest.mark.parametrize(
    "params, refused",
    [
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "9" * 20}, "page"),
        ({"page": "1\x00"}, "page"),
        ({"section": 'a"b'}, "section"),
    ],
)
def test_the_list_answers_malformed_parameters_with_a_400(in_world, params, refused):
    response = client_for().get("/api/articles/", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [refused]


def test_a_page_past_the_end_is_the_last_page(in_world):
    data = client_for().get("/api/articles/", {"page": "999"}).json()
    assert data["page"] == data["pages"]


def test_drafts_and_restricted_pages_are_not_in_the_api(in_world):
    draft = make_article(SectionPage.objects.get(slug="finance"), title="Draft", publish=False)
    restricted = in_world.articles["public"]
    PageViewRestriction.objects.create(page=restricted, restriction_type="login")
    client = client_for(make_reader("active", in_world))
    ids = {item["id"] for item in client.get("/api/articles/").json()["results"]}
    assert draft.pk not in ids and restricted.pk not in ids
    assert client.get(f"/api/articles/{draft.pk}/").status_code == 404
    assert client.get(f"/api/articles/{restricted.pk}/").status_code == 404


def test_api_answers_are_private_for_members(in_world):
    response = client_for(make_reader("free member", in_world)).get("/api/articles/")
    assert "private" in response["Cache-Control"] and "Cookie" in response["Vary"]
    assert "public" in client_for().get("/api/articles/")["Cache-Control"]


# oEmbed --------------------------------------------------------------------------


def test_oembed_describes_an_article_with_its_teaser(in_world):
    article = in_world.articles["subscribers"]
    response = client_for(make_reader("active", in_world)).get(
        "/oembed/", {"url": article.full_url, "maxwidth": 480}
    )
    assert response.status_code == 200
    data = response.json()
    # The same for every reader, so shareable (a signed-in request's answer
    # is still marked private by the reader middleware).
    anonymous = client_for().get("/oembed/", {"url": article.full_url, "maxwidth": 480})
    assert "public" in anonymous["Cache-Control"]
    assert anonymous.json() == data
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert data["provider_name"] == "The Meridian Review"
    assert data["author_url"] == "http://testserver/authors/rosa-quill/"
    assert data["width"] == 480 and data["height"] == 400
    assert data["thumbnail_width"] == 600 and data["thumbnail_height"] == 338
    html = BeautifulSoup(data["html"], "html.parser")
    assert [p.get_text() for p in html.find_all("p")] == [
        "The subscribers story",
        "What the subscribers story is about.",
        teaser_sentence("subscribers"),
        "The second teaser paragraph of the subscribers story.",
        "Read it in The Meridian Review",
    ]
    assert html.find("a")["href"] == article.full_url


def test_oembed_works_with_the_address_readers_see(in_world):
    article = in_world.articles["public"]
    response = client_for().get("/oembed/", {"url": f"http://testserver{article.url}?ref=x"})
    assert response.status_code == 200
    assert gated_sentence("public") not in response.json()["html"]


@pytest.mark.parametrize(
    "params, status",
    [
        ({}, 400),
        ({"url": "http://testserver/finance/"}, 404),
        ({"url": "http://testserver/no-such-page/"}, 404),
        ({"url": "http://elsewhere.example/finance/article-1/"}, 404),
        ({"url": "ftp://testserver/finance/"}, 404),
        ({"url": "http://testserver/finance/", "format": "xml"}, 501),
    ],
)
def test_oembed_refuses_what_it_cannot_embed(in_world, params, status):
    assert client_for().get("/oembed/", params).status_code == status


@pytest.mark.parametrize(
    "params, refused",
    [
        ({"url": "http://[::1"}, "url"),
        ({"url": "http://testserver:port/finance/"}, "url"),
        ({"url": "http://testserver/\x00"}, "url"),
        ({"url": ""}, "url"),
        ({"url": "http://testserver/finance/", "maxwidth": "abc"}, "maxwidth"),
        ({"url": "http://testserver/finance/", "maxheight": "0"}, "maxheight"),
        ({"url": "http://testserver/finance/", "maxwidth": "9" * 20}, "maxwidth"),
    ],
)
def test_oembed_answers_malformed_parameters_with_a_400(in_world, params, refused):
    response = client_for().get("/oembed/", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [refused]


def test_the_article_page_links_its_oembed(in_world):
    article = in_world.articles["members"]
    soup = BeautifulSoup(client_for().get(article.url).content, "html.parser")
    link = soup.find("link", type="application/json+oembed")
    response = client_for().get(link["href"])
    assert response.status_code == 200 and response.json()["title"] == "The members story"
