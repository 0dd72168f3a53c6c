from django_tasks import task


@task()
def run_issue_publication(publication_id):
    """Run the remaining steps of publishing an issue (issues.actions)."""
    from .actions import run_publication

    run_publication(publication_id)
