import pytest

pytestmark = pytest.mark.django_db


def test_home_shows_current_issue_sections_and_subscribe(client, magazine):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert magazine["issue"].title in html
    assert "Border talks resume" in html
    assert "Subscribe" in html
    assert "An unpublished draft" not in html


def test_article_page_has_byline_links_dates_image_and_issue(client, magazine):
    article = magazine["free"]
    response = client.get(article.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="article__headline" itemprop="headline">Border talks resume</h1>' in html
    for author in magazine["authors"]:
        assert f'href="{author.get_absolute_url()}"' in html
    assert "A caption" in html and "Test Images" in html
    assert 'href="https://example.org/"' in html
    assert magazine["issue"].title in html


def test_section_author_issue_archive_search(client, magazine):
    assert client.get("/politics/").status_code == 200
    assert "Border talks resume" in client.get("/politics/").content.decode()
    author_page = client.get(magazine["authors"][0].get_absolute_url()).content.decode()
    assert "Covers Congress." in author_page and "Border talks resume" in author_page
    issue_page = client.get(magazine["issue"].url).content.decode()
    assert "Vol. 12, No. 22" in issue_page and "The bond market blinks" in issue_page
    archive = client.get("/issues/").content.decode()
    assert magazine["issue"].title in archive and magazine["older_issue"].title in archive
    results = client.get("/search/", {"q": "bond market"}).content.decode()
    assert "The bond market blinks" in results
    assert (
        "An unpublished draft" not in client.get("/search/", {"q": "unpublished"}).content.decode()
    )


def test_related_cards_read_their_bylines_together(client, magazine):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_article

    article = magazine["free"]
    for number in range(3):
        make_article(article.get_parent(), authors=magazine["authors"][number % 2 :])
    with CaptureQueriesContext(connection) as queries:
        html = client.get(article.url).content.decode()
    related = html.split('id="related-title"')[1].count('class="card"')
    assert related == 3
    bylines = [q["sql"] for q in queries if 'FROM "newsroom_articlebyline"' in q["sql"]]
    # The article's own byline and every card's, in one query.
    assert len(bylines) == 1, bylines
