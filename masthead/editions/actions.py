"""Building editions and handing them out.

A build is keyed by the issue's content hash: building an issue whose
content has not changed since its last build does nothing, and two workers
asked for the same content do the work once. A finished file is saved under
a new name in the private storage and swapped in only then; the file it
replaces is deleted after the swap.
"""

import logging
import os
import secrets
import socket
import time
from datetime import timedelta

from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from masthead.core.storage import save_atomically
from masthead.core.taskqueue import enqueue_on_commit

from .content import gather
from .models import Edition, EditionDownload, EditionFormat

logger = logging.getLogger(__name__)


def render_epub(content):
    from .epub import render_epub

    return render_epub(content)


def render_pdf_a4(content):
    from .pdf import render_pdf

    return render_pdf(content, page_size="A4")


def render_pdf_letter(content):
    from .pdf import render_pdf

    return render_pdf(content, page_size="letter")


# WeasyPrint and ebooklib load only in the process that builds.
RENDERERS = {
    EditionFormat.EPUB: render_epub,
    EditionFormat.PDF_A4: render_pdf_a4,
    EditionFormat.PDF_LETTER: render_pdf_letter,
}
# Ahead of the default: an issue's build is one task of seconds, while publishing
# its articles queues a narration of minutes for each; behind those, readers
# would wait for the downloads until every article had been read aloud.
BUILD_PRIORITY = 10
# A build that started this long ago and never finished died with its worker.
STALE_BUILD = timedelta(minutes=30)


class EditionBuildError(Exception):
    """One or more formats of an issue could not be built."""


def edition_storage():
    return storages["private"]


def schedule_edition_builds(issue):
    """Build the issue's editions in the task worker once this transaction commits."""
    from .tasks import build_issue_editions

    task = build_issue_editions
    if task.get_backend().supports_priority:
        task = task.using(priority=BUILD_PRIORITY)
    enqueue_on_commit(task, issue.pk)


def build_editions(issue, formats=None):
    """Bring every edition of a live issue up to date with its content.

    Returns {format: "built" | "current"}. Raises EditionBuildError when a
    format failed or is being built by another worker right now; the formats
    that did build stay built.
    """
    content = gather(issue)
    content_hash = content.content_hash()
    outcomes, problems = {}, []
    pictures_loaded = False
    for edition_format in formats or EditionFormat.values:
        edition, outcome = _claim(issue, edition_format, content_hash)
        if edition is None:
            outcomes[edition_format] = outcome
            if outcome == "building":
                problems.append(f"{edition_format}: being built by another worker")
            continue
        if not pictures_loaded:
            content.load_pictures()
            pictures_loaded = True
        try:
            _build(edition, content, content_hash)
        except Exception as error:
            logger.exception("Building %s failed", edition)
            problems.append(f"{edition_format}: {type(error).__name__}: {error}")
            outcomes[edition_format] = "failed"
        else:
            outcomes[edition_format] = "built"
    if problems:
        raise EditionBuildError("; ".join(problems))
    return outcomes


def build_owner():
    """This worker process, as a claim on a build names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_gone(owner):
    """Whether the process named by a claim has died: known only for a
    process on this host (another host's claim ages out after STALE_BUILD)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _claim(issue, edition_format, content_hash):
    """(edition, None) when this worker should build, else (None, why not).

    A build claimed by a worker that was killed is taken over at once when
    that worker ran on this host, else once the claim is STALE_BUILD old."""
    now = timezone.now()
    with transaction.atomic():
        edition, _ = Edition.objects.select_for_update(of=("self",)).get_or_create(
            issue=issue, format=edition_format
        )
        if edition.file_name and edition.content_hash == content_hash:
            return None, "current"
        if (
            edition.status == Edition.Status.BUILDING
            and edition.building_hash == content_hash
            and edition.build_started_at
            and edition.build_started_at > now - STALE_BUILD
            and not _owner_is_gone(edition.build_owner)
        ):
            return None, "building"
        edition.status = Edition.Status.BUILDING
        edition.building_hash = content_hash
        edition.build_started_at = now
        edition.build_owner = build_owner()
        edition.error = ""
        edition.save(
            update_fields=["status", "building_hash", "build_started_at", "build_owner", "error"]
        )
    return edition, None


def _build(edition, content, content_hash):
    storage = edition_storage()
    started = time.monotonic()
    try:
        data = RENDERERS[edition.format](content)
        # Under its name only once complete: a killed worker leaves no half file.
        name = save_atomically(
            storage,
            f"editions/{edition.issue_id}/{edition.issue.slug}-{edition.format}-"
            f"{content_hash[:12]}-{secrets.token_hex(4)}.{edition.extension}",
            data,
        )
    except Exception as error:
        Edition.objects.filter(pk=edition.pk, building_hash=content_hash).update(
            status=Edition.Status.FAILED, error=f"{type(error).__name__}: {error}"
        )
        raise
    with transaction.atomic():
        current = Edition.objects.select_for_update(of=("self",)).get(pk=edition.pk)
        if current.building_hash != content_hash:
            # A build of newer content started meanwhile: it will swap in.
            replaced = name
        else:
            replaced = current.file_name
            current.file_name = name
            current.size = len(data)
            current.content_hash = content_hash
            current.built_at = timezone.now()
            current.build_seconds = round(time.monotonic() - started, 3)
            current.status = Edition.Status.READY
            current.building_hash = ""
            current.save()
    if replaced:
        try:
            storage.delete(replaced)
        except Exception:
            logger.warning("Could not delete the replaced edition file %s", replaced, exc_info=True)
    return current


def record_download(member, edition):
    return EditionDownload.objects.create(
        member=member,
        issue_id=edition.issue_id,
        format=edition.format,
        content_hash=edition.content_hash,
    )


def build_published_issue_editions(publication):
    """The editions step of publishing an issue (issues.actions)."""
    from masthead.issues.actions import issue_of

    outcomes = build_editions(issue_of(publication))
    return ", ".join(f"{name}: {outcome}" for name, outcome in sorted(outcomes.items()))
