"""The audio part of publishing an issue, as the issue's publish screen
shows it: the narration of its articles, then its audio episode.

Publishing an article queues its narration and publishing an issue its
episode (audio.actions); these steps only report where that work stands.
"""

from masthead.core.taskqueue import failed_tasks
from masthead.issues.steps import ReportedStep, Status

from .feeds import duration_text
from .models import IssueEpisode, Narration, NarrationStatus


def _narration_step(issue, articles, narrations):
    label = "Narrate the articles"
    if not issue.live or not articles:
        return ReportedStep(
            "narration", label, Status.PENDING, "Starts once the articles are published."
        )
    by_status = {status: [] for status in NarrationStatus.values}
    missing = []
    for article in articles:
        narration = narrations.get(article.pk)
        if narration is None or (
            narration.status == NarrationStatus.READY and not narration.has_audio
        ):
            missing.append(article)
        else:
            by_status[narration.status].append(article)
    ready, failed = by_status[NarrationStatus.READY], by_status[NarrationStatus.FAILED]
    detail = f"{len(ready)} of {len(articles)} article(s) narrated"
    if by_status[NarrationStatus.RUNNING]:
        detail += f"; {len(by_status[NarrationStatus.RUNNING])} being narrated"
    if by_status[NarrationStatus.QUEUED]:
        detail += f"; {len(by_status[NarrationStatus.QUEUED])} queued"
    if missing:
        detail += f"; {len(missing)} not asked for"
    detail += "."
    error = "; ".join(f"{a.title}: {narrations[a.pk].error or 'failed'}" for a in failed)
    if by_status[NarrationStatus.RUNNING]:
        status = Status.RUNNING
    elif failed:
        status = Status.FAILED
    elif by_status[NarrationStatus.QUEUED] or missing:
        status = Status.PENDING
    else:
        status = Status.DONE
    return ReportedStep("narration", label, status, detail, error)


def _episode_failure(issue, episode):
    """The last failed build of the issue's episode since the episode last changed."""
    for task in failed_tasks():
        if task.name != "build_issue_episode" or task.arguments != repr(issue.pk):
            continue
        if episode is None or not task.failed_at or task.failed_at > episode.updated_at:
            return task
    return None


def _episode_step(issue, articles, narrations):
    label = "Build the issue's audio episode"
    episode = IssueEpisode.objects.filter(issue=issue).first()
    failure = _episode_failure(issue, episode)
    if failure is not None:
        return ReportedStep("episode", label, Status.FAILED, error=failure.error)
    with_audio = {pk for pk, narration in narrations.items() if narration.has_audio}
    in_episode = {chapter.get("article") for chapter in (episode.chapters if episode else [])}
    if episode and episode.audio_file and with_audio <= in_episode:
        detail = f"{len(episode.chapters)} chapter(s), {duration_text(episode.duration)}."
        return ReportedStep("episode", label, Status.DONE, detail)
    if not with_audio:
        return ReportedStep("episode", label, Status.PENDING, "Waits for the first narration.")
    return ReportedStep(
        "episode",
        label,
        Status.PENDING,
        f"Built from the narrations ready so far: {len(in_episode)} of {len(with_audio)}.",
    )


def issue_audio_steps(issue):
    articles = issue.live_articles() if issue.live else []
    narrations = Narration.objects.filter(article_id__in=[a.pk for a in articles]).in_bulk(
        field_name="article_id"
    )
    return [
        _narration_step(issue, articles, narrations),
        _episode_step(issue, articles, narrations),
    ]
