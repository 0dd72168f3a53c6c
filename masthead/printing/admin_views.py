"""The publisher's print runs in the Wagtail admin: counts by country on
screen, the printer's file to download. Staff only."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .actions import PrintRunError, close_print_run, counts_by_country, print_run_csv
from .models import PrintRun


def require_staff(request):
    if not request.user.is_staff:
        raise PermissionDenied


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        require_staff(request)
        return super().dispatch(request, *args, **kwargs)


class PrintRunIndexView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "printing/admin/index.html"
    page_title = "Print runs"
    header_icon = "mail"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": "Print runs"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["runs"] = (
            PrintRun.objects.select_related("issue")
            .annotate(labels=Count("entries"), copies=Sum("entries__copies"))
            .order_by("-issue__cover_date")
        )
        return context


class PrintRunDetailView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "printing/admin/detail.html"
    header_icon = "mail"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.run = get_object_or_404(PrintRun.objects.select_related("issue"), pk=kwargs["pk"])

    def get_page_title(self):
        return f"Print run: {self.run.issue.title} ({self.run.issue.label})"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("printing_admin:index"), "label": "Print runs"},
            {"url": "", "label": self.run.issue.label},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows, totals = counts_by_country(self.run)
        context.update({"run": self.run, "countries": rows, "totals": totals})
        return context

    def post(self, request, *args, **kwargs):
        if "close" in request.POST and not self.run.is_closed:
            try:
                close_print_run(self.run.issue, user=request.user)
            except PrintRunError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "The print run is closed.")
        return redirect("printing_admin:detail", pk=self.run.pk)


def print_run_csv_view(request, pk):
    require_staff(request)
    run = get_object_or_404(PrintRun.objects.select_related("issue"), pk=pk)
    if not run.is_closed:
        raise Http404("The print run is still open.")
    response = HttpResponse(print_run_csv(run), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="print-run-{run.issue.slug}.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response
