from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "masthead.access"
    label = "access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save, pre_save
        from wagtail.signals import page_published, page_unpublished

        from masthead.core import pagecache
        from masthead.core.signals import settings_changed
        from masthead.newsroom.models import ArticlePage

        from . import pictures
        from .reading import early_pages
        from .signals import (
            article_published,
            member_changed,
            narration_saved,
            reader_pages_changed,
            subscription_changed,
        )

        # Kept article pages answer signed-in readers before Django does.
        if early_pages not in pagecache.personal_pages:
            pagecache.personal_pages.append(early_pages)
        # A session that ends is forgotten by this process at once (others
        # within GENERATION_TTL).
        user_logged_out.connect(
            lambda **kwargs: early_pages.brief.clear(), dispatch_uid="access_logged_out", weak=False
        )

        # What the paywall, the ads or a page's privacy show changes without
        # a publish: kept pages (the page cache, article variants) go stale.
        for sender in (
            "billing.Plan",
            "billing.Price",
            "ads.AdSlot",
            "wagtailcore.PageViewRestriction",
        ):
            for signal in (post_save, post_delete):
                signal.connect(
                    reader_pages_changed,
                    sender=sender,
                    dispatch_uid=f"access_pages_{sender}_{id(signal)}",
                )
        # The paywall settings are created with their defaults on first use;
        # only an editor's change alters pages.
        post_save.connect(
            settings_changed, sender="access.PaywallSettings", dispatch_uid="access_paywall"
        )
        # Search reads a reader without access against the teaser only.
        page_published.connect(
            article_published, sender=ArticlePage, dispatch_uid="access_teaser_index"
        )
        post_save.connect(narration_saved, sender="audio.Narration", dispatch_uid="access_audio")
        # A picture's files follow who may see it: a publish, an unpublish or
        # a deletion may make it gated or public.
        pre_save.connect(pictures.remember_pictures_before_save, dispatch_uid="access_pictures_pre")
        for signal in (page_published, page_unpublished):
            signal.connect(pictures.page_changed, dispatch_uid=f"access_pictures_{id(signal)}")
        post_delete.connect(pictures.page_deleted, dispatch_uid="access_pictures_deleted")
        for signal in (post_save, post_delete):
            signal.connect(
                subscription_changed,
                sender="billing.Subscription",
                dispatch_uid=f"access_subscription_{id(signal)}",
            )
            signal.connect(
                member_changed,
                sender=settings.AUTH_USER_MODEL,
                dispatch_uid=f"access_member_{id(signal)}",
            )
