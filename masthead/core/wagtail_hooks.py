"""Core in the Wagtail admin: the failed background tasks, under Reports."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views

admin_urls = [
    path("failed/", admin_views.FailedTasksView.as_view(), name="failed_tasks"),
]


@hooks.register("register_admin_urls")
def register_core_admin_urls():
    return [path("tasks/", include((admin_urls, "core_admin"), namespace="core_admin"))]


class FailedTasksMenuItem(MenuItem):
    def is_shown(self, request):
        return admin_views.may_see_tasks(request.user)


@hooks.register("register_reports_menu_item")
def register_failed_tasks_report():
    return FailedTasksMenuItem(
        "Failed tasks", reverse("core_admin:failed_tasks"), icon_name="warning", order=1400
    )
