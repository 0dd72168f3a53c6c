"""The members area and the Insights dashboard in the Wagtail admin. Staff
only; every change goes through `insights.actions`."""

import csv
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from masthead.access.rules import Terms, decide
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import Plan
from masthead.newsroom.models import AccessLevel

from . import actions, dashboard, institutions, members
from .forms import BulkActionForm, MemberFilterForm, PeriodForm
from .models import Label, MemberNote
from .timeline import timeline

PAGE_SIZE = 50


class StaffOnlyMixin:
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _filters(request):
    form = MemberFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    return form, data


def _query_without(request, *names):
    params = {k: v for k, v in request.GET.items() if k not in names and v}
    return urlencode(params)


class MemberIndexView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "insights/admin/members.html"
    page_title = "Members"
    header_icon = "group"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": "Members"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form, data = _filters(self.request)
        found = members.filter_members(data)
        page = Paginator(found, PAGE_SIZE).get_page(self.request.GET.get("page"))
        rows = list(members.with_status(page.object_list))
        context.update(
            {
                "form": form,
                "page": page,
                "rows": [
                    {
                        "member": member,
                        "status": members.STATUSES[status],
                        "plan": subscription.plan.name if subscription else "",
                        "labels": labels,
                    }
                    for member, status, subscription, labels in rows
                ],
                "sort": data.get("sort") or "joined",
                "query": _query_without(self.request, "page"),
                "sort_query": _query_without(self.request, "page", "sort"),
                "bulk_form": BulkActionForm(),
                "labels": Label.objects.all(),
            }
        )
        return context


