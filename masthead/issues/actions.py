"""Publishing an issue: one action, four steps, each done once.

`publish_issue(issue, user)` records an IssuePublication and, once the
transaction commits, hands the steps to the task worker:

1. articles  - publish the issue's ready articles, then the issue itself;
2. editions  - build the EPUB and PDF editions (editions.actions);
3. print_run - close the issue's print run (printing.actions);
4. notify    - start the issue newsletter's mailing of the issue
               (mailings.actions).

Issues runs the first step itself. The apps that own the others register
their runner with `register_step` from their AppConfig.ready(), so issues
never imports them.

A step that succeeded is never run again; one that failed stops the run and
is retried, with the steps after it, the next time someone asks to publish.
The steps are themselves idempotent (content-hashed builds, a closed run
stays closed, one mailing per issue), so a worker killed mid-step
repeats nothing when the step runs again.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from wagtail.actions.publish_revision import PublishPermissionError

from masthead.core.taskqueue import enqueue_on_commit

from .models import IssuePage, IssuePublication, IssuePublicationStep

logger = logging.getLogger(__name__)

Step = IssuePublicationStep
# A step marked running for this long belongs to a worker that died.
STALE_STEP = timedelta(minutes=30)


class PublishIssueError(Exception):
    """A step of publishing an issue cannot complete."""


def not_ready_reason(article):
    """Why an article cannot be published with its issue, or None when it is
    ready: it has a saved revision and is neither locked nor in moderation."""
    if not article.latest_revision_id:
        return "no saved revision"
    if article.locked:
        return "locked"
    if article.workflow_in_progress:
        return "in moderation"
    return None


@transaction.atomic
def publish_issue(issue, user):
    """Publish `issue` and everything that comes with it, in the background.

    Returns the IssuePublication. Asking again for an issue whose publication
    finished does nothing; after a failure it retries what failed.
    """
    publication, _ = IssuePublication.objects.select_for_update(of=("self",)).get_or_create(
        issue=issue, defaults={"requested_by": user}
    )
    existing = set(publication.steps.values_list("name", flat=True))
    Step.objects.bulk_create(
        [
            Step(publication=publication, name=name, position=position)
            for position, name in enumerate(Step.ORDER)
            if name not in existing
        ]
    )
    if (
        publication.status == IssuePublication.Status.DONE
        and not publication.steps.exclude(status=Step.Status.DONE).exists()
    ):
        return publication
    now = timezone.now()
    publication.steps.filter(status=Step.Status.FAILED).update(status=Step.Status.PENDING)
    publication.steps.filter(status=Step.Status.RUNNING, started_at__lt=now - STALE_STEP).update(
        status=Step.Status.PENDING
    )
    publication.status = IssuePublication.Status.RUNNING
    publication.requested_by = user
    publication.requested_at = now
    publication.finished_at = None
    publication.attempts = F("attempts") + 1
    publication.save()
    publication.refresh_from_db()

    from .tasks import run_issue_publication

    enqueue_on_commit(run_issue_publication, publication.pk)
    return publication


def run_publication(publication_id):
    """Run the publication's remaining steps in order (the task's body)."""
    publication = IssuePublication.objects.select_related("requested_by").get(pk=publication_id)
    for step in publication.ordered_steps():
        if step.status == Step.Status.DONE:
            continue
        claimed = Step.objects.filter(pk=step.pk, status=Step.Status.PENDING).update(
            status=Step.Status.RUNNING,
            started_at=timezone.now(),
            finished_at=None,
            attempts=F("attempts") + 1,
            error="",
        )
        if not claimed:
            # Running in another worker, or failed and waiting for a retry.
            return publication
        try:
            runner = STEP_RUNNERS.get(step.name)
            if runner is None:
                raise PublishIssueError(f"No installed app carries out the step {step.name!r}.")
            detail = runner(publication)
        except Exception as error:
            logger.exception("Publishing %s: step %s failed", publication.issue_id, step.name)
            Step.objects.filter(pk=step.pk).update(
                status=Step.Status.FAILED,
                finished_at=timezone.now(),
                error=f"{type(error).__name__}: {error}"[:5000],
            )
            IssuePublication.objects.filter(pk=publication.pk).update(
                status=IssuePublication.Status.FAILED, finished_at=timezone.now()
            )
            return publication
        Step.objects.filter(pk=step.pk).update(
            status=Step.Status.DONE, finished_at=timezone.now(), detail=detail or ""
        )
    IssuePublication.objects.filter(pk=publication.pk).update(
        status=IssuePublication.Status.DONE, finished_at=timezone.now()
    )
    return publication


def issue_of(publication):
    """The IssuePage a publication publishes (for step runners)."""
    return IssuePage.objects.get(pk=publication.issue_id)


def publish_articles_and_issue(publication):
    """Step 1: the ready articles of the issue's latest revision, then the issue."""
    from masthead.newsroom.models import ArticlePage

    user = publication.requested_by
    with transaction.atomic():
        issue = issue_of(publication)
        articles = issue.draft_contents()
        if not articles:
            raise PublishIssueError("The issue has no articles.")
        published, skipped = [], []
        for article in articles:
            article = ArticlePage.objects.get(pk=article.pk)
            if article.live and not article.has_unpublished_changes:
                continue
            reason = not_ready_reason(article)
            if reason is None:
                try:
                    article.get_latest_revision().publish(user=user)
                except PublishPermissionError:
                    reason = "you may not publish it"
                else:
                    published.append(article.title)
                    continue
            skipped.append(f"{article.title} ({reason})")
        live = ArticlePage.objects.live().filter(pk__in=[a.pk for a in articles]).count()
        if live == 0:
            raise PublishIssueError("None of the issue's articles is ready: " + "; ".join(skipped))
        if not issue.live or issue.has_unpublished_changes or not issue.latest_revision_id:
            revision = issue.get_latest_revision() or issue.save_revision(user=user)
            revision.publish(user=user)
    issue.refresh_from_db()
    if not issue.live:
        # Scheduled for later: editions, print run and emails wait for it.
        when = issue.approved_go_live_at or issue.go_live_at
        raise PublishIssueError(
            f"The issue is scheduled to go live on {when:%B %-d, %Y at %H:%M}; "
            "publish it again once it is live."
            if when
            else "The issue did not go live."
        )
    detail = f"Published {len(published)} article(s) and the issue; {live} article(s) live."
    if skipped:
        detail += " Not ready, left out: " + "; ".join(skipped) + "."
    return detail


# What carries out each step, a function of the IssuePublication returning a
# line of detail; `register_step` fills in the steps of the apps above.
STEP_RUNNERS = {
    Step.Name.ARTICLES: publish_articles_and_issue,
}


def register_step(name, runner):
    """Have `runner(publication)` carry out the step `name` (a Step.Name)."""
    STEP_RUNNERS[Step.Name(name)] = runner
