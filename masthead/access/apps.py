from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "masthead.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, pre_save
        from wagtail.signals import page_published, page_unpublished

        from masthead.newsroom.models import ArticlePage

        from . import pictures
        from .signals import article_published

        # What a change makes stale in cached pages is serving's
        # (masthead/serving/invalidation.py).
        # Search reads a reader without access against the teaser only.
        page_published.connect(
            article_published, sender=ArticlePage, dispatch_uid="access_teaser_index"
        )
        # A picture's files follow who may see it: a publish, an unpublish or
        # a deletion may make it gated or public.
        pre_save.connect(pictures.remember_pictures_before_save, dispatch_uid="access_pictures_pre")
        for signal in (page_published, page_unpublished):
            signal.connect(pictures.page_changed, dispatch_uid=f"access_pictures_{id(signal)}")
        post_delete.connect(pictures.page_deleted, dispatch_uid="access_pictures_deleted")
