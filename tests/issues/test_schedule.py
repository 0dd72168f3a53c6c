from datetime import date

import pytest
from django.core.exceptions import ValidationError

from masthead.issues.models import IssueSchedule
from masthead.issues.schedule import Schedule, issue_code, parse_days


def test_default_schedule_is_24_issues_on_the_1st_and_15th():
    schedule = Schedule()
    dates = list(schedule.dates_between(date(2026, 1, 1), date(2026, 12, 31)))
    assert len(dates) == 24
    assert dates[:3] == [date(2026, 1, 1), date(2026, 1, 15), date(2026, 2, 1)]
    assert dates[-1] == date(2026, 12, 15)
    assert schedule.dates_after(date(2026, 12, 15), 2) == [date(2027, 1, 1), date(2027, 1, 15)]
    assert schedule.last_on_or_before(date(2026, 3, 14)) == date(2026, 3, 1)
    assert schedule.last_on_or_before(date(2026, 3, 15)) == date(2026, 3, 15)


def test_monthly_and_bimonthly_schedules():
    assert list(Schedule(12, (1,)).dates_between(date(2026, 1, 1), date(2026, 3, 31))) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert Schedule(6, (10,)).dates_after(date(2026, 1, 10), 3) == [
        date(2026, 3, 10),
        date(2026, 5, 10),
        date(2026, 7, 10),
    ]
    with pytest.raises(ValueError):
        Schedule(10, (1,))


def test_issue_numbers_restart_each_volume():
    schedule = Schedule()
    # Vol. 12, No. 22 came out on June 1, 2026.
    assert schedule.number_on(date(2026, 6, 1), 12, 22, date(2026, 6, 1)) == (12, 22)
    assert schedule.number_on(date(2026, 7, 1), 12, 22, date(2026, 6, 1)) == (12, 24)
    assert schedule.number_on(date(2026, 7, 20), 12, 22, date(2026, 6, 1)) == (13, 1)
    assert schedule.number_on(date(2026, 5, 31), 12, 22, date(2026, 6, 1)) == (12, 21)
    assert issue_code(13, 1) == "V13N1"


@pytest.mark.django_db
def test_schedule_setting_defaults_and_validation():
    setting = IssueSchedule.load()
    assert (setting.issues_per_year, parse_days(setting.publication_days)) == (24, (1, 15))
    assert Schedule.current() == Schedule(24, (1, 15))
    setting.issues_per_year = 7
    with pytest.raises(ValidationError):
        setting.full_clean()
    setting.publication_days = "1, 40"
    setting.issues_per_year = 24
    with pytest.raises(ValidationError):
        setting.full_clean()
