from django.apps import AppConfig


class PrintingConfig(AppConfig):
    name = "masthead.printing"
    label = "printing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from masthead.accounts.actions import ADDRESS_CHANGE_NOTICES
        from masthead.issues.actions import Step, register_step

        from .actions import close_published_issue_print_run, cutoff_notice_for

        register_step(Step.Name.PRINT_RUN, close_published_issue_print_run)
        if cutoff_notice_for not in ADDRESS_CHANGE_NOTICES:
            ADDRESS_CHANGE_NOTICES.append(cutoff_notice_for)
