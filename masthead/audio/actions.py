"""State changes of narrations, issue episodes and podcast feed tokens.

Each is one function; slow work runs in tasks enqueued on commit. A
narration's new files are written under new names and recorded in one
transaction when complete, so a reader never gets a half-written file; the
old files are deleted only after that commit.
"""

import hashlib
import logging
import secrets
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import Revision

from masthead.core.taskqueue import enqueue_on_commit

from . import mastering
from .models import IssueEpisode, Narration, NarrationStatus, PodcastFeedToken
from .pipeline import (
    SegmentCache,
    magazine_name,
    plan_article,
    private_storage,
    render,
    synthesise,
    tagged,
)

logger = logging.getLogger(__name__)

# A narration that fails is tried this many times in all before it shows as failed.
MAX_ATTEMPTS = 3
RETRY_DELAY_SECONDS = 60


# --- Asking for narration ------------------------------------------------


def request_narration(article, revision_id=None, force=False):
    """Queue narration of an article's revision (default: the live one).

    Idempotent by revision: asking again for the revision already narrated
    or queued does nothing unless `force` (the editors' regenerate button).
    """
    from .tasks import narrate_article

    revision_id = revision_id or article.live_revision_id or article.latest_revision_id
    if revision_id is None:
        return None
    with transaction.atomic():
        narration, _ = Narration.objects.select_for_update(of=("self",)).get_or_create(
            article_id=article.pk
        )
        up_to_date = narration.narrated_revision_id == revision_id and narration.has_audio
        queued = narration.revision_id == revision_id and narration.status in (
            NarrationStatus.QUEUED,
            NarrationStatus.RUNNING,
        )
        if not force and (up_to_date or queued):
            return narration
        narration.revision_id = revision_id
        narration.status = NarrationStatus.QUEUED
        narration.attempts = 0
        narration.error = ""
        narration.requested_at = timezone.now()
        narration.save()
        enqueue_on_commit(narrate_article, article.pk, revision_id, force)
    return narration


def regenerate_narration(article, user=None):
    """The editors' button: narrate the live revision again.

    Unchanged sentences still come from the cache; what changed in the
    lexicon or the text is synthesised anew, and so is a sentence cached
    without word timings when the engine has them.
    """
    narration = request_narration(article, force=True)
    if narration is not None:
        log(instance=article, action="audio.narration_regenerate", user=user)
    return narration


def narrate_on_publish():
    """Whether publishing narrates: settings.NARRATE_ON_PUBLISH, on by default
    and off in the test settings (tests run tasks inline and would synthesise
    every article they publish)."""
    from django.conf import settings

    return bool(settings.NARRATE_ON_PUBLISH)


def on_page_published(sender, instance, revision=None, **kwargs):
    """Wagtail's page_published, for articles: narrate the new revision."""
    if narrate_on_publish():
        request_narration(instance, revision_id=revision.pk if revision else None)


def on_issue_published(sender, instance, **kwargs):
    from .tasks import build_issue_episode

    if narrate_on_publish():
        enqueue_on_commit(build_issue_episode, instance.pk)


# --- Narrating -----------------------------------------------------------


@dataclass
class Job:
    """One article revision being narrated."""

    narration: Narration
    revision: Revision
    page: object
    plan: object
    missing: dict
    name: str


def start_narration(page_id, revision_id, engine, force=False):
    """Mark the narration running and plan it; None when there is nothing to do."""
    revision = Revision.objects.filter(pk=revision_id).first()
    if revision is None:
        return None
    with transaction.atomic():
        narration, _ = Narration.objects.select_for_update(of=("self",)).get_or_create(
            article_id=page_id
        )
        if narration.revision_id and narration.revision_id > revision_id:
            return None  # a newer revision has been asked for
        if (
            not force
            and narration.narrated_revision_id == revision_id
            and narration.status == NarrationStatus.READY
        ):
            return None
        narration.revision_id = revision_id
        narration.status = NarrationStatus.RUNNING
        narration.attempts += 1
        narration.started_at = timezone.now()
        narration.engine = engine.name
        narration.voice = engine.voice
        narration.save()
    page = revision.as_object()
    name = magazine_name(page)
    plan = plan_article(page, engine, name=name)
    # Regenerating also gives sentences cached before word timings were kept
    # their timings, where the engine has them.
    missing = SegmentCache().missing(plan.texts, with_words=force and engine.word_timings)
    return Job(narration, revision, page, plan, missing, name)


