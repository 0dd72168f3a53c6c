from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.utils import timezone
from django_tasks import task

# Month ends kept back this far: the dashboard's default period and the
# month before it.
MONTHS_KEPT = 13


@task()
def snapshot_yesterday():
    """The scheduler's daily snapshot of the dashboard's figures for the
    publisher's yesterday (and any of the week before it, or of the last
    months' ends, that it missed). Idempotent: a day already kept is left as
    it is."""
    return take_snapshots(timezone.now())


def take_snapshots(now, days_back=7, months_back=MONTHS_KEPT):
    """Keep a snapshot of each of the `days_back` days before today and of
    the last day of each of the `months_back` months before this one that
    has none (or one kept under an older dashboard.SNAPSHOT_VERSION); the
    newest of them also keeps the cohort table. Returns how many were
    taken."""
    from . import counting, dashboard, metrics
    from .models import DailySnapshot

    counting.flush()
    today = metrics.local_date(now)
    this_month = metrics.month_start(today)
    wanted = {today - timedelta(days=n) for n in range(1, days_back + 1)}
    wanted |= {
        this_month - relativedelta(months=n - 1) - timedelta(days=1)
        for n in range(1, months_back + 1)
    }
    kept = set(dashboard.kept_snapshots().filter(day__in=wanted).values_list("day", flat=True))
    missing = sorted(wanted - kept)
    if not missing:
        return 0
    # What a snapshot keeps was read after this moment (see
    # metrics.months_with_changed_gross).
    computed_at = timezone.now()
    segments = metrics.load_segments()
    for day in missing:
        figures = dashboard.snapshot_figures(day, segments, now, with_cohorts=day == missing[-1])
        DailySnapshot.objects.update_or_create(
            day=day, defaults={"figures": figures, "computed_at": computed_at}
        )
    return len(missing)
