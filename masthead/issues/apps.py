from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "masthead.issues"
    label = "issues"
    default_auto_field = "django.db.models.BigAutoField"
