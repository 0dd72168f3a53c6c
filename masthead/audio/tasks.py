"""Background work: narrating an article revision, building an issue episode.

Both are idempotent: a revision already narrated, or an episode whose
narrations have not changed, is skipped.
"""

from django_tasks import task


@task()
def narrate_article(page_id, revision_id, force=False):
    from .actions import narrate_revision

    return narrate_revision(page_id, revision_id, force=force)


@task()
def build_issue_episode(issue_id):
    from masthead.issues.models import IssuePage

    from .actions import build_episode

    issue = IssuePage.objects.live().filter(pk=issue_id).first()
    if issue is None:
        return "skipped"
    episode = build_episode(issue)
    return episode.audio_file or "empty"
