from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "masthead.mailings"
    label = "mailings"
    default_auto_field = "django.db.models.BigAutoField"
