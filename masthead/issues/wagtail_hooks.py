from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.menu import MenuItem

from . import admin_views
from .models import IssuePage

admin_urlpatterns = [
    path("upcoming/", admin_views.UpcomingIssuesView.as_view(), name="upcoming"),
    path("<id:pk>/publish/", admin_views.PublishIssueView.as_view(), name="publish"),
]


@hooks.register("register_admin_urls")
def register_issue_admin_urls():
    return [path("issues/", include((admin_urlpatterns, "issues_admin")))]


@hooks.register("register_admin_menu_item")
def register_upcoming_issues_menu_item():
    return MenuItem(
        "Upcoming issues", reverse("issues_admin:upcoming"), icon_name="date", order=205
    )


class PublishIssueMenuItem(ActionMenuItem):
    """The issue editor's "Publish issue" action: publishes the
    articles, builds the editions, closes the print run, emails subscribers."""

    name = "action-publish-issue"
    label = "Publish issue"
    icon_name = "upload"

    def is_shown(self, context):
        page = context.get("page")
        return (
            context.get("view") == "edit"
            and isinstance(page, IssuePage)
            and not context.get("locked_for_user")
            and self.get_user_page_permissions_tester(context).can_publish()
        )

    def get_url(self, parent_context):
        return reverse("issues_admin:publish", args=[parent_context["page"].pk])


@hooks.register("register_page_action_menu_item")
def register_publish_issue_menu_item():
    return PublishIssueMenuItem(order=35)
