"""The demo magazine's three newsletters (called by the demo loader)."""

from .actions import issue_newsletter
from .models import Newsletter


def create_demo_newsletters():
    """The issue newsletter, the editors' weekly letter and a breaking-news
    alert; running it again changes nothing."""
    issue = issue_newsletter()
    letter, _ = Newsletter.objects.update_or_create(
        slug="editors-letter",
        defaults={
            "name": "The editors' weekly letter",
            "kind": Newsletter.Kind.LETTER,
            "audience": Newsletter.Audience.EVERYONE,
            "description": "Every Friday: what the editors read, argued about and recommend.",
            "sort_order": 1,
        },
    )
    alert, _ = Newsletter.objects.update_or_create(
        slug="breaking-news",
        defaults={
            "name": "Breaking news",
            "kind": Newsletter.Kind.ALERT,
            "audience": Newsletter.Audience.MEMBERS,
            "description": "A short alert when a big story breaks. A few times a month.",
            "sort_order": 2,
        },
    )
    return [issue, letter, alert]
