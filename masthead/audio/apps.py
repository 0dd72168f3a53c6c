from django.apps import AppConfig


class AudioConfig(AppConfig):
    name = "masthead.audio"
    label = "audio"
    default_auto_field = "django.db.models.BigAutoField"
