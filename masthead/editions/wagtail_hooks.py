"""Editions follow the admin: publishing an issue, or publishing or
unpublishing an article of a live issue, rebuilds that issue's editions in
the background (a no-op when the content hash has not changed)."""

from wagtail import hooks

from masthead.issues.models import IssuePage
from masthead.newsroom.models import ArticlePage

from .actions import schedule_edition_builds


@hooks.register("after_publish_page")
@hooks.register("after_unpublish_page")
def rebuild_editions_after_publish(request, page):
    page = page.specific
    if isinstance(page, IssuePage):
        issues = [page] if page.live else []
    elif isinstance(page, ArticlePage):
        issues = IssuePage.objects.live().filter(contents__article=page).distinct()
    else:
        return
    for issue in issues:
        schedule_edition_builds(issue)


@hooks.register("issue_publish_context")
def editions_of_the_issue(issue):
    """The issue's editions and their builds, on the publish screen."""
    from .models import Edition

    return {"editions": Edition.objects.filter(issue=issue).order_by("format")}
