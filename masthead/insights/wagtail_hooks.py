from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component

from . import admin_views

member_urls = [
    path("", admin_views.MemberIndexView.as_view(), name="index"),
    path("export.csv", admin_views.members_csv, name="csv"),
    path("bulk/", admin_views.members_bulk, name="bulk"),
    path("<id:pk>/", admin_views.MemberDetailView.as_view(), name="detail"),
]
insight_urls = [
    path("", admin_views.DashboardView.as_view(), name="dashboard"),
    path("csv/<slug:slug>.csv", admin_views.chart_csv, name="chart_csv"),
    path(
        "institutional-usage.csv",
        admin_views.institutional_usage_csv,
        name="institutional_usage_csv",
    ),
]


@hooks.register("register_admin_urls")
def register_insights_urls():
    return [
        path("members/", include((member_urls, "insights_members"))),
        path("insights/", include((insight_urls, "insights"))),
    ]


class StaffMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.is_staff


@hooks.register("register_admin_menu_item")
def register_members_menu_item():
    return StaffMenuItem("Members", reverse("insights_members:index"), icon_name="group", order=290)


@hooks.register("register_admin_menu_item")
def register_insights_menu_item():
    return StaffMenuItem("Insights", reverse("insights:dashboard"), icon_name="doc-full", order=295)


class InsightsPanel(Component):
    """MRR and paying readers now, on the admin's home page."""

    name = "insights"
    order = 50
    template_name = "insights/admin/home_panel.html"

    def get_context_data(self, parent_context=None):
        from .dashboard import headline

        return {"headline": headline(), "url": reverse("insights:dashboard")}


@hooks.register("construct_homepage_panels")
def add_insights_panel(request, panels):
    if request.user.is_staff:
        panels.append(InsightsPanel())
