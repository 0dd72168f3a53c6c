from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "masthead.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import converters  # noqa: F401  (registers <id:...> before URLs are read)

        # What a change makes stale (the navigation, pages) is serving's:
        # masthead/serving/invalidation.py.
