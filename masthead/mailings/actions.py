"""State changes of mailings: transactional email, newsletter consent,
sign-up confirmation, starting/pausing/cancelling mailings, unsubscribes,
bounces, complaints and suppressions.

Each change is one atomic function with an audit row; mail and batches go
out from the task worker once the transaction commits.
"""

from django.db import transaction
from django.utils import timezone

from masthead.core.taskqueue import enqueue_on_commit

from .models import ConsentEvent, NewsletterSubscription
from .tasks import send_templated_email


def send_email(template, to, context=None):
    """Send templates/mailings/<template>{_subject.txt,.txt,.html} once the
    current transaction commits, from the task worker (queued with the
    transaction: see `enqueue_on_commit`).

    Transactional: it goes from the transactional sender and ignores
    newsletter choices and bulk suppressions."""
    recipients = [to] if isinstance(to, str) else list(to)
    enqueue_on_commit(send_templated_email, template, recipients, context or {})


# Consent ----------------------------------------------------------------------


@transaction.atomic
def set_newsletter_consent(member, newsletter, subscribed, source):
    """Record that `member` does (or does not) want `newsletter`, from
    `source` (a `NewsletterSubscription.Source` value). Returns the choice.

    A repeat of the current choice changes nothing and writes no audit row.
    """
    subscribed = bool(subscribed)
    choice, created = NewsletterSubscription.objects.select_for_update().get_or_create(
        member=member,
        newsletter=newsletter,
        defaults={"subscribed": subscribed, "source": source},
    )
    if not created:
        if choice.subscribed == subscribed:
            return choice
        choice.subscribed = subscribed
        choice.source = source
        choice.changed_at = timezone.now()
        choice.save(update_fields=["subscribed", "source", "changed_at"])
    ConsentEvent.objects.create(
        member=member, newsletter=newsletter, subscribed=subscribed, source=source
    )
    return choice