def members_csv(request):
    if not request.user.is_staff:
        raise PermissionDenied
    _form, data = _filters(request)
    response = StreamingHttpResponse(
        members.csv_rows(members.filter_members(data)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="members.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response


def members_bulk(request):
    if not request.user.is_staff or request.method != "POST":
        raise PermissionDenied
    _form, data = _filters(request)
    form = BulkActionForm(request.POST)
    back = f"{reverse('insights_members:index')}?{request.GET.urlencode()}"
    if not form.is_valid():
        messages.error(request, "Choose an action.")
        return redirect(back)
    chosen = members.filter_members(data)
    action = form.cleaned_data["action"]
    try:
        if action == "unsubscribe_newsletter":
            done = actions.unsubscribe_from_newsletter(chosen, actor=request.user)
            messages.success(request, f"{done} members unsubscribed from the newsletter.")
        elif action == "add_label":
            label = actions.label_named(form.cleaned_data["label"])
            done = actions.add_label(chosen, label, actor=request.user)
            messages.success(request, f"Label “{label}” added to {done} members.")
        else:
            label = Label.objects.filter(name=form.cleaned_data["label"].strip()).first()
            if label is None:
                raise ValueError("There is no label of that name.")
            done = actions.remove_label(chosen, label, actor=request.user)
            messages.success(request, f"Label “{label}” removed from {done} members.")
    except ValueError as error:
        messages.error(request, str(error))
    return redirect(back)


class MemberDetailView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "insights/admin/member.html"
    header_icon = "user"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.member = get_object_or_404(get_user_model(), pk=kwargs["pk"])

    def get_page_title(self):
        return self.member.get_full_name() or self.member.email

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("insights_members:index"), "label": "Members"},
            {"url": "", "label": self.member.email},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        member = self.member
        ((_m, status, subscription, labels),) = members.with_status([member])
        access = decide(member, Terms(AccessLevel.SUBSCRIBERS))
        context.update(
            {
                "member": member,
                "status": members.STATUSES[status],
                "subscription": subscription,
                "entitlement": current_entitlement(member),
                "access": access,
                "labels": labels,
                "all_labels": Label.objects.all(),
                "notes": MemberNote.objects.filter(member=member).select_related("author"),
                "events": timeline(member),
                "plans": Plan.objects.all(),
            }
        )
        return context

    def post(self, request, *args, **kwargs):
        member = self.member
        action = request.POST.get("action")
        try:
            if action == "comp":
                plan = get_object_or_404(Plan, pk=request.POST.get("plan"))
                ends = request.POST.get("ends_on")
                ends_at = None
                if ends:
                    from datetime import date, datetime, time

                    ends_at = timezone.make_aware(
                        datetime.combine(date.fromisoformat(ends), time.min)
                    )
                actions.grant_complimentary(
                    member,
                    plan,
                    actor=request.user,
                    ends_at=ends_at,
                    note=request.POST.get("note", ""),
                )
                messages.success(request, f"Complimentary {plan} granted.")
            elif action == "cancel":
                actions.cancel_subscription(member, actor=request.user)
                messages.success(request, "The subscription will end with its paid period.")
            elif action == "refund":
                actions.refund_subscription(member, actor=request.user)
                messages.success(request, "Refunded under the 60-day guarantee.")
            elif action == "resend":
                actions.resend_sign_in_link(member, actor=request.user)
                messages.success(request, f"A sign-in link is on its way to {member.email}.")
            elif action == "note":
                actions.add_note(member, request.POST.get("text", ""), actor=request.user)
                messages.success(request, "Note added.")
            elif action == "add_label":
                label = actions.label_named(request.POST.get("label", ""))
                actions.add_label(
                    get_user_model().objects.filter(pk=member.pk), label, actor=request.user
                )
            elif action == "remove_label":
                label = get_object_or_404(Label, name=request.POST.get("label", ""))
                actions.remove_label(
                    get_user_model().objects.filter(pk=member.pk), label, actor=request.user
                )
            else:
                messages.error(request, "Unknown action.")
        except (actions.BillingError, ValueError) as error:
            messages.error(request, getattr(error, "message", None) or str(error))
        return redirect("insights_members:detail", pk=member.pk)


def _period(request):
    form = PeriodForm(request.GET or None)
    default = dashboard.default_period()
    if form.is_valid():
        start = form.cleaned_data.get("start") or default.start_day
        end = form.cleaned_data.get("end") or default.end_day
        return form, dashboard.metrics.Period(start, end)
    return form, default


class DashboardView(StaffOnlyMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "insights/admin/dashboard.html"
    page_title = "Insights"
    header_icon = "doc-full"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": "Insights"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form, period = _period(self.request)
        headline, charts = dashboard.build_cached(period)
        context.update(
            {
                "form": form,
                "period": period,
                "headline": headline,
                "charts": charts,
                "chart_data": [chart.as_data() for chart in charts if chart.kind != "table"],
                "query": self.request.GET.urlencode(),
            }
        )
        return context


def chart_csv(request, slug):
    if not request.user.is_staff:
        raise PermissionDenied
    _form, period = _period(request)
    _headline, charts = dashboard.build_cached(period)
    chart = next((chart for chart in charts if chart.slug == slug), None)
    if chart is None:
        return HttpResponse("No such chart.", status=404, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(chart.columns)
    writer.writerows(chart.rows)
    response["Content-Disposition"] = (
        f'attachment; filename="{slug}-{period.start_day}-{period.end_day}.csv"'
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


def institutional_usage_csv(request):
    """The monthly usage report per institution, as CSV: every organisation's,
    or one's (?organisation=<id>), of every month or one (?month=YYYY-MM)."""
    if not request.user.is_staff:
        raise PermissionDenied
    organisation_id = month = None
    try:
        if request.GET.get("organisation"):
            organisation_id = int(request.GET["organisation"])
        if request.GET.get("month"):
            month = datetime.strptime(request.GET["month"], "%Y-%m").date()
    except ValueError:
        return HttpResponse(
            "organisation must be a number and month YYYY-MM.",
            status=400,
            content_type="text/plain",
        )
    return institutions.usage_csv(organisation_id, month)
