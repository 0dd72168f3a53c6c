from django.conf import settings
from django.db import models
from django.utils import timezone


class EditionFormat(models.TextChoices):
    EPUB = "epub", "EPUB"
    PDF_A4 = "pdf-a4", "PDF (A4)"
    PDF_LETTER = "pdf-letter", "PDF (US Letter)"


FILE_TYPES = {
    EditionFormat.EPUB: ("epub", "application/epub+zip"),
    EditionFormat.PDF_A4: ("pdf", "application/pdf"),
    EditionFormat.PDF_LETTER: ("pdf", "application/pdf"),
}


class Edition(models.Model):
    """An issue in one downloadable format: the file readers get now, and the
    state of the latest build.

    `file_name` (in the private storage) changes only when a build is
    complete, so a reader never gets half a file; `content_hash` says which
    content that file was built from.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Not built yet"
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Build failed"

    issue = models.ForeignKey("issues.IssuePage", on_delete=models.CASCADE, related_name="editions")
    format = models.CharField(max_length=12, choices=EditionFormat.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True)
    building_hash = models.CharField(
        max_length=64, blank=True, help_text="The content the build in progress started from."
    )
    build_started_at = models.DateTimeField(null=True, blank=True)
    build_owner = models.CharField(
        max_length=200, blank=True, help_text="The worker building it: host and process id."
    )
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "format"], name="unique_issue_edition")
        ]

    def __str__(self):
        return f"{self.issue} ({self.get_format_display()})"

    @property
    def is_available(self):
        return bool(self.file_name)

    @property
    def extension(self):
        return FILE_TYPES[self.format][0]

    @property
    def content_type(self):
        return FILE_TYPES[self.format][1]

    def download_name(self):
        issue = self.issue
        suffix = {"pdf-a4": "-a4", "pdf-letter": "-letter"}.get(self.format, "")
        return f"{issue.slug}{suffix}.{self.extension}"


class EditionDownload(models.Model):
    """A member downloaded an edition."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="edition_downloads"
    )
    issue = models.ForeignKey(
        "issues.IssuePage", on_delete=models.CASCADE, related_name="edition_downloads"
    )
    format = models.CharField(max_length=12, choices=EditionFormat.choices)
    content_hash = models.CharField(max_length=64, blank=True)
    downloaded_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-downloaded_at"]

    def __str__(self):
        return f"{self.member} downloaded {self.issue} ({self.format})"
