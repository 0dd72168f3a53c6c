"""Exports started from the admin: asking for one, and writing it."""

import logging
import tempfile

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from masthead.core.storage import private_storage, save_atomically
from masthead.core.taskqueue import enqueue_on_commit

from .archive import write_archive
from .models import MagazineExport

logger = logging.getLogger(__name__)


@transaction.atomic
def request_export(user):
    """Queue an export of the whole magazine; the worker writes it."""
    from .tasks import export_magazine

    export = MagazineExport.objects.create(requested_by=user)
    enqueue_on_commit(export_magazine, export.pk)
    return export


def run_export(export_id):
    """Write the archive of one requested export into private storage. Safe
    to run again: a finished export is left as it is, and one cut short
    starts over (nothing is published under its name until it is whole)."""
    export = MagazineExport.objects.filter(pk=export_id).first()
    if export is None or export.is_finished:
        return export
    MagazineExport.objects.filter(pk=export.pk).update(
        status=MagazineExport.Status.RUNNING, started_at=timezone.now(), progress=0
    )

    def progress(done, total):
        MagazineExport.objects.filter(pk=export.pk).update(progress=100 * done // total)

    try:
        with tempfile.TemporaryFile() as scratch:
            manifest = write_archive(scratch, progress=progress)
            name = save_atomically(private_storage, f"exports/{export.file_name}", File(scratch))
    except Exception as error:
        logger.exception("Export %s failed", export.pk)
        MagazineExport.objects.filter(pk=export.pk).update(
            status=MagazineExport.Status.FAILED, error=str(error), finished_at=timezone.now()
        )
        raise
    MagazineExport.objects.filter(pk=export.pk).update(
        status=MagazineExport.Status.DONE,
        file=name,
        size=private_storage.size(name),
        counts=manifest["counts"],
        progress=100,
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export
