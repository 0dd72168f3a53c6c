from datetime import timedelta

from django.utils import timezone
from django_tasks import task


@task()
def snapshot_yesterday():
    """The scheduler's daily snapshot of the dashboard's figures for the
    publisher's yesterday (and any of the week before it missed). Idempotent:
    a day already kept is left as it is."""
    return take_snapshots(timezone.now())


def take_snapshots(now, days_back=7):
    from . import counting, dashboard, metrics
    from .models import DailySnapshot

    counting.flush()
    today = metrics.local_date(now)
    wanted = [today - timedelta(days=n) for n in range(1, days_back + 1)]
    kept = set(DailySnapshot.objects.filter(day__in=wanted).values_list("day", flat=True))
    missing = [day for day in wanted if day not in kept]
    if not missing:
        return 0
    segments = metrics.load_segments()
    for day in missing:
        DailySnapshot.objects.get_or_create(
            day=day, defaults={"figures": dashboard.snapshot_figures(day, segments, now)}
        )
    return len(missing)
