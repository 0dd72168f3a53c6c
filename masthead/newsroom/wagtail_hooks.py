from wagtail import hooks
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
    list_display = ["title", "date", "access_level", "live", "latest_revision_created_at"]
    list_filter = ["locked", "live", "access_level"]


register_snippet(AuthorViewSet)


@hooks.register("register_admin_viewset")
def register_article_listing():
    return ArticleListingViewSet()
