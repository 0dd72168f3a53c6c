from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "masthead.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wagtail.signals import page_published, page_unpublished

        from .signals import forget_navigation

        page_published.connect(forget_navigation, dispatch_uid="core_nav_published")
        page_unpublished.connect(forget_navigation, dispatch_uid="core_nav_unpublished")
