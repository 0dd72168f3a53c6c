from django.apps import AppConfig


class EditionsConfig(AppConfig):
    name = "masthead.editions"
    label = "editions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.issues.actions import Step, register_step

        from .actions import build_published_issue_editions

        register_step(Step.Name.EDITIONS, build_published_issue_editions)
