"""The new-issue email, the notify step of publishing an issue.

Transactional email (one templated message to one member) is
`masthead.core.email.send_email`, which every app may use; this app holds the
mailings that go to many readers at once.
"""

from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.dateformat import format as format_date

from masthead.access.rules import decide
from masthead.core.email import send_email
from masthead.editions.content import magazine_settings
from masthead.editions.models import EditionFormat
from masthead.issues.actions import issue_of
from masthead.issues.models import IssueAnnouncement


def _announcement_context(issue):
    base = settings.SITE_URL + "/"
    return {
        "magazine": magazine_settings().name,
        "issue_title": issue.title,
        "issue_label": issue.label,
        "cover_date": format_date(issue.cover_date, "F j, Y"),
        "cover_lines": issue.cover_line_list,
        "issue_url": urljoin(base, issue.get_url() or ""),
        "articles": [
            {
                "title": article.title,
                "dek": article.dek,
                "byline": ", ".join(author.name for author in article.authors),
                "url": urljoin(base, article.get_url() or ""),
            }
            for article in issue.live_articles()
        ],
        "downloads": [
            {
                "label": label,
                "url": urljoin(base, reverse("editions:download", args=[issue.pk, value])),
            }
            for value, label in EditionFormat.choices
        ],
    }


def announce_issue(publication):
    """One email per reader the access rule grants the issue, once."""
    issue = issue_of(publication)
    context = _announcement_context(issue)
    # Staff have access to everything by the access rule; the email is for readers.
    members = get_user_model().objects.filter(
        is_active=True, is_staff=False, wants_issue_emails=True
    )
    members = members.exclude(issue_announcements__issue=issue).exclude(email="").order_by("pk")
    sent = 0
    for member in members.iterator():
        if not decide(member, issue):
            continue
        with transaction.atomic():
            _, created = IssueAnnouncement.objects.get_or_create(issue=issue, member=member)
            if created:
                send_email(
                    "issue_published",
                    member.email,
                    {**context, "member_name": member.get_short_name()},
                )
                sent += 1
    return f"Emailed {sent} member(s)."
