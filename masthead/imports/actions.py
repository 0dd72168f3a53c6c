"""Imports started from the admin: upload and dry run, confirm, then the
write in the worker (`tasks.run_import`)."""

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from masthead.core.storage import private_storage
from masthead.core.taskqueue import enqueue_on_commit

from .models import ImportRun
from .records import ImportFormatError
from .registry import get
from .writer import ImportOptions, Report, plan_import, write_import


@contextmanager
def local_copies(run):
    """Local paths of a run's files (private storage may be remote)."""
    folder = Path(tempfile.mkdtemp(prefix="masthead-import-"))
    try:
        paths = {}
        names = {"export": run.export_file.name, **run.side_files} if run.export_file else {}
        for key, name in names.items():
            if not name:
                continue
            target = folder / f"{key}-{Path(name).name}"
            with private_storage.open(name, "rb") as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            paths[key] = target
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _parser(run, paths):
    importer = get(run.importer)
    side = {name: paths.get(name) for name in importer.side_file_help}
    return importer.parser_class()(paths["export"], **side)


def _options(run):
    return ImportOptions(
        section_mapping=dict(run.options.get("section_mapping") or {}),
        price_mapping=dict(run.options.get("price_mapping") or {}),
        plan_mapping=dict(run.options.get("plan_mapping") or {}),
    )


def start_import(user, importer, export_upload, side_uploads):
    """Store the uploaded files and make the dry-run report. Returns the run;
    a malformed file leaves it failed with the error, nothing imported."""
    run = ImportRun.objects.create(importer=importer, requested_by=user)
    run.export_file.save(f"{run.pk}-{export_upload.name}", export_upload, save=False)
    run.side_files = {
        name: private_storage.save(f"imports/{run.pk}-{name}-{upload.name}", upload)
        for name, upload in side_uploads.items()
        if upload
    }
    run.save()
    with local_copies(run) as paths:
        try:
            report = plan_import(_parser(run, paths), _options(run))
        except ImportFormatError as error:
            run.status = ImportRun.Status.FAILED
            run.error = f"Nothing was imported. {error}"
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            return run
    run.report = report.as_dict()
    run.total = report.total
    run.save(update_fields=["report", "total"])
    return run


def confirm_import(run, *, section_mapping, price_mapping):
    """The publisher's mappings applied to the report; the write queued."""
    from .tasks import run_import

    with transaction.atomic():
        report = Report.from_dict(run.report)
        for key, slug in section_mapping.items():
            if key in report.sections and slug:
                report.sections[key]["slug"] = slug
        for price_id, code in price_mapping.items():
            if price_id in report.prices:
                report.prices[price_id]["plan"] = code
        run.report = report.as_dict()
        run.options = {
            "section_mapping": {k: v["slug"] for k, v in report.sections.items()},
            "price_mapping": {k: v["plan"] for k, v in report.prices.items() if v["plan"]},
        }
        run.status = ImportRun.Status.QUEUED
        run.save(update_fields=["report", "options", "status"])
        enqueue_on_commit(run_import, run.pk)
    return run


def carry_out_import(run_id):
    """Write a confirmed run (or resume a stopped one). Idempotent: a
    finished run is left as it is."""
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or run.status == ImportRun.Status.DONE:
        return run
    with local_copies(run) as paths:
        try:
            write_import(_parser(run, paths), run, _options(run))
        except Exception:
            run.refresh_from_db()
    return run
