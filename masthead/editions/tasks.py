from django_tasks import task


@task()
def build_issue_editions(issue_id):
    """Bring a live issue's EPUB and PDF editions up to date (a no-op when
    they already match its content)."""
    from masthead.issues.models import IssuePage

    from .actions import build_editions

    issue = IssuePage.objects.live().filter(pk=issue_id).first()
    if issue is None:
        return {}
    return build_editions(issue)
