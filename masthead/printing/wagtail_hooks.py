from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views

admin_urlpatterns = [
    path("", admin_views.PrintRunIndexView.as_view(), name="index"),
    path("<id:pk>/", admin_views.PrintRunDetailView.as_view(), name="detail"),
    path("<id:pk>/csv/", admin_views.print_run_csv_view, name="csv"),
]


@hooks.register("register_admin_urls")
def register_print_run_urls():
    return [path("print-runs/", include((admin_urlpatterns, "printing_admin")))]


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_menu_item")
def register_print_runs_menu_item():
    return StaffMenuItem("Print runs", reverse("printing_admin:index"), icon_name="mail", order=310)


@hooks.register("before_delete_page")
def keep_issues_with_closed_print_runs(request, page):
    """A closed print run is the record of what was mailed: its issue stays.
    An open one goes with its issue."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from masthead.issues.models import IssuePage

    from .models import PrintRun

    if not isinstance(page, IssuePage):
        return None
    run = PrintRun.objects.filter(issue=page).first()
    if run is None:
        return None
    if run.is_closed:
        messages.error(
            request,
            f"{page.title} cannot be deleted: its print run is closed and kept as the record "
            "of what was mailed. Unpublish it instead.",
        )
        return redirect("wagtailadmin_pages:edit", page.pk)
    if request.method == "POST":
        run.delete()
    return None


@hooks.register("upcoming_issues_rows")
def print_runs_of_upcoming_issues(rows):
    """Each coming issue's print run, on the upcoming issues list."""
    from .models import PrintRun

    issue_ids = [row.issue.pk for row in rows if row.issue]
    runs = PrintRun.objects.filter(issue_id__in=issue_ids).in_bulk(field_name="issue_id")
    for row in rows:
        if row.issue:
            row.print_run = runs.get(row.issue.pk)


@hooks.register("issue_publish_context")
def print_run_of_the_issue(issue):
    """The issue's print run, linked from the publish screen."""
    from .models import PrintRun

    return {"print_run": PrintRun.objects.filter(issue=issue).first()}
