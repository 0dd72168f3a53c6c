"""Settings → Import in the Wagtail admin: upload an export, read the
dry-run report (and edit its section and price mappings), confirm, and
follow the import while the worker runs it. Staff only."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .actions import confirm_import, start_import
from .models import ImportRun
from .registry import IMPORTERS
from .writer import Report


def may_import(user):
    return user.is_active and (user.is_staff or user.is_superuser)


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not may_import(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class UploadForm(forms.Form):
    importer = forms.ChoiceField(label="From")
    export = forms.FileField(label="Export file")
    members = forms.FileField(label="Members or subscribers file (optional)", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["importer"].choices = [(i.name, i.label) for i in IMPORTERS.values()]


class ImportsView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "imports/admin/imports.html"
    page_title = "Import"
    header_icon = "upload"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", UploadForm())
        context["runs"] = ImportRun.objects.all()[:20]
        context["importers"] = IMPORTERS.values()
        return context

    def post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        importer = IMPORTERS[form.cleaned_data["importer"]]
        side = {}
        for name in importer.side_file_help:
            side[name] = (
                form.cleaned_data.get("members") if name in ("members", "subscribers") else None
            )
        run = start_import(request.user, importer.name, form.cleaned_data["export"], side)
        return redirect("imports_admin:run", run.pk)


class RunView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "imports/admin/run.html"
    page_title = "Import"
    header_icon = "upload"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        from masthead.billing.models import Plan
        from masthead.newsroom.models import SectionPage

        context = super().get_context_data(**kwargs)
        run = get_object_or_404(ImportRun, pk=self.kwargs["run_id"])
        report = Report.from_dict(run.report)
        context.update(
            run=run,
            report=report,
            problems=report.problem_lines(),
            plans=Plan.objects.order_by("sort_order"),
            sections=SectionPage.objects.order_by("path"),
        )
        return context

    def post(self, request, run_id):
        run = get_object_or_404(ImportRun, pk=run_id, status=ImportRun.Status.PLANNED)
        report = Report.from_dict(run.report)
        section_mapping = {
            key: request.POST.get(f"section-{key or 'none'}", "").strip() for key in report.sections
        }
        price_mapping = {key: request.POST.get(f"price-{key}", "") for key in report.prices}
        confirm_import(run, section_mapping=section_mapping, price_mapping=price_mapping)
        messages.success(request, "The import has started.")
        return redirect("imports_admin:run", run.pk)


def run_progress(request, run_id):
    if not may_import(request.user):
        raise PermissionDenied
    run = get_object_or_404(ImportRun, pk=run_id)
    return JsonResponse(
        {"status": run.status, "position": run.position, "total": run.total, "error": run.error}
    )
