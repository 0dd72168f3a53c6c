"""Print runs: opening, closing (the snapshot), the printer's file, holds.

Who is entitled to print is billing's answer
(`billing.entitlements.print_entitled_members(now)`), never worked out here;
where copies go is the member's `accounts.ShippingAddress`, validated when it
was entered.
"""

import csv
import io
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from masthead.issues.schedule import Schedule, issue_code

from .models import PrintRun, PrintRunEntry, PrintSettings, VacationHold


class PrintRunError(Exception):
    """A print run could not be closed."""


def default_cutoff(issue, print_settings=None):
    """Noon, `cutoff_days` before the cover date, in the site's time zone."""
    print_settings = print_settings or PrintSettings.load()
    day = issue.cover_date - timedelta(days=print_settings.cutoff_days)
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


def print_run_for(issue):
    """The issue's print run, opened with the default cut-off if it has none."""
    run, _ = PrintRun.objects.get_or_create(
        issue=issue, defaults={"cutoff_at": default_cutoff(issue)}
    )
    return run


def keyline_for(member):
    """The member number printed on the label: the account number, zero-padded."""
    return f"{member.pk:08d}"


def entitled_print_members(now):
    """[(member, entitlement)] for everyone entitled to print copies at `now`.

    Takes billing's `print_entitled_members(now)` as it is: pairs of member
    and Entitlement, or members (with an `entitlement` attribute, or else
    asked `current_entitlement`).
    """
    from masthead.billing import entitlements

    finder = getattr(entitlements, "print_entitled_members", None)
    if finder is None:
        raise PrintRunError("Billing does not provide print_entitled_members(now) yet.")
    members, seen = [], set()
    for item in finder(now):
        if isinstance(item, tuple | list):
            member, entitlement = item
        else:
            member = item
            entitlement = getattr(item, "entitlement", None) or entitlements.current_entitlement(
                member
            )
        if member.pk in seen or not member.is_active:
            continue
        if entitlement is None or not entitlement.includes_print:
            continue
        seen.add(member.pk)
        members.append((member, entitlement))
    return members


class ExpiryIssues:
    """The last issue each entitlement pays for, by the issues that exist
    and, beyond them, the schedule."""

    def __init__(self, issue):
        self.issue = issue
        self.schedule = Schedule.current()
        self._by_date = {}

    def code_for(self, entitlement):
        ends_at = entitlement.ends_at
        if ends_at is None:
            return ""
        last_day = timezone.localdate(ends_at)
        if last_day <= self.issue.cover_date:
            return issue_code(self.issue.volume, self.issue.number)
        last_date = self.schedule.last_on_or_before(last_day)
        if last_date not in self._by_date:
            from masthead.issues.models import IssuePage

            existing = IssuePage.objects.filter(cover_date=last_date).order_by("pk").first()
            if existing is not None:
                numbers = (existing.volume, existing.number)
            else:
                numbers = self.schedule.number_on(
                    last_date, self.issue.volume, self.issue.number, self.issue.cover_date
                )
            self._by_date[last_date] = issue_code(*numbers)
        return self._by_date[last_date]


def held_member_ids(issue):
    return set(
        VacationHold.objects.filter(
            first_issue_date__lte=issue.cover_date, last_issue_date__gte=issue.cover_date
        ).values_list("member_id", flat=True)
    )


@transaction.atomic
def close_print_run(issue, user=None, now=None):
    """Snapshot the members entitled to print now into the issue's print run
    and close it. Closing a closed run returns it unchanged."""
    from masthead.accounts.models import ShippingAddress

    run = print_run_for(issue)
    run = PrintRun.objects.select_for_update(of=("self",)).get(pk=run.pk)
    if run.is_closed:
        return run
    now = now or timezone.now()
    print_settings = PrintSettings.load()
    members = entitled_print_members(now)
    held = held_member_ids(issue)
    addresses = ShippingAddress.objects.in_bulk(
        [member.pk for member, _ in members], field_name="user_id"
    )
    expiry = ExpiryIssues(issue)
    entries, unaddressed, held_count = [], [], 0
    for member, entitlement in members:
        if member.pk in held:
            held_count += 1
            continue
        address = addresses.get(member.pk)
        keyline = keyline_for(member)
        if address is None:
            unaddressed.append(keyline)
            continue
        entries.append(
            PrintRunEntry(
                run=run,
                member=member,
                keyline=keyline,
                name=address.name or member.get_full_name() or member.email,
                company=address.company,
                line1=address.line1,
                line2=address.line2,
                city=address.city,
                region=address.region,
                postal_code=address.postal_code,
                country=address.country,
                expiry_issue=expiry.code_for(entitlement),
                copies=getattr(entitlement, "copies", 1) or 1,
            )
        )
    PrintRunEntry.objects.bulk_create(entries)
    run.columns = print_settings.columns()
    run.held_count = held_count
    run.unaddressed_keylines = sorted(unaddressed)
    run.status = PrintRun.Status.CLOSED
    run.closed_at = now
    run.closed_by = user if user is not None and user.is_authenticated else None
    run.save()
    return run