def finish_narration(job, engine, cache):
    """Render the full and teaser audio, store them, swap them in."""
    storage = private_storage()
    page, narration = job.page, job.narration
    full = render(job.plan.full, engine, cache, storage)
    teaser = render(job.plan.teaser, engine, cache, storage)
    artist = ", ".join(a.name for a in _authors(page))
    stem = f"audio/narrations/{page.pk}/{job.revision.pk}-{uuid.uuid4().hex[:10]}"
    full_bytes = tagged(full, page.title, artist, job.name)
    teaser_bytes = tagged(teaser, f"{page.title} (opening)", artist, job.name)
    full_name = storage.save(f"{stem}-full.mp3", ContentFile(full_bytes))
    teaser_name = storage.save(f"{stem}-teaser.mp3", ContentFile(teaser_bytes))
    cache.touch(job.plan.keys)
    with transaction.atomic():
        current = Narration.objects.select_for_update(of=("self",)).get(pk=narration.pk)
        newer_asked = current.revision_id and current.revision_id > job.revision.pk
        old_files = [current.audio_file, current.teaser_file]
        current.narrated_revision_id = job.revision.pk
        current.audio_file, current.audio_size = full_name, len(full_bytes)
        current.duration = round(full.duration, 3)
        current.teaser_file, current.teaser_size = teaser_name, len(teaser_bytes)
        current.teaser_duration = round(teaser.duration, 3)
        current.timings = full.timings
        current.teaser_timings = teaser.timings
        current.segment_count = len(job.plan.texts)
        current.synthesised_count = len(job.missing)
        current.segment_keys = job.plan.keys
        current.engine, current.voice = engine.name, engine.voice
        current.finished_at = timezone.now()
        current.error = ""
        if not newer_asked:
            current.status = NarrationStatus.READY
            current.attempts = 0
        current.save()
        log(instance=page, action="audio.narration_ready")
        transaction.on_commit(partial(_delete_files, [f for f in old_files if f]))
        # The article page now has a player (or a new one): cached copies go.
        transaction.on_commit(_invalidate_pages)
        transaction.on_commit(partial(_rebuild_episodes, page.pk))
    return current


def fail_narration(narration_id, revision_id, error, started=True):
    """Record a failure; retry while attempts remain, else show it as failed.

    `started` is False when the run failed before it began (no engine), so
    the attempt is counted here.
    """
    from .tasks import narrate_article

    with transaction.atomic():
        narration = Narration.objects.select_for_update(of=("self",)).get(pk=narration_id)
        if not started:
            narration.attempts += 1
        narration.error = error
        narration.finished_at = timezone.now()
        retry = narration.attempts < MAX_ATTEMPTS and narration.revision_id == revision_id
        narration.status = NarrationStatus.QUEUED if retry else NarrationStatus.FAILED
        narration.save()
        if retry:
            task = narrate_article
            if task.get_backend().supports_defer:
                task = task.using(run_after=timezone.now() + timedelta(seconds=RETRY_DELAY_SECONDS))
            enqueue_on_commit(task, narration.article_id, revision_id)
        else:
            log(instance=narration.article, action="audio.narration_failed")
    return narration


def narrate_revision(page_id, revision_id, force=False, engine=None):
    """Narrate one article revision in this process. Returns what happened."""
    from .engines import get_engine

    try:
        engine = engine or get_engine()
        job = start_narration(page_id, revision_id, engine, force=force)
        if job is None:
            return "skipped"
        cache = SegmentCache()
        for key, samples, words in synthesise(engine, job.missing):
            cache.store(key, job.plan.texts[key], samples, engine, words)
        finish_narration(job, engine, cache)
        return "ready"
    except Exception as error:
        logger.exception("Narration of page %s revision %s failed", page_id, revision_id)
        narration = Narration.objects.filter(article_id=page_id).first()
        if narration is None or narration.revision_id != revision_id:
            raise
        started = narration.status == NarrationStatus.RUNNING
        fail_narration(narration.pk, revision_id, _describe(error), started=started)
        return "failed"


