from django.conf import settings
from django.db import models
from django.utils import timezone

from masthead.core.storage import get_private_storage


class MagazineExport(models.Model):
    """One "Export now" from the admin: the archive it wrote, and how far
    the background task has got. The file is in private storage and only
    staff download it (it holds readers' personal data)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Exporting"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.FileField(upload_to="exports", storage=get_private_storage, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = "magazine export"

    def __str__(self):
        return f"Export of {self.requested_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def file_name(self):
        return f"masthead-export-{self.requested_at:%Y-%m-%d-%H%M}.zip"
