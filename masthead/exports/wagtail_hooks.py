"""Exports in the Wagtail admin: Settings → Export, for staff."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views

admin_urls = [
    path("", views.ExportsView.as_view(), name="exports"),
    path("<id:export_id>/progress/", views.export_progress, name="progress"),
    path("download/<str:token>/", views.download_export, name="download"),
]


@hooks.register("register_admin_urls")
def register_exports_admin_urls():
    return [path("exports/", include((admin_urls, "exports_admin"), namespace="exports_admin"))]


class ExportMenuItem(MenuItem):
    def is_shown(self, request):
        return views.may_export(request.user)


@hooks.register("register_settings_menu_item")
def register_export_menu_item():
    return ExportMenuItem(
        "Export", reverse("exports_admin:exports"), icon_name="download", order=900
    )
