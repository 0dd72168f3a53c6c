from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

# What a print-run row can show, in the mailing house's file.
ENTRY_FIELDS = {
    "keyline": "Keyline (member number)",
    "name": "Name",
    "company": "Company",
    "line1": "Address line 1",
    "line2": "Address line 2",
    "city": "City",
    "region": "State, province or region",
    "postal_code": "Postal code",
    "country": "Country (ISO code)",
    "country_name": "Country (name)",
    "expiry_issue": "Expiry issue",
    "copies": "Copies",
}
DEFAULT_COLUMNS = "\n".join(
    [
        "keyline: KEYLINE",
        "name: NAME",
        "company: COMPANY",
        "line1: ADDRESS1",
        "line2: ADDRESS2",
        "city: CITY",
        "region: STATE",
        "postal_code: ZIP",
        "country: COUNTRY",
        "expiry_issue: EXPIRE",
        "copies: COPIES",
    ]
)


class PrintRunClosed(Exception):
    """A closed print run, or one of its rows, was about to change."""


def parse_columns(text):
    """Parse the column layout: "field: Heading" lines -> [[field, heading]]."""
    columns, seen = [], set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        field, _, heading = line.partition(":")
        field, heading = field.strip(), heading.strip() or field.strip()
        if field not in ENTRY_FIELDS:
            raise ValueError(
                f"Line {number}: {field!r} is not a column. Use one of: {', '.join(ENTRY_FIELDS)}."
            )
        if field in seen:
            raise ValueError(f"Line {number}: {field!r} appears twice.")
        seen.add(field)
        columns.append([field, heading])
    if not columns:
        raise ValueError("Name at least one column.")
    return columns


@register_setting(icon="mail")
class PrintSettings(BaseGenericSetting):
    """How the mailing list goes to the mailing house."""

    csv_columns = models.TextField(
        default=DEFAULT_COLUMNS,
        help_text=(
            "The print file's columns, in order, one per line as field: heading. Fields: "
            + ", ".join(ENTRY_FIELDS)
            + "."
        ),
    )
    cutoff_days = models.PositiveSmallIntegerField(
        default=7, help_text="How many days before an issue's cover date its mailing list closes."
    )
    mailing_days = models.PositiveSmallIntegerField(
        default=14,
        help_text=(
            "For how many days after a run closes a member who changes their address is told "
            "that the change applies from the next issue."
        ),
    )

    panels = [FieldPanel("csv_columns"), FieldPanel("cutoff_days"), FieldPanel("mailing_days")]

    class Meta:
        verbose_name = "print runs"

    def __str__(self):
        return "Print run settings"

    def clean(self):
        try:
            parse_columns(self.csv_columns)
        except ValueError as error:
            raise ValidationError({"csv_columns": str(error)})

    def columns(self):
        return parse_columns(self.csv_columns)


class PrintRun(models.Model):
    """An issue's mailing list for the printer.

    Open until `close_print_run` snapshots the members entitled to print at
    that moment into PrintRunEntry rows; closed, it never changes, and its
    file downloads byte for byte the same, in the column layout of the day it
    closed.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    issue = models.OneToOneField(
        "issues.IssuePage", on_delete=models.PROTECT, related_name="print_run"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    cutoff_at = models.DateTimeField(help_text="When the mailing list is due to close.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    columns = models.JSONField(default=list, blank=True, help_text="[[field, heading]] at closing.")
    held_count = models.PositiveIntegerField(default=0)
    unaddressed_keylines = models.JSONField(
        default=list, blank=True, help_text="Entitled members left out for want of an address."
    )

    class Meta:
        ordering = ["-cutoff_at"]

    def __str__(self):
        return f"Print run for {self.issue}"

    def save(self, *args, **kwargs):
        if self.pk and PrintRun.objects.filter(pk=self.pk, status=self.Status.CLOSED).exists():
            raise PrintRunClosed(f"{self} is closed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_closed:
            raise PrintRunClosed(f"{self} is closed.")
        return super().delete(*args, **kwargs)

    @property
    def is_closed(self):
        return self.status == self.Status.CLOSED

    def ordered_entries(self):
        return self.entries.order_by("country", "postal_code", "keyline", "pk")


class PrintRunEntry(models.Model):
    """One mailing label, as it was when the run closed."""

    run = models.ForeignKey(PrintRun, on_delete=models.CASCADE, related_name="entries")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="print_run_entries",
    )
    keyline = models.CharField(max_length=20)
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2)
    expiry_issue = models.CharField(max_length=20, blank=True)
    copies = models.PositiveSmallIntegerField(default=1)

    class Meta:
        verbose_name_plural = "print run entries"
        constraints = [
            models.UniqueConstraint(fields=["run", "keyline"], name="unique_print_run_keyline")
        ]

    def __str__(self):
        return f"{self.keyline} {self.name}"

    def save(self, *args, **kwargs):
        if self.run.is_closed:
            raise PrintRunClosed(f"{self.run} is closed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.run.is_closed:
            raise PrintRunClosed(f"{self.run} is closed.")
        return super().delete(*args, **kwargs)

    def value(self, field):
        if field == "country_name":
            from masthead.accounts.countries import COUNTRIES

            return COUNTRIES.get(self.country, self.country)
        return getattr(self, field)


class VacationHold(models.Model):
    """A member's pause of print delivery for the issues dated from
    `first_issue_date` to `last_issue_date` (issue cover dates, from the
    schedule, so a hold can name issues that have no page yet)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vacation_holds"
    )
    first_issue_date = models.DateField()
    last_issue_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_issue_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_issue_date__lte=models.F("last_issue_date")),
                name="vacation_hold_in_order",
            )
        ]

    def __str__(self):
        return f"{self.member}: no print from {self.first_issue_date} to {self.last_issue_date}"

    def covers(self, day):
        return self.first_issue_date <= day <= self.last_issue_date
