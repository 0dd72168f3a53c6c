"""Transactional email: one templated message, sent from the task worker
once the current transaction commits. Every app that writes to a member uses
this; the templates live under templates/mailings/."""

import contextlib
from collections.abc import Callable

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tasks import task

from .taskqueue import enqueue_on_commit

# Functions of a list of addresses returning those that may get transactional
# mail; apps above add theirs (mailings drops addresses that complained).
RECIPIENT_FILTERS: list[Callable[[list[str]], list[str]]] = []


def send_email(template, to, context=None):
    """Send templates/mailings/<template>{_subject.txt,.txt,.html} once the
    current transaction commits, from the task worker (queued with the
    transaction: see `enqueue_on_commit`)."""
    recipients = [to] if isinstance(to, str) else list(to)
    enqueue_on_commit(send_templated_email, template, recipients, context or {})


@task()
def send_templated_email(template, to, context):
    """Render mailings/<template>.txt (and .html when present) and send it.

    `context` must be JSON-serialisable: tasks cross process boundaries.
    """
    from django.conf import settings
    from django.template import TemplateDoesNotExist

    for keep in RECIPIENT_FILTERS:
        to = keep(to)
    if not to:
        return
    context = {**context, "site_url": settings.SITE_URL}
    subject = render_to_string(f"mailings/{template}_subject.txt", context).strip()
    text = render_to_string(f"mailings/{template}.txt", context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=list(to))
    with contextlib.suppress(TemplateDoesNotExist):
        html = render_to_string(f"mailings/{template}.html", context)
        message.attach_alternative(html, "text/html")
    message.send()
