from django.conf import settings
from django.db import models
from django.utils import timezone

from masthead.core.storage import get_private_storage


class ImportRun(models.Model):
    """One import of an export, from the admin or a command: the files, the
    dry-run report and mappings the publisher confirmed, and how far the
    write has got (so a run that stopped can be resumed)."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Dry run done, waiting for confirmation"
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Stopped"

    importer = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    export_file = models.FileField(upload_to="imports", storage=get_private_storage, blank=True)
    # Side files by the importer's names ("members", "images"...): paths in
    # private storage, or local paths for a command.
    side_files = models.JSONField(default=dict, blank=True)
    export_path = models.CharField(max_length=500, blank=True)
    options = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=dict, blank=True)
    # Records fully written (whole batches), and how many there are.
    position = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.importer} import of {self.created_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def percent(self):
        return int(100 * self.position / self.total) if self.total else 0

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ImportedObject(models.Model):
    """What one record of an export became, so a re-run updates it instead
    of making a second one. `fingerprint` is a hash of the record: an
    unchanged record is skipped."""

    class Kind(models.TextChoices):
        SECTION = "section"
        AUTHOR = "author"
        NEWSLETTER = "newsletter"
        PLAN = "plan"
        POST = "post"
        READER = "reader"
        IMAGE = "image"

    source = models.CharField(max_length=30)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source_id = models.CharField(max_length=255)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=40)
    # What Masthead has no field for: a reader's labels, note and newsletters.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "kind", "source_id"], name="imported_object_once"
            )
        ]

    def __str__(self):
        return f"{self.source} {self.kind} {self.source_id}"
