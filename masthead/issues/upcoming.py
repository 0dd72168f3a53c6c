"""What the editors still have to do before each coming issue."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.utils import timezone

from masthead.newsroom.models import ArticlePage

from .models import IssuePage
from .schedule import Schedule


@dataclass
class UpcomingIssue:
    date: date
    issue: IssuePage | None = None
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _narrated_article_ids(article_ids):
    """Ids of the articles with a narration, when the audio app records them;
    None when it does not (the check is optional)."""
    try:
        narration = apps.get_model("audio", "Narration")
    except LookupError:
        return None
    for model_field in narration._meta.get_fields():
        related = getattr(model_field, "related_model", None)
        is_link = model_field.many_to_one or model_field.one_to_one
        if is_link and related is not None and issubclass(ArticlePage, related):
            name = model_field.name
            return set(
                narration.objects.filter(**{f"{name}__in": article_ids}).values_list(
                    f"{name}_id", flat=True
                )
            )
    return None


def check_issue(issue):
    """(problems, notes) for an issue, from its latest revision: what stops it
    going out as planned, and what is merely missing."""
    from .actions import not_ready_reason

    draft = issue.get_latest_revision_as_object() if issue.latest_revision_id else issue
    problems, notes = [], []
    if not draft.cover_image_id:
        problems.append("No cover image.")
    articles = issue.draft_contents()
    if not articles:
        problems.append("No articles.")
    for article in articles:
        if not article.live:
            reason = not_ready_reason(article)
            if reason:
                problems.append(f"Not published and not ready ({reason}): {article.title}")
            else:
                problems.append(f"Not published yet: {article.title}")
        elif article.has_unpublished_changes:
            notes.append(f"Has unpublished changes: {article.title}")
    narrated = _narrated_article_ids([article.pk for article in articles])
    if narrated is not None:
        for article in articles:
            if article.pk not in narrated:
                notes.append(f"No narration yet (optional): {article.title}")
    return problems, notes


def upcoming_issues(count=6, today=None):
    """The next `count` scheduled issue dates from today, each with its
    issue page if one exists, plus any other unpublished or future issues."""
    today = today or timezone.localdate()
    schedule = Schedule.current()
    dates = list(schedule.dates_between(today, today + timedelta(days=400)))[:count]
    pages = IssuePage.objects.filter(cover_date__gte=today) | IssuePage.objects.filter(live=False)
    by_date = {}
    for page in pages.select_related("cover_image").order_by("cover_date", "pk"):
        by_date.setdefault(page.cover_date, []).append(page)
    rows = []
    for day in sorted(set(dates) | set(by_date)):
        for page in by_date.get(day) or [None]:
            row = UpcomingIssue(date=day, issue=page)
            if page is None:
                row.problems.append("No issue yet.")
            else:
                row.problems, row.notes = check_issue(page)
                if day not in dates and day >= today:
                    row.notes.append("Not on the publishing schedule.")
            rows.append(row)
    return rows
