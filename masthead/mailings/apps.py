from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "masthead.mailings"
    label = "mailings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking

        from .signals import on_tracking

        tracking.connect(on_tracking, dispatch_uid="mailings_tracking")
