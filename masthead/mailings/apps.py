from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "masthead.mailings"
    label = "mailings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.issues.actions import Step, register_step

        from .actions import announce_issue

        register_step(Step.Name.NOTIFY, announce_issue)
