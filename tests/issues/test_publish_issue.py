from datetime import date, timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from masthead.editions import actions as edition_actions
from masthead.editions.models import Edition
from masthead.issues.actions import publish_issue
from masthead.issues.models import IssuePublication, IssuePublicationStep
from masthead.mailings.models import Delivery
from masthead.newsroom.models import ArticlePage, SectionPage
from masthead.printing.models import PrintRun
from tests.factories import make_article, make_issue
from tests.issues.support import give_address, make_member, pdf_text, run_epubcheck

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

Step = IssuePublicationStep


@pytest.fixture
def render_counts(monkeypatch):
    counts = {}
    for name, renderer in list(edition_actions.RENDERERS.items()):

        def counting(content, name=name, renderer=renderer):
            counts[name] = counts.get(name, 0) + 1
            return renderer(content)

        monkeypatch.setitem(edition_actions.RENDERERS, name, counting)
    return counts


@pytest.fixture
def draft_issue(site_tree):
    sections = {s.slug: s for s in SectionPage.objects.all()}
    live = make_article(sections["politics"], title="Already live")
    ready = make_article(sections["finance"], title="Ready draft", publish=False)
    locked = make_article(sections["culture"], title="Locked draft", publish=False)
    locked.locked = True
    locked.save()
    issue = make_issue(
        [live, ready, locked], number=23, cover_date=date.today() + timedelta(days=2), publish=False
    )
    return {"issue": issue, "live": live, "ready": ready, "locked": locked}


@pytest.fixture
def readers(billing, draft_issue):
    editor = make_member("editor@example.com", is_staff=True, is_superuser=True)
    digital = make_member("digital@example.com")
    billing.subscribe(digital)
    printed = make_member("print@example.com", full_name="Pat Print")
    billing.subscribe(printed, includes_print=True)
    give_address(printed)
    quiet = make_member("quiet@example.com", wants_issue_emails=False)
    billing.subscribe(quiet)
    free = make_member("free@example.com")
    return {"editor": editor, "digital": digital, "print": printed, "quiet": quiet, "free": free}


def publish(issue, user, capture):
    with capture(execute=True):
        publication = publish_issue(issue, user)
    publication.refresh_from_db()
    return publication


def test_publishing_an_issue_does_everything_once(
    draft_issue,
    readers,
    billing,
    quiet_audio,
    render_counts,
    mailoutbox,
    django_capture_on_commit_callbacks,
    tmp_path,
):
    issue = draft_issue["issue"]
    publication = publish(issue, readers["editor"], django_capture_on_commit_callbacks)

    assert publication.status == IssuePublication.Status.DONE
    steps = {step.name: step for step in publication.steps.all()}
    assert [step.status for step in publication.ordered_steps()] == ["done"] * 4
    issue.refresh_from_db()
    assert issue.live
    assert ArticlePage.objects.get(pk=draft_issue["ready"].pk).live
    assert not ArticlePage.objects.get(pk=draft_issue["locked"].pk).live
    assert "Locked draft (locked)" in steps["articles"].detail

    # The editions: a valid EPUB and PDFs with every headline and byline.
    assert render_counts == {"epub": 1, "pdf-a4": 1, "pdf-letter": 1}
    editions = {e.format: e for e in Edition.objects.filter(issue=issue)}
    assert set(editions) == {"epub", "pdf-a4", "pdf-letter"}
    storage = storages["private"]
    epub_path = tmp_path / "issue.epub"
    epub_path.write_bytes(storage.open(editions["epub"].file_name).read())
    code, report = run_epubcheck(epub_path)
    assert code == 0 and "ERROR" not in report, report
    pdf_path = tmp_path / "issue.pdf"
    pdf_path.write_bytes(storage.open(editions["pdf-a4"].file_name).read())
    text = pdf_text(pdf_path)
    for article in issue.live_articles():
        assert article.title in text
        assert "By " + article.authors[0].name in text
    assert "Locked draft" not in text

    # The print run: closed, with the one print subscriber.
    run = PrintRun.objects.get(issue=issue)
    assert run.is_closed
    assert [entry.member for entry in run.entries.all()] == [readers["print"]]

    # The email: subscribers who want it, once each.
    assert sorted(message.to[0] for message in mailoutbox) == [
        "digital@example.com",
        "print@example.com",
    ]
    message = mailoutbox[0]
    assert issue.title in message.subject and "Ready draft" in message.body
    assert f"/editions/{issue.pk}/epub/" in message.body

    # Asking again repeats nothing.
    again = publish(issue, readers["editor"], django_capture_on_commit_callbacks)
    assert again.pk == publication.pk and again.status == IssuePublication.Status.DONE
    assert render_counts == {"epub": 1, "pdf-a4": 1, "pdf-letter": 1}
    assert len(mailoutbox) == 2
    assert billing.calls == 1
    assert Delivery.objects.filter(mailing__issue=issue).count() == 2
    assert [step.attempts for step in again.ordered_steps()] == [1, 1, 1, 1]


def test_a_failed_step_is_retried_without_repeating_the_others(
    draft_issue,
    readers,
    billing,
    quiet_audio,
    render_counts,
    mailoutbox,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    issue = draft_issue["issue"]

    def billing_down(now=None):
        raise ConnectionError("billing is down")

    monkeypatch.setattr("masthead.billing.entitlements.print_entitled_members", billing_down)
    publication = publish(issue, readers["editor"], django_capture_on_commit_callbacks)
    assert publication.status == IssuePublication.Status.FAILED
    statuses = {step.name: step.status for step in publication.steps.all()}
    assert statuses == {
        "articles": "done",
        "editions": "done",
        "print_run": "failed",
        "notify": "pending",
    }
    failed = publication.steps.get(name="print_run")
    assert "billing is down" in failed.error
    assert mailoutbox == []
    assert not PrintRun.objects.filter(issue=issue, status=PrintRun.Status.CLOSED).exists()

    monkeypatch.setattr(
        "masthead.billing.entitlements.print_entitled_members", billing.print_entitled_members
    )
    retried = publish(issue, readers["editor"], django_capture_on_commit_callbacks)
    assert retried.status == IssuePublication.Status.DONE
    assert retried.attempts == 2
    attempts = {step.name: step.attempts for step in retried.steps.all()}
    assert attempts == {"articles": 1, "editions": 1, "print_run": 2, "notify": 1}
    assert render_counts == {"epub": 1, "pdf-a4": 1, "pdf-letter": 1}
    assert len(mailoutbox) == 2


def test_an_issue_with_no_ready_article_fails_its_first_step(
    site_tree, billing, quiet_audio, django_capture_on_commit_callbacks
):
    section = SectionPage.objects.get(slug="politics")
    article = make_article(section, title="Held in moderation", publish=False)
    article.locked = True
    article.save()
    issue = make_issue([article], number=30, publish=False)
    editor = make_member("chief@example.com", is_staff=True, is_superuser=True)
    publication = publish(issue, editor, django_capture_on_commit_callbacks)
    assert publication.status == IssuePublication.Status.FAILED
    first = publication.steps.get(name="articles")
    assert first.status == Step.Status.FAILED and "Held in moderation (locked)" in first.error
    assert publication.steps.filter(status=Step.Status.PENDING).count() == 3
    issue.refresh_from_db()
    assert not issue.live
    assert timezone.now() - publication.requested_at < timedelta(minutes=1)