def close_published_issue_print_run(publication):
    """The print run step of publishing an issue (issues.actions)."""
    from masthead.issues.actions import issue_of

    run = close_print_run(issue_of(publication), user=publication.requested_by)
    labels = run.entries.count()
    return (
        f"{labels} label(s); {run.held_count} on vacation hold; "
        f"{len(run.unaddressed_keylines)} without a shipping address."
    )


def print_run_csv(run):
    """The printer's file: UTF-8 CSV, a header row, then one row per label
    sorted by country and postal code. The same bytes every time for a
    closed run."""
    columns = run.columns if run.is_closed else PrintSettings.load().columns()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([heading for _, heading in columns])
    for entry in run.ordered_entries():
        writer.writerow([entry.value(field) for field, _ in columns])
    return buffer.getvalue().encode("utf-8")


def counts_by_country(run):
    """[{country, name, labels, copies}] largest first, and the totals."""
    from masthead.accounts.countries import COUNTRIES

    rows = list(
        run.entries.values("country")
        .annotate(labels=Count("id"), copies=Sum("copies"))
        .order_by("-copies", "country")
    )
    for row in rows:
        row["name"] = COUNTRIES.get(row["country"], row["country"])
    totals = {
        "labels": sum(row["labels"] for row in rows),
        "copies": sum(row["copies"] for row in rows),
    }
    return rows, totals


def cutoff_notice_for(user, now=None):
    """What to tell a member who has just changed their shipping address,
    or None when the change reaches the next copy they are sent.

    A closed print run keeps the address of the moment it closed: when the
    member is on a run that closed within `mailing_days`, that issue goes to
    the old address and the change applies from the next issue.
    """
    if user is None or not user.is_authenticated:
        return None
    now = now or timezone.now()
    window = timedelta(days=PrintSettings.load().mailing_days)
    entry = (
        PrintRunEntry.objects.filter(
            member=user, run__status=PrintRun.Status.CLOSED, run__closed_at__gte=now - window
        )
        .select_related("run__issue")
        .order_by("-run__closed_at")
        .first()
    )
    if entry is None:
        return None
    issue = entry.run.issue
    return (
        f"{issue.title} ({issue.label}) has already gone to the mailing house with your "
        "previous address. Your new address applies from the next issue."
    )


# Vacation holds


def holdable_issue_dates(count=12, today=None):
    """The next issue dates a member can still pause: scheduled after today
    and not on a closed print run."""
    today = today or timezone.localdate()
    closed = set(
        PrintRun.objects.filter(
            status=PrintRun.Status.CLOSED, issue__cover_date__gte=today
        ).values_list("issue__cover_date", flat=True)
    )
    dates = Schedule.current().dates_after(today, count + len(closed))
    return [day for day in dates if day not in closed][:count]


def place_vacation_hold(member, first_issue_date, last_issue_date):
    """Pause print delivery for the issues dated first..last (inclusive)."""
    allowed = holdable_issue_dates(count=48)
    errors = {}
    if first_issue_date not in allowed:
        errors["first_issue_date"] = "Choose an upcoming issue."
    if last_issue_date not in allowed:
        errors["last_issue_date"] = "Choose an upcoming issue."
    if not errors and last_issue_date < first_issue_date:
        errors["last_issue_date"] = "The last issue comes on or after the first."
    if (
        not errors
        and VacationHold.objects.filter(
            member=member,
            first_issue_date__lte=last_issue_date,
            last_issue_date__gte=first_issue_date,
        ).exists()
    ):
        errors["first_issue_date"] = "This overlaps a hold you already have."
    if errors:
        raise ValidationError(errors)
    return VacationHold.objects.create(
        member=member, first_issue_date=first_issue_date, last_issue_date=last_issue_date
    )


def cancel_vacation_hold(hold):
    """Resume delivery. Issues already on a closed print run stay as they were."""
    hold.delete()


def current_holds(member, today=None):
    today = today or timezone.localdate()
    return list(VacationHold.objects.filter(member=member, last_issue_date__gte=today))
