from django.apps import AppConfig


class ServingConfig(AppConfig):
    name = "masthead.serving"
    label = "serving"

    def ready(self) -> None:
        from . import invalidation

        invalidation.connect()
