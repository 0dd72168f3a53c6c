"""Transactional email: one templated message, sent from the task worker
once the current transaction commits. Every app that writes to a member uses
this; the templates live under templates/mailings/.

Each message has a plain-text part and an HTML part in the magazine's look:
the template's own .html when it has one, else its text laid out by
mailings/email/layout.html. It comes from the sender set in the magazine's
settings."""

import re
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
    magazine = _magazine()
    context = {"site_name": magazine.name, **context, "site_url": settings.SITE_URL}
    subject = " ".join(render_to_string(f"mailings/{template}_subject.txt", context).split())
    text = render_to_string(f"mailings/{template}.txt", context)
    try:
        html = render_to_string(f"mailings/{template}.html", context)
    except TemplateDoesNotExist:
        html = render_to_string(
            "mailings/email/layout.html",
            {**context, "subject": subject, "blocks": text_blocks(text)},
        )
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=magazine.email_sender(), to=list(to)
    )
    message.attach_alternative(html, "text/html")
    message.send()


def _magazine():
    """The default site's MagazineSettings; its defaults before there is a site."""
    from wagtail.models import Site

    from .models import MagazineSettings

    site = Site.objects.filter(is_default_site=True).first()
    return MagazineSettings.for_site(site) if site else MagazineSettings()


LONE_LINK = re.compile(r"https?://\S+")


def text_blocks(text: str) -> list[tuple[str, str]]:
    """A plain-text message as ("link", url) and ("text", paragraph) blocks:
    a link on a paragraph of its own is the message's action, drawn as a
    button in HTML."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = paragraph.strip()
        if paragraph:
            kind = "link" if LONE_LINK.fullmatch(paragraph) else "text"
            blocks.append((kind, paragraph))
    return blocks
