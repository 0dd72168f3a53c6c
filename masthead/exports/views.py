"""The admin's Export page: "Export now", the exports so far with their
progress, and their downloads: for staff only, through links signed for a
few minutes, so a link copied out of the page soon stops working."""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from masthead.core.storage import private_storage, serve_private_file

from .actions import request_export
from .models import MagazineExport

LINK_SECONDS = 300
SALT = "masthead.exports.download"


def download_url(export):
    token = signing.TimestampSigner(salt=SALT).sign(str(export.pk))
    return reverse("exports_admin:download", args=[token])


def may_export(user):
    """Exports hold every reader's personal data: staff only."""
    return user.is_active and (user.is_staff or user.is_superuser)


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not may_export(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ExportsView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "exports/admin/exports.html"
    page_title = "Export"
    header_icon = "download"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        exports = list(MagazineExport.objects.select_related("requested_by")[:20])
        for export in exports:
            export.download_url = download_url(export)
        context.update(exports=exports, running=any(not e.is_finished for e in exports))
        return context

    def post(self, request):
        request_export(request.user)
        messages.success(request, "The export has started; it will be listed here when ready.")
        return redirect("exports_admin:exports")


def export_progress(request, export_id):
    if not may_export(request.user):
        raise PermissionDenied
    export = get_object_or_404(MagazineExport, pk=export_id)
    return JsonResponse(
        {"status": export.status, "progress": export.progress, "error": export.error}
    )


def download_export(request, token):
    if not may_export(request.user):
        raise PermissionDenied
    try:
        export_id = signing.TimestampSigner(salt=SALT).unsign(token, max_age=LINK_SECONDS)
    except signing.BadSignature:
        raise Http404("This link has expired: open the Export page again.")
    export = get_object_or_404(MagazineExport, pk=export_id, status=MagazineExport.Status.DONE)
    if not export.file or not private_storage.exists(export.file.name):
        raise Http404
    return serve_private_file(
        request,
        private_storage,
        export.file.name,
        content_type="application/zip",
        filename=export.file_name,
        as_attachment=True,
        cache_control="private, no-store",
    )
