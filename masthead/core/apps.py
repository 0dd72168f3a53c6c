from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "masthead.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save
        from wagtail.signals import (
            page_published,
            page_slug_changed,
            page_unpublished,
            post_page_move,
        )

        from . import converters  # noqa: F401  (registers <id:...> before URLs are read)
        from .signals import content_changed, image_changed, settings_changed

        for signal in (page_published, page_unpublished, page_slug_changed, post_page_move):
            signal.connect(content_changed, dispatch_uid=f"core_content_changed_{id(signal)}")
        post_delete.connect(content_changed, sender="wagtailcore.Page", dispatch_uid="core_page_deleted")
        post_save.connect(content_changed, sender="newsroom.Author", dispatch_uid="core_author")
        post_save.connect(
            settings_changed, sender="core.MagazineSettings", dispatch_uid="core_settings"
        )
        post_save.connect(image_changed, sender="newsroom.CreditedImage", dispatch_uid="core_image")
