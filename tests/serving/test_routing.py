"""Routing an article page: the site and the route cached per publish
generation, and a cold article render in at most ten queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from masthead.billing.models import Subscription
from tests.access.support import _subscription, ensure_plans
from tests.factories import make_article, make_issue

pytestmark = pytest.mark.django_db

# What a cold article page may cost: the first render of an article nobody
# has read since the last publish, by anyone.
COLD_RENDER_QUERIES = 10
# What each picture on an article page is cut to (the lead, its social card,
# related articles' cards): made before counting, as a live site has them.
RENDITIONS = (
    "width-480|format-webp",
    "width-720|format-webp",
    "width-1080|format-webp",
    "width-1440|format-webp",
    "fill-1200x675",
    "fill-240x150|format-webp",
    "fill-480x300|format-webp",
    "fill-960x600|format-webp",
)


def _reader(kind, django_user_model):
    if kind == "anonymous":
        return None
    user = django_user_model.objects.create_user(email=f"{kind}@example.org", full_name=kind)
    if kind == "subscriber":
        _subscription(
            user,
            ensure_plans()["digital"],
            Subscription.Status.ACTIVE,
            current_period_end=timezone.now() + timedelta(days=20),
        )
    return user


def _unread_article(magazine, level):
    section = magazine["gated"].get_parent() if level != "public" else magazine["free"].get_parent()
    article = make_article(section, access_level=level, authors=magazine["authors"])
    make_issue([article])
    for page in (article, magazine["free"], magazine["gated"]):
        for spec in RENDITIONS:
            page.lead_image.get_rendition(spec)
    return article


@pytest.mark.parametrize(
    "kind, level, reads_in_full",
    [
        ("anonymous", "public", True),
        ("anonymous", "subscribers", False),
        ("free member", "public", True),
        ("free member", "members", True),
        ("subscriber", "subscribers", True),
    ],
)
def test_a_cold_article_render_costs_at_most_ten_queries(
    client,
    magazine,
    django_user_model,
    django_assert_max_num_queries,
    serving_clock,
    kind,
    level,
    reads_in_full,
):
    ensure_plans()
    reader = _reader(kind, django_user_model)
    if reader is not None:
        client.force_login(reader)
    article = _unread_article(magazine, level)
    # Since the article was published the reader has read other pages: their
    # session, entitlement and the site's shared pieces (navigation, ads,
    # sections, the paywall's settings) for this publish are what a busy site
    # has. Serving's clock stands still, so no grace or lifetime runs out
    # however slowly the test runs.
    for page in (magazine["free"], magazine["gated"]):
        assert client.get(page.url).status_code == 200

    with django_assert_max_num_queries(COLD_RENDER_QUERIES):
        response = client.get(article.url)

    html = response.content.decode()
    assert response.status_code == 200
    assert f">{article.title}</h1>" in html
    assert ("Third paragraph of article" in html) is reads_in_full
    assert 'class="article__byline"' in html and magazine["authors"][1].name in html
    assert 'class="related"' in html


def test_a_known_route_loads_the_page_in_one_query(client, magazine, django_user_model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    article = magazine["free"]
    client.get(article.url)
    client.force_login(_reader("free member", django_user_model))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(article.url).status_code == 200
    pages = [q["sql"] for q in queries if 'FROM "wagtailcore_page"' in q["sql"]]
    wagtail_routing = [sql for sql in pages if '"wagtailcore_page"."url_path" IN' in sql]
    assert wagtail_routing == []
    assert not any('"wagtailcore_site"' in q["sql"] for q in queries)


def _published(page, django_capture_on_commit_callbacks, **changes):
    with django_capture_on_commit_callbacks(execute=True):
        for name, value in changes.items():
            setattr(page, name, value)
        page.save_revision().publish()
    page.refresh_from_db()
    return page


def test_a_publish_is_seen_at_once(client, magazine, django_capture_on_commit_callbacks):
    article = magazine["free"]
    assert "Border talks resume" in client.get(article.url).content.decode()
    _published(article, django_capture_on_commit_callbacks, title="Border talks stall")
    html = client.get(article.url).content.decode()
    assert "Border talks stall" in html and "Border talks resume" not in html


def test_an_unpublished_article_is_gone_at_once(
    client, magazine, django_capture_on_commit_callbacks
):
    article = magazine["free"]
    url = article.url
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    assert client.get(url).status_code == 404


def test_a_slug_change_moves_the_route_at_once(
    client, magazine, django_capture_on_commit_callbacks
):
    article = magazine["free"]
    old_url = article.url
    assert client.get(old_url).status_code == 200
    _published(article, django_capture_on_commit_callbacks, slug="border-talks-renamed")
    assert article.url.endswith("/border-talks-renamed/")
    # Not the page from its cached route: Wagtail's redirect to the new address.
    old = client.get(old_url)
    assert old.status_code == 301 and old["Location"] == article.url
    assert "Border talks resume" in client.get(article.url).content.decode()


def test_a_moved_article_is_found_at_its_new_address_at_once(
    client, magazine, django_capture_on_commit_callbacks
):
    article = magazine["free"]
    old_url = article.url
    culture = magazine["sections"]["culture"]
    assert client.get(old_url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        article.move(culture, pos="last-child")
    article.refresh_from_db()
    old = client.get(old_url)
    assert old.status_code == 301 and old["Location"] == article.url
    response = client.get(article.url)
    assert response.status_code == 200
    # Its section is the new one: the kicker links there.
    assert f'href="{culture.url}"' in response.content.decode()


def test_a_view_restriction_added_is_enforced_at_once(
    client, magazine, django_capture_on_commit_callbacks
):
    from wagtail.models import PageViewRestriction

    article = magazine["free"]
    assert client.get(article.url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(
            page=article.get_parent(), restriction_type=PageViewRestriction.LOGIN
        )
    response = client.get(article.url)
    assert response.status_code == 302 and "Border talks resume" not in response.content.decode()


def test_a_path_that_leads_nowhere_is_a_404(client, magazine):
    assert client.get("/politics/no-such-article/").status_code == 404
    assert client.get("/no-such-section/").status_code == 404
