from masthead.core.taskqueue import enqueue_on_commit

from .tasks import send_templated_email


def send_email(template, to, context=None):
    """Send templates/mailings/<template>{_subject.txt,.txt,.html} once the
    current transaction commits, from the task worker (queued with the
    transaction: see `enqueue_on_commit`)."""
    recipients = [to] if isinstance(to, str) else list(to)
    enqueue_on_commit(send_templated_email, template, recipients, context or {})
