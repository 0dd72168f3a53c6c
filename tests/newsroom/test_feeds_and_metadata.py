import json
import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def xml(response):
    assert response.status_code == 200
    return ET.fromstring(response.content)


@pytest.mark.parametrize(
    "url",
    ["/feeds/rss/", "/feeds/sections/politics/rss/", "/feeds/authors/{author}/rss/"],
)
def test_rss_feeds_list_published_articles_only(client, magazine, url):
    root = xml(client.get(url.format(author=magazine["authors"][0].slug)))
    assert root.tag == "rss"
    titles = [item.findtext("title") for item in root.iter("item")]
    assert "Border talks resume" in titles
    assert "An unpublished draft" not in titles
    item = next(i for i in root.iter("item") if i.findtext("title") == "Border talks resume")
    assert item.findtext("link").endswith(magazine["free"].url)
    assert item.findtext("description") == magazine["free"].dek


def test_feed_items_carry_the_dek_never_the_body(client, magazine):
    body = client.get("/feeds/rss/").content.decode()
    assert "Third paragraph of article" not in body


@pytest.mark.parametrize(
    "url", ["/feeds/atom/", "/feeds/sections/finance/atom/", "/feeds/authors/{author}/atom/"]
)
def test_atom_feeds_are_well_formed(client, magazine, url):
    root = xml(client.get(url.format(author=magazine["authors"][1].slug)))
    assert root.tag == f"{ATOM}feed"
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert "The bond market blinks" in titles


def test_unknown_section_or_author_feed_is_404(client, magazine):
    assert client.get("/feeds/sections/nope/rss/").status_code == 404
    assert client.get("/feeds/authors/nobody/rss/").status_code == 404


def test_sitemap_lists_live_pages_and_authors_not_drafts(client, magazine):
    root = xml(client.get("/sitemap.xml"))
    locations = [loc.text for loc in root.iter(f"{SITEMAP}loc")]
    assert any(loc.endswith(magazine["free"].url) for loc in locations)
    assert any(loc.endswith(magazine["issue"].url) for loc in locations)
    assert any(loc.endswith(magazine["authors"][0].get_absolute_url()) for loc in locations)
    assert not any("article-" in loc and magazine["draft"].slug in loc for loc in locations)


def test_news_sitemap_has_recent_articles(client, magazine):
    root = xml(client.get("/news-sitemap.xml"))
    news = "{http://www.google.com/schemas/sitemap-news/0.9}"
    titles = [t.text for t in root.iter(f"{news}title")]
    # "Border talks resume" is five hours old; the bond story is three days old.
    assert titles == ["Border talks resume"]


def test_robots_txt_points_at_sitemaps(client, magazine):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text


def test_json_ld_names_author_dates_image_and_publisher(client, magazine):
    article = magazine["free"]
    soup = BeautifulSoup(client.get(article.url).content, "html.parser")
    data = json.loads(soup.find("script", type="application/ld+json").string)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Border talks resume"
    assert [a["name"] for a in data["author"]] == ["Ana Peña", "José Ortiz"]
    assert (
        data["author"][0]["url"] == "http://testserver" + magazine["authors"][0].get_absolute_url()
    )
    assert data["datePublished"] == article.date.isoformat()
    assert data["image"][0]["url"].startswith("http://testserver/media/images/")
    assert data["publisher"]["name"] == "Meridian Press"


def test_json_ld_credits_the_lead_image(client, magazine):
    article = magazine["free"]
    image = article.lead_image
    image.credit = "Reuters"
    image.copyright_notice = "© 2026 Reuters"
    image.save()
    soup = BeautifulSoup(client.get(article.url).content, "html.parser")
    [picture] = json.loads(soup.find("script", type="application/ld+json").string)["image"]
    assert picture["@type"] == "ImageObject"
    assert picture["contentUrl"] == picture["url"]
    assert picture["creditText"] == "Reuters"
    assert picture["copyrightNotice"] == "© 2026 Reuters"


def test_json_ld_leaves_out_a_copyright_notice_not_given(client, magazine):
    soup = BeautifulSoup(client.get(magazine["free"].url).content, "html.parser")
    [picture] = json.loads(soup.find("script", type="application/ld+json").string)["image"]
    assert picture["creditText"] == "Test Images"
    assert "copyrightNotice" not in picture


def test_open_graph_and_twitter_cards(client, magazine):
    soup = BeautifulSoup(client.get(magazine["free"].url).content, "html.parser")
    og = {m["property"]: m["content"] for m in soup.find_all("meta", property=True)}
    tw = {m["name"]: m["content"] for m in soup.find_all("meta", attrs={"name": True})}
    assert og["og:type"] == "article"
    assert og["og:title"] == "Border talks resume"
    assert og["og:image"].startswith("http://testserver/media/images/")
    assert tw["twitter:card"] == "summary_large_image"
    assert tw["description"] == magazine["free"].dek


def test_correction_shows_with_updated_date(client, magazine):
    article = magazine["free"]
    article.correction = "An earlier version misstated the date of the talks."
    article.save_revision().publish()
    html = client.get(article.url).content.decode()
    assert "An earlier version misstated the date of the talks." in html
    assert "Updated" in html
