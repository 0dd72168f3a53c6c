"""A scheduled mailing starts when its time comes: the scheduler's entry
queues `start_due_mailings` every minute, which starts what is due and
nothing else. Time moves with freezegun, not by waiting."""

from datetime import timedelta

from django.utils import timezone
from freezegun import freeze_time

from masthead.core.management.commands.run_scheduler import SCHEDULE
from masthead.core.management.commands.run_scheduler import Command as Scheduler
from masthead.mailings import actions
from masthead.mailings.models import Mailing, MailingEvent, NewsletterSubscription
from tests.issues.support import make_member

ENTRY = "task:masthead.mailings.tasks.start_due_mailings"


def run_entry(capture):
    with capture(execute=True):
        Scheduler().run(ENTRY)


def test_a_scheduled_mailing_starts_once_its_time_has_come(
    smtp_server, mailing, letter, django_capture_on_commit_callbacks
):
    assert (60, ENTRY) in SCHEDULE
    reader = make_member("reader@example.com")
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    start = timezone.now()
    later = Mailing.objects.create(newsletter=letter, subject="Later still", body=[])
    with django_capture_on_commit_callbacks(execute=True):
        actions.schedule_mailing(mailing, start + timedelta(hours=1))
        actions.schedule_mailing(later, start + timedelta(hours=3))

    with freeze_time(start + timedelta(minutes=59), real_asyncio=True):
        run_entry(django_capture_on_commit_callbacks)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SCHEDULED
    assert smtp_server.messages == []

    with freeze_time(start + timedelta(minutes=61), real_asyncio=True):
        run_entry(django_capture_on_commit_callbacks)
        run_entry(django_capture_on_commit_callbacks)  # the next minute: started once
    mailing.refresh_from_db()
    later.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert mailing.started_at == start + timedelta(minutes=61)
    assert later.status == Mailing.Status.SCHEDULED
    assert len(smtp_server.messages) == 1
    assert MailingEvent.objects.filter(mailing=mailing, kind="started").count() == 1


def test_a_cancelled_schedule_never_starts(
    smtp_server, mailing, letter, django_capture_on_commit_callbacks
):
    reader = make_member("reader@example.com")
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    start = timezone.now()
    actions.schedule_mailing(mailing, start + timedelta(hours=1))
    actions.cancel_mailing(mailing)
    with freeze_time(start + timedelta(hours=2), real_asyncio=True):
        run_entry(django_capture_on_commit_callbacks)
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.CANCELLED
    assert smtp_server.messages == []
