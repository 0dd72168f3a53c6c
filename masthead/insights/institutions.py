"""The monthly usage report per institution, as libraries expect it
(COUNTER-like: one row per month and organisation, article views and
downloads), from the counts access keeps (`billing.InstitutionalUse`)."""

from collections.abc import Iterator
from datetime import date

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
