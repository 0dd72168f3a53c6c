"""An editor publishes an issue from the Wagtail admin; a subscriber then
downloads its EPUB from the issue page.

Billing's entitlements are faked (tests.issues.support.FakeBilling): the
live server runs in this process, so the monkeypatched contract applies.
"""

import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from masthead.issues.models import IssuePage
from masthead.newsroom.models import SectionPage
from masthead.newsroom.site_tree import ensure_site_tree
from masthead.printing.models import PrintRun
from tests.e2e import support
from tests.factories import make_article, make_issue
from tests.issues.support import (
    FakeBilling,
    audio_receivers_disconnected,
    give_address,
    make_member,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def newsroom(transactional_db, monkeypatch):
    with audio_receivers_disconnected():
        ensure_site_tree()
        sections = {s.slug: s for s in SectionPage.objects.all()}
        billing = FakeBilling(monkeypatch)
        live = make_article(sections["politics"], title="The vote that was not")
        draft = make_article(sections["finance"], title="Where the money went", publish=False)
        issue = make_issue(
            [live, draft],
            number=23,
            cover_date=timezone.localdate() + timedelta(days=1),
            publish=False,
            title="The accountability issue",
        )
        editor = make_member("editor@example.com", is_staff=True, is_superuser=True)
        subscriber = make_member("subscriber@example.com", full_name="Sam Subscriber")
        billing.subscribe(subscriber, includes_print=True)
        give_address(subscriber)
        yield {"issue": issue, "editor": editor, "subscriber": subscriber}


def signed_in_context(browser, live_server, user):
    return support.signed_in_context(
        browser,
        live_server.url,
        user,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )


def test_editor_publishes_an_issue_and_a_subscriber_downloads_its_epub(
    live_server, browser, newsroom, tmp_path, mailoutbox
):
    issue = newsroom["issue"]

    # The editor opens the issue in the admin and chooses "Publish issue".
    editor = signed_in_context(browser, live_server, newsroom["editor"])
    page = editor.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{live_server.url}/admin/pages/{issue.pk}/edit/")
    footer = page.get_by_role("navigation", name="Actions (footer)")
    footer.get_by_role("button", name="More actions").click()
    footer.get_by_role("link", name="Publish issue").click()
    page.wait_for_url(f"**/admin/issues/{issue.pk}/publish/")
    assert "Not published yet: Where the money went" in page.content()
    page.locator("#publish-issue-button").click()
    page.wait_for_selector('#publication-status[data-status="done"]')
    statuses = page.locator("[data-step-status]").evaluate_all(
        "cells => cells.map(cell => cell.dataset.stepStatus)"
    )
    # The publication's four steps, then narration and the audio episode (not
    # narrated here: tests publish without narrating).
    assert statuses == ["done", "done", "done", "done", "pending", "pending"]
    editor.close()

    issue = IssuePage.objects.get(pk=issue.pk)
    assert issue.live and len(issue.live_articles()) == 2
    assert PrintRun.objects.get(issue=issue).entries.get().member == newsroom["subscriber"]
    assert [message.to for message in mailoutbox] == [["subscriber@example.com"]]

    # The subscriber finds the issue and downloads its EPUB.
    reader = signed_in_context(browser, live_server, newsroom["subscriber"])
    page = reader.new_page()
    page.goto(live_server.url + issue.url)
    assert page.locator("h1").first.inner_text() == "The accountability issue"
    with page.expect_download() as download_info:
        page.locator(".issue-downloads").get_by_role("link", name="EPUB").click()
    download = download_info.value
    assert download.suggested_filename == f"{issue.slug}.epub"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as epub:
        assert epub.read("mimetype") == b"application/epub+zip"
        chapters = "".join(
            epub.read(name).decode() for name in epub.namelist() if "articles/" in name
        )
    assert "The vote that was not" in chapters and "Where the money went" in chapters
    reader.close()
