"""The monthly usage report per institution, as libraries expect it
(COUNTER-like: one row per month and organisation, article views and
downloads), from the counts access keeps (`billing.InstitutionalUse`)."""

import csv
from collections.abc import Iterator
from datetime import date

from django.http import HttpResponse
from django.utils.cache import patch_cache_control

from masthead.billing.models import InstitutionalUse

COLUMNS = ("Month", "Organisation", "Article views", "Downloads")


def usage_rows(organisation_id: int | None = None, month: date | None = None) -> Iterator[tuple]:
    """(month as YYYY-MM, organisation, article views, downloads), by month
    then organisation; one organisation's or one month's when given."""
    uses = InstitutionalUse.objects.select_related("organisation").order_by(
        "month", "organisation__name", "organisation_id"
    )
    if organisation_id is not None:
        uses = uses.filter(organisation_id=organisation_id)
    if month is not None:
        uses = uses.filter(month=month.replace(day=1))
    rows: dict[tuple[date, int], dict[str, object]] = {}
    for use in uses:
        row = rows.setdefault(
            (use.month, use.organisation_id),
            {
                "name": use.organisation.name,
                InstitutionalUse.Kind.ARTICLE_VIEW: 0,
                InstitutionalUse.Kind.DOWNLOAD: 0,
            },
        )
        row[use.kind] = use.count
    for (month_day, _organisation), row in rows.items():
        yield (
            f"{month_day:%Y-%m}",
            row["name"],
            row[InstitutionalUse.Kind.ARTICLE_VIEW],
            row[InstitutionalUse.Kind.DOWNLOAD],
        )


def usage_csv(organisation_id: int | None = None, month: date | None = None) -> HttpResponse:
    """The report as a CSV download, for staff and for an organisation's manager."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    writer.writerows(usage_rows(organisation_id, month))
    response["Content-Disposition"] = 'attachment; filename="institutional-usage.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response
