"""Imports in the Wagtail admin: Settings → Import, for staff."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views

admin_urls = [
    path("", views.ImportsView.as_view(), name="imports"),
    path("<int:run_id>/", views.RunView.as_view(), name="run"),
    path("<int:run_id>/progress/", views.run_progress, name="progress"),
]


@hooks.register("register_admin_urls")
def register_imports_admin_urls():
    return [path("imports/", include((admin_urls, "imports_admin"), namespace="imports_admin"))]


class ImportMenuItem(MenuItem):
    def is_shown(self, request):
        return views.may_import(request.user)


@hooks.register("register_settings_menu_item")
def register_import_menu_item():
    return ImportMenuItem("Import", reverse("imports_admin:imports"), icon_name="upload", order=910)
