"""The home page (issues/front.py, newsroom/home_page.html): led by the
current issue's cover and lead story, then the rest of the issue, then each
section's latest that the issue does not already show; the subscribe offer
for everyone but a reader who subscribes, and the shared cached copy never
crossing between the two."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client
from django.utils import timezone

from masthead.serving.pagecache import AnonymousPageCache
from tests.access.support import ensure_plans, make_reader
from tests.factories import make_article, make_issue
from tests.wsgi import wsgi_environ

pytestmark = pytest.mark.django_db

OFFER = "Subscribe to "


def get(application, path, cookies=None):
    environ = wsgi_environ(path, cookies=cookies)
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response)).decode()
    return captured["status"], captured["headers"], body


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def test_the_lead_story_is_the_issues_first_and_nothing_shows_twice(client, site_tree):
    sections = {section.slug: section for section in site_tree.get_children().specific()}
    lead = make_article(sections["politics"], title="The lead of the issue")
    others = [
        make_article(sections["finance"], title=f"Issue story {n}", date=timezone.now())
        for n in range(5)
    ]
    make_article(
        sections["finance"], title="Only in the section", date=timezone.now() - timedelta(days=9)
    )
    issue = make_issue([lead, *others], title="The Border Bargain")

    html = client.get("/").content.decode()
    front, _, rest = html.partition('class="front-secondary"')
    # The lead: its section, headline, dek and picture, beside the cover.
    assert 'id="lead-headline"><a href="' + lead.url + '">The lead of the issue</a>' in front
    assert lead.dek in front and "Politics" in front
    assert "The Border Bargain" in front and issue.label in front
    assert front.count("<img") == 2 and "format-webp" in front
    # Four more of the issue in the row under it; the fifth goes to its section.
    row, _, sections_html = rest.partition('class="section-strip"')
    assert [f"Issue story {n}" in row for n in range(5)] == [True] * 4 + [False]
    assert "Issue story 4" in sections_html and "Only in the section" in sections_html
    for story in ["The lead of the issue", *(f"Issue story {n}" for n in range(5))]:
        assert html.count(f">{story}</a>") == 1, story
    assert 'href="/issues/"' in sections_html


def test_without_an_issue_the_sections_still_lead(client, site_tree):
    section = site_tree.get_children().specific().first()
    make_article(section, title="A story of no issue")
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "front-lead" not in html and "A story of no issue" in html


@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_a_subscriber_is_not_offered_a_subscription_and_the_cache_keeps_them_apart(magazine):
    application = AnonymousPageCache(WSGIHandler(), ttl=60)
    world = type("World", (), {"plans": ensure_plans()})
    subscriber = session_cookie(make_reader("active", world, email="subscriber@example.org"))
    member = session_cookie(make_reader("free member", world, email="member@example.org"))

    _, headers, theirs = get(application, "/", subscriber)
    assert OFFER not in theirs and 'href="/subscribe/"' not in theirs
    assert ">Account</a>" in theirs and "private" in headers["Cache-Control"]

    # Anonymous readers, first and from the cache, get the offer.
    for _ in range(2):
        _, headers, anonymous = get(application, "/")
        assert OFFER in anonymous and ">Account</a>" not in anonymous
        assert "public" in headers["Cache-Control"]
    assert headers.get("X-Page-Cache") == "hit"

    # A signed-in reader who does not subscribe is still offered it; the
    # subscriber, after the anonymous copy was cached, still is not.
    assert OFFER in get(application, "/", member)[2]
    assert OFFER not in get(application, "/", subscriber)[2]
