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


def test_related_articles_share_the_most_tags_then_come_from_the_section(
    site_tree, django_assert_num_queries
):
    from datetime import timedelta

    from django.utils import timezone

    from masthead.newsroom.models import ArticlePage, SectionPage
    from tests.factories import make_article

    politics = SectionPage.objects.get(slug="politics")
    finance = SectionPage.objects.get(slug="finance")
    finance.default_access_level = "subscribers"
    finance.save_revision().publish()
    now = timezone.now()

    def article(section, days_ago, tags=(), publish=True):
        made = make_article(section, date=now - timedelta(days=days_ago), publish=False)
        made.tags.add(*tags)
        if publish:
            made.save_revision().publish()
        return made

    reading = article(politics, 9, ["water", "energy"])
    both = article(politics, 20, ["water", "energy"])
    water_here = article(finance, 3, ["water"])
    water_there = article(politics, 5, ["water"])
    article(politics, 1, ["water", "energy"], publish=False)  # a draft
    newest, newer = article(politics, 0), article(politics, 2)
    article(finance, 1)  # newer, but in another section and sharing no tag

    reading = ArticlePage.objects.get(pk=reading.pk)
    assert reading.related_articles(limit=3) == [both, water_here, water_there]
    related = ArticlePage.objects.get(pk=reading.pk).related_articles(limit=5)
    assert related == [both, water_here, water_there, newest, newer]
    # Each card knows its section's level without asking.
    with django_assert_num_queries(0):
        assert [page.effective_access_level for page in related] == [
            politics.default_access_level,
            "subscribers",
            politics.default_access_level,
            politics.default_access_level,
            politics.default_access_level,
        ]


def test_a_publish_shows_in_the_related_articles_at_once(
    site_tree, django_capture_on_commit_callbacks
):
    from masthead.newsroom.models import ArticlePage, SectionPage
    from tests.factories import make_article

    politics = SectionPage.objects.get(slug="politics")
    reading = make_article(politics)
    older = make_article(politics)
    assert ArticlePage.objects.get(pk=reading.pk).related_articles() == [older]
    with django_capture_on_commit_callbacks(execute=True):
        newer = make_article(politics)
    assert ArticlePage.objects.get(pk=reading.pk).related_articles() == [newer, older]
    with django_capture_on_commit_callbacks(execute=True):
        newer.unpublish()
    assert ArticlePage.objects.get(pk=reading.pk).related_articles() == [older]
