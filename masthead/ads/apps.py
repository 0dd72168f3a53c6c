from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "masthead.ads"
    label = "ads"
    default_auto_field = "django.db.models.BigAutoField"
