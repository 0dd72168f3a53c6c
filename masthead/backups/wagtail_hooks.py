from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_views

admin_urls = [
    path("", admin_views.BackupsView.as_view(), name="index"),
    path("download/<str:token>/", admin_views.download, name="download"),
]


@hooks.register("register_admin_urls")
def register_backups_admin_urls():
    return [path("backups/", include((admin_urls, "backups_admin"), namespace="backups_admin"))]


class BackupsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("backups.view_backup")


@hooks.register("register_settings_menu_item")
def register_backups_menu_item():
    return BackupsMenuItem(
        "Backups", reverse("backups_admin:index"), icon_name="download", order=900
    )
