"""The publishing schedule: the dates issues come out on, and their numbers.

The publisher sets the schedule in the admin (`IssueSchedule`: 24 issues a
year on the 1st and 15th by default). Whatever needs an issue date that has
no page yet (the admin's upcoming issues, a print run's expiry issues,
vacation holds) asks this module rather than counting days itself.
"""

from dataclasses import dataclass
from datetime import date

# Issues per year that divide the year into whole months, for each number of
# publication days in a month.
ALLOWED_ISSUES_PER_MONTH_STEP = (1, 2, 3, 4, 6, 12)


def parse_days(text):
    """Parse the days of the month: "1, 15" -> (1, 15). ValueError otherwise."""
    days = sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
    if not days or days[0] < 1 or days[-1] > 28:
        raise ValueError("Give one or more days of the month between 1 and 28.")
    return tuple(days)


@dataclass(frozen=True)
class Schedule:
    """`issues_per_year` issues, on `days` of every `month_step`-th month."""

    issues_per_year: int = 24
    days: tuple = (1, 15)

    def __post_init__(self):
        per_month_step = self.issues_per_year / len(self.days)
        if per_month_step not in ALLOWED_ISSUES_PER_MONTH_STEP:
            raise ValueError(
                f"{self.issues_per_year} issues a year on {len(self.days)} day(s) of the "
                "month does not divide the year into whole months."
            )

    @classmethod
    def current(cls):
        from .models import IssueSchedule

        setting = IssueSchedule.load()
        return cls(setting.issues_per_year, parse_days(setting.publication_days))

    @property
    def month_step(self):
        return 12 // (self.issues_per_year // len(self.days))

    def _publishes_in(self, month):
        return (month - 1) % self.month_step == 0

    def dates_between(self, start, end):
        """Every issue date d with start <= d <= end, in order."""
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            if self._publishes_in(month):
                for day in self.days:
                    candidate = date(year, month, day)
                    if start <= candidate <= end:
                        yield candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def dates_after(self, after, count):
        """The next `count` issue dates strictly after `after`."""
        found = []
        start = date.fromordinal(after.toordinal() + 1)
        while len(found) < count:
            end = date(start.year + 1, start.month, 1)
            found.extend(self.dates_between(start, end))
            start = date.fromordinal(end.toordinal() + 1)
        return found[:count]

    def last_on_or_before(self, day):
        earlier = list(self.dates_between(date(day.year - 1, day.month, 1), day))
        return earlier[-1]

    def count_between(self, after, until):
        """How many issue dates d with after < d <= until."""
        if until <= after:
            return 0
        return sum(1 for d in self.dates_between(after, until) if d > after)

    def number_on(self, target, reference_volume, reference_number, reference_date):
        """(volume, number) of the last issue on or before `target`, counting
        from a known issue and restarting the number each volume."""
        if target >= reference_date:
            offset = self.count_between(reference_date, target)
        else:
            offset = -self.count_between(target, reference_date)
        serial = (reference_volume - 1) * self.issues_per_year + (reference_number - 1) + offset
        return serial // self.issues_per_year + 1, serial % self.issues_per_year + 1


def issue_code(volume, number):
    """The short form mailing houses print: V12N24."""
    return f"V{volume}N{number}"
