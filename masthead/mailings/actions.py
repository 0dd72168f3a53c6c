from functools import partial

from django.db import transaction

from .tasks import send_templated_email


def send_email(template, to, context=None):
    """Send templates/mailings/<template>{_subject.txt,.txt,.html} once the
    current transaction commits, from the task worker."""
    recipients = [to] if isinstance(to, str) else list(to)
    transaction.on_commit(
        partial(send_templated_email.enqueue, template, recipients, context or {})
    )
