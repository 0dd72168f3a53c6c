"""The Backups page of the Wagtail admin (Settings): the archives, 'Back up
now', and the progress of a backup under way. Archives are downloaded
through links signed for a few minutes, by staff allowed to see backups."""

from datetime import UTC, datetime
from fnmatch import fnmatch

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .actions import request_backup
from .models import Backup
from .snapshot import ARCHIVE_GLOB, archives, backup_folder

LINK_SECONDS = 300
SALT = "masthead.backups.download"


def download_url(name):
    token = signing.TimestampSigner(salt=SALT).sign(name)
    return reverse("backups_admin:download", args=[token])


class BackupsView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "backups/admin/backups.html"
    page_title = "Backups"
    header_icon = "download"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("backups.view_backup"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        runs = list(Backup.objects.select_related("requested_by")[:20])
        context.update(
            archives=[
                {
                    "name": path.name,
                    "size": path.stat().st_size,
                    "made": datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                    "url": download_url(path.name),
                }
                for path in archives()
            ],
            runs=runs,
            in_progress=any(run.in_progress for run in runs),
            can_back_up=self.request.user.has_perm("backups.add_backup"),
        )
        return context

    def post(self, request):
        if not request.user.has_perm("backups.add_backup"):
            raise PermissionDenied
        request_backup(request.user)
        messages.success(request, "Backup queued.")
        return HttpResponseRedirect(reverse("backups_admin:index"))


def download(request, token):
    if not request.user.has_perm("backups.view_backup"):
        raise PermissionDenied
    try:
        name = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LINK_SECONDS)
    except signing.BadSignature:
        raise Http404("This link has expired: open the Backups page again.")
    path = backup_folder() / name
    if "/" in name or not fnmatch(name, ARCHIVE_GLOB) or not path.is_file():
        raise Http404("No such backup.")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=name)  # noqa: SIM115
    response["Cache-Control"] = "private, no-store"
    return response
