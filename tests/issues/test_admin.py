from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from masthead.audio.models import IssueEpisode, Narration, NarrationStatus
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
    # The four steps of the publication, then narration and the audio episode.
    assert waiting.count('data-step-status="pending"') == 4 + 2

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


def step_states(html):
    rows = BeautifulSoup(html, "html.parser").select("tr.publication-step")
    return {
        row["data-step"]: (row.select_one("[data-step-status]")["data-step-status"], row.text)
        for row in rows
    }


def test_publish_screen_shows_narration_and_episode_as_steps(client, editor, site_tree):
    section = SectionPage.objects.get(slug="politics")
    articles = [make_article(section, title=f"Story {n}") for n in range(3)]
    issue = make_issue(articles, number=43)
    url = f"/admin/issues/{issue.pk}/publish/"

    states = step_states(client.get(url).content.decode())
    assert states["narration"][0] == "pending" and "3 not asked for" in states["narration"][1]
    assert states["episode"][0] == "pending"

    first = Narration.objects.create(article=articles[0], status=NarrationStatus.RUNNING)
    Narration.objects.create(article=articles[1], status=NarrationStatus.QUEUED)
    html = client.get(url).content.decode()
    narration, text = step_states(html)["narration"]
    assert narration == "running" and 'http-equiv="refresh"' in html
    assert "0 of 3 article(s) narrated; 1 being narrated; 1 queued; 1 not asked for." in text

    first.status, first.error = NarrationStatus.FAILED, "RuntimeError: the voice is missing"
    first.save()
    Narration.objects.filter(article=articles[1]).update(
        status=NarrationStatus.READY, audio_file="audio/1.mp3"
    )
    Narration.objects.create(article=articles[2], status=NarrationStatus.READY, audio_file="2.mp3")
    states = step_states(client.get(url).content.decode())
    assert states["narration"][0] == "failed"
    assert "Story 0: RuntimeError: the voice is missing" in states["narration"][1]
    assert states["episode"][0] == "pending"
    assert "narrations ready so far: 0 of 2" in states["episode"][1]

    first.status, first.audio_file, first.error = NarrationStatus.READY, "0.mp3", ""
    first.save()
    episode = IssueEpisode.objects.create(
        issue=issue,
        audio_file="audio/issues/episode.mp3",
        duration=754,
        chapters=[{"article": article.pk, "title": article.title} for article in articles],
    )
    states = step_states(client.get(url).content.decode())
    assert (
        states["narration"][0] == "done" and "3 of 3 article(s) narrated." in states["narration"][1]
    )
    assert states["episode"][0] == "done" and "3 chapter(s), 12:34." in states["episode"][1]

    # A later build of the episode failed in the task queue.
    DBTaskResult.objects.create(
        status=TaskResultStatus.FAILED,
        task_path="masthead.audio.tasks.build_issue_episode",
        args_kwargs={"args": [issue.pk], "kwargs": {}},
        backend_name="default",
        run_after=episode.updated_at,
        finished_at=episode.updated_at + timedelta(minutes=1),
        exception_class_path="builtins.OSError",
        traceback="Traceback (most recent call last):\nOSError: No space left on device\n",
    )
    episode_state, text = step_states(client.get(url).content.decode())["episode"]
    assert episode_state == "failed" and "OSError: No space left on device" in text
