from wagtail import hooks
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.ui.tables.pages import BulkActionsColumn, PageStatusColumn, PageTitleColumn
from wagtail.admin.viewsets.pages import PageListingViewSet
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import ArticlePage, Author


class AuthorViewSet(SnippetViewSet):
    model = Author
    icon = "user"
    menu_label = "Authors"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["name", "job_title", "slug"]
    search_fields = ["name"]


class ArticleListingViewSet(PageListingViewSet):
    """Every article in one flat list; new ones are created under a section."""

    model = ArticlePage
    icon = "doc-full"
    menu_label = "Articles"
    menu_order = 100
    add_to_admin_menu = True
    name = "articles"
    # Wagtail's page columns: the title opens the editor and carries the
    # page's actions; rows can be selected for bulk actions.
    list_display = [
        BulkActionsColumn("bulk_actions"),
        PageTitleColumn("title", label="Title", sort_key="title", classname="title"),
        DateColumn("date", label="Date", sort_key="date", width="12%"),
        Column("access_level", label="Access", accessor="get_access_level_display", width="12%"),
        PageStatusColumn("status", label="Status", sort_key="live", width="12%"),
        DateColumn(
            "latest_revision_created_at",
            label="Updated",
            sort_key="latest_revision_created_at",
            width="12%",
        ),
    ]
    list_filter = ["locked", "live", "access_level"]


register_snippet(AuthorViewSet)


@hooks.register("register_admin_viewset")
def register_article_listing():
    return ArticleListingViewSet()
