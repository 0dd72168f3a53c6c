from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "masthead.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"
