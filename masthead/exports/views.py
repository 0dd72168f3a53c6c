"""The admin's Export page: "Export now", the exports so far with their
progress, and their downloads (staff only)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from masthead.core.storage import private_storage, serve_private_file

from .actions import request_export
from .models import MagazineExport


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


def download_export(request, export_id):
    if not may_export(request.user):
        raise PermissionDenied
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
