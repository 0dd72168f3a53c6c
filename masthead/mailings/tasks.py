import contextlib

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tasks import task


@task()
def send_templated_email(template, to, context):
    """Render mailings/<template>.txt (and .html when present) and send it.

    `context` must be JSON-serialisable: tasks cross process boundaries.
    """
    from django.conf import settings
    from django.template import TemplateDoesNotExist

    context = {**context, "site_url": settings.SITE_URL}
    from .models import Suppression

    # Transactional mail ignores newsletter choices and bounces, but not a
    # spam complaint: whoever marked our mail as spam gets none.
    complained = set(
        Suppression.objects.filter(
            email__in=[address.lower() for address in to],
            reason=Suppression.Reason.COMPLAINT,
            lifted_at__isnull=True,
        ).values_list("email", flat=True)
    )
    to = [address for address in to if address.lower() not in complained]
    if not to:
        return
    subject = render_to_string(f"mailings/{template}_subject.txt", context).strip()
    text = render_to_string(f"mailings/{template}.txt", context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, to=list(to))
    with contextlib.suppress(TemplateDoesNotExist):
        html = render_to_string(f"mailings/{template}.html", context)
        message.attach_alternative(html, "text/html")
    message.send()


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
