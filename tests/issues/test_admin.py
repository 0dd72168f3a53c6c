from datetime import timedelta

import pytest
from django.utils import timezone

from masthead.issues.models import IssuePublication
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, make_issue
from tests.issues.support import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client):
    user = make_member("editor@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def next_issue(site_tree):
    section = SectionPage.objects.get(slug="politics")
    article = make_article(section, title="An unfinished piece", publish=False)
    issue = make_issue(
        [article], number=40, cover_date=timezone.localdate() + timedelta(days=3), publish=False
    )
    return issue


def test_issue_editor_offers_publish_issue(client, editor, next_issue):
    response = client.get(f"/admin/pages/{next_issue.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Publish issue" in html
    assert f"/admin/issues/{next_issue.pk}/publish/" in html


def test_article_editor_does_not(client, editor, next_issue):
    article = next_issue.draft_contents()[0]
    html = client.get(f"/admin/pages/{article.pk}/edit/").content.decode()
    assert "/publish/" not in html and "Publish issue" not in html


def test_publish_view_starts_publishing_and_shows_progress(
    client,
    editor,
    next_issue,
    billing,
    quiet_audio,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    url = f"/admin/issues/{next_issue.pk}/publish/"
    before = client.get(url).content.decode()
    assert "Publish issue" in before and "Not published yet: An unfinished piece" in before

    ran = []
    monkeypatch.setattr(
        "masthead.issues.actions.STEP_RUNNERS",
        {
            name: (lambda pub, name=name: ran.append(name) or f"{name} ok")
            for name in ["articles", "editions", "print_run", "notify"]
        },
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url)
    assert response.status_code == 302 and response["Location"] == url
    waiting = client.get(url).content.decode()
    assert 'http-equiv="refresh"' in waiting
    assert waiting.count('data-step-status="pending"') == 4

    for callback in callbacks:
        callback()
    assert ran == ["articles", "editions", "print_run", "notify"]
    done = client.get(url).content.decode()
    assert 'data-status="done"' in done and 'http-equiv="refresh"' not in done
    assert done.count('data-step-status="done"') == 4
    assert IssuePublication.objects.get(issue=next_issue).requested_by == editor


def test_upcoming_issues_lists_the_schedule_and_what_is_missing(client, editor, site_tree):
    section = SectionPage.objects.get(slug="politics")
    draft = make_article(section, title="Still a draft", publish=False)
    issue = make_issue(
        [draft], number=41, cover_date=timezone.localdate() + timedelta(days=1), publish=False
    )
    issue.cover_image = None
    issue.save_revision()
    empty = make_issue(
        [], number=42, cover_date=timezone.localdate() + timedelta(days=2), publish=False
    )
    response = client.get("/admin/issues/upcoming/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No cover image." in html
    assert "Not published yet: Still a draft" in html
    assert "No articles." in html and empty.title in html
    assert "No issue yet." in html  # schedule dates without an issue page
    assert f"/admin/issues/{issue.pk}/publish/" in html


def test_readers_cannot_reach_the_publish_view(client, next_issue):
    reader = make_member("reader@example.com")
    client.force_login(reader)
    response = client.post(f"/admin/issues/{next_issue.pk}/publish/")
    assert response.status_code in (302, 403)
    assert not IssuePublication.objects.exists()
