"""Issues' part of the magazine's fixed page tree: the archive."""

from .models import IssueIndexPage


def ensure_archive(home):
    """Add the archive under `home` unless the magazine has one."""
    if not IssueIndexPage.objects.exists():
        home.add_child(
            instance=IssueIndexPage(
                title="Archive", slug="issues", intro="Every issue, from the first to the latest."
            )
        )
