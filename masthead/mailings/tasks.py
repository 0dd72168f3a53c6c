# Emails queued before transactional email moved to masthead.core.email name
# their task by this path; the worker still finds it here.
from django_tasks import task

from masthead.core.email import send_templated_email

__all__ = [
    "send_mailing_batch",
    "send_templated_email",
    "start_due_mailings",
    "start_scheduled_mailing",
]


@task()
def send_mailing_batch(mailing_id, batch):
    """Send one batch of a mailing over one connection (see
    `delivery.send_batch`). Safe to run again: it sends only what the batch
    has not sent yet."""
    from .delivery import send_batch

    return send_batch(mailing_id, batch)


@task()
def start_scheduled_mailing(mailing_id):
    """Start a scheduled mailing once its time has come (queued to run then)."""
    from .actions import start_due_mailings

    return start_due_mailings(mailing_ids=[mailing_id])


@task()
def start_due_mailings():
    """Start every scheduled mailing whose time has come: the scheduler
    queues this every minute, so a schedule holds on a task backend that
    cannot run a task at a given time, and after a lost deferred task."""
    from . import actions

    return actions.start_due_mailings()
