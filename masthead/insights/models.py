"""Labels and private notes on members, the staff actions taken from the
members area, daily snapshots of the dashboard's figures, and the server-side
counts of reads, paywall views, checkouts and narration progress."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Label(models.Model):
    """A tag staff put on members ("press", "board", "lapsed 2024 offer")."""

    name = models.CharField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class MemberLabel(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member_labels"
    )
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="member_labels")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "label"], name="insights_one_label_each")
        ]
        indexes = [models.Index(fields=["label", "member"])]

    def __str__(self):
        return f"{self.label} on {self.member_id}"


class MemberNote(models.Model):
    """A private note staff keep about a member; readers never see it."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Note on {self.member_id} ({self.created_at:%Y-%m-%d})"


class StaffAction(models.Model):
    """One row per action staff took from the members area: who, on whom,
    what. The owning app's action keeps its own audit row too."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="staff_actions",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=50)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.action} ({self.member_id})"


class DailySnapshot(models.Model):
    """The dashboard's figures for one finished day in the publisher's time
    zone, computed once by the scheduler so history need not be recomputed."""

    day = models.DateField(unique=True)
    figures = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day"]

    def __str__(self):
        return f"Snapshot of {self.day}"


class Tally(models.Model):
    """How many times something happened to one object on one day: an
    article read or met the paywall, a checkout started from its paywall, a
    narration started, played past half, played to the end. No reader is
    recorded, only the count."""

    class Kind(models.TextChoices):
        READ = "read", _("Read")
        PAYWALL_VIEW = "paywall_view", _("Paywall view")
        CHECKOUT = "checkout", _("Checkout from the paywall")
        NARRATION_STARTED = "narration_started", _("Narration started")
        NARRATION_HALF = "narration_half", _("Narration past half")
        NARRATION_END = "narration_end", _("Narration to the end")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.PositiveIntegerField()
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "day"], name="insights_one_tally_a_day"
            )
        ]
        indexes = [models.Index(fields=["kind", "day"])]

    def __str__(self):
        return f"{self.kind} {self.object_id} {self.day}: {self.count}"
