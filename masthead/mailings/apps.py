from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "masthead.mailings"
    label = "mailings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from anymail.signals import tracking

        from masthead.accounts.actions import AFTER_SIGN_UP_HOOKS, SIGN_UP_CHOICES
        from masthead.core.email import RECIPIENT_FILTERS
        from masthead.issues.actions import Step, register_step

        from .actions import (
            announce_issue,
            keep_sign_up_choices,
            newsletters_at_sign_up,
            without_complainers,
        )
        from .signals import on_tracking

        tracking.connect(on_tracking, dispatch_uid="mailings_tracking")
        register_step(Step.Name.NOTIFY, announce_issue)
        if without_complainers not in RECIPIENT_FILTERS:
            RECIPIENT_FILTERS.append(without_complainers)
        if newsletters_at_sign_up not in SIGN_UP_CHOICES:
            SIGN_UP_CHOICES.append(newsletters_at_sign_up)
        if keep_sign_up_choices not in AFTER_SIGN_UP_HOOKS:
            AFTER_SIGN_UP_HOOKS.append(keep_sign_up_choices)
