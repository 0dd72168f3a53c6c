from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "masthead.issues"
    label = "issues"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.core.signals import pages_refreshed
        from masthead.newsroom.site_tree import SITE_TREE_PAGES

        from .context_processors import forget_navigation
        from .site_tree import ensure_archive

        pages_refreshed.connect(forget_navigation, dispatch_uid="issues_navigation")
        if ensure_archive not in SITE_TREE_PAGES:
            SITE_TREE_PAGES.append(ensure_archive)