def _describe(error):
    lines = traceback.format_exception_only(type(error), error)
    return "".join(lines).strip()[:2000]


def _authors(page):
    from .script import article_authors

    return article_authors(page)


def _delete_files(names):
    storage = private_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not delete old narration file %s", name)


def delete_narration_files(sender, instance, **kwargs):
    """post_delete of Narration or IssueEpisode: drop their files after commit."""
    names = [getattr(instance, "audio_file", ""), getattr(instance, "teaser_file", "")]
    transaction.on_commit(partial(_delete_files, [n for n in names if n]))


def _invalidate_pages():
    from masthead.core.signals import pages_changed

    pages_changed.send(sender=None)


def _rebuild_episodes(article_id):
    from masthead.issues.models import IssueArticle

    from .tasks import build_issue_episode

    issue_ids = IssueArticle.objects.filter(article_id=article_id, issue__live=True).values_list(
        "issue_id", flat=True
    )
    for issue_id in issue_ids:
        build_issue_episode.enqueue(issue_id)


# --- Issue episodes ------------------------------------------------------


def build_episode(issue):
    """Join the issue's ready narrations into one MP3 with ID3 chapters.

    Rebuilt only when the narrations it is made of change.
    """
    from masthead.core.models import MagazineSettings

    narrations = {
        n.article_id: n
        for n in Narration.objects.filter(
            article__in=[a.pk for a in issue.live_articles()]
        ).exclude(audio_file="")
    }
    articles = [a for a in issue.live_articles() if a.pk in narrations]
    source_key = hashlib.sha256(
        "\n".join(narrations[a.pk].audio_file for a in articles).encode()
    ).hexdigest()
    episode, _ = IssueEpisode.objects.get_or_create(issue=issue)
    if not articles or (episode.source_key == source_key and episode.audio_file):
        return episode
    storage = private_storage()
    frames, chapters, position = [], [], 0.0
    for article in articles:
        with storage.open(narrations[article.pk].audio_file, "rb") as handle:
            data = mastering.strip_tags(handle.read())
        length = mastering.duration(data)
        chapters.append(
            {
                "title": article.title,
                "start": round(position, 3),
                "end": round(position + length, 3),
                "article": article.pk,
                "url": article.full_url,
            }
        )
        frames.append(data)
        position += length
    site = issue.get_site()
    name = MagazineSettings.for_site(site).name if site else ""
    album = f"{name}, {issue.title} ({issue.label})".strip(", ")
    tag = mastering.id3_tag(
        title=f"{issue.title} ({issue.label})",
        artist=name,
        album=album,
        chapters=[(c["start"], c["end"], c["title"]) for c in chapters],
    )
    data = tag + b"".join(frames)
    filename = storage.save(
        f"audio/issues/{issue.pk}/{uuid.uuid4().hex[:10]}.mp3", ContentFile(data)
    )
    with transaction.atomic():
        episode = IssueEpisode.objects.select_for_update(of=("self",)).get(pk=episode.pk)
        old = episode.audio_file
        episode.audio_file, episode.audio_size = filename, len(data)
        episode.duration = round(position, 3)
        episode.chapters = chapters
        episode.source_key = source_key
        episode.save()
        if old:
            transaction.on_commit(partial(_delete_files, [old]))
    return episode


# --- Private podcast feeds -----------------------------------------------


def rotate_podcast_token(user):
    """Revoke the member's feed address and issue a new one.

    Returns the new token; only its hash is stored, so it is shown once.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    with transaction.atomic():
        PodcastFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        PodcastFeedToken.objects.create(user=user, token_hash=PodcastFeedToken.hash(token))
    return token


def revoke_podcast_tokens(user):
    """Turn off the member's private feed (it answers 410 Gone)."""
    return PodcastFeedToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
