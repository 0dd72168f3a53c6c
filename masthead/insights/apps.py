from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "masthead.insights"
    label = "insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.core import pagecache

        from . import counting

        # Anonymous article pages answered from the page cache never reach
        # Django: the cache tells this app about each hit instead.
        if counting.count_cached_page not in pagecache.hit_hooks:
            pagecache.hit_hooks.append(counting.count_cached_page)
