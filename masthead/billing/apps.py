from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "masthead.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from masthead.accounts.actions import BEFORE_DELETE_HOOKS

        from .actions import cancel_for_deleted_member

        # A deleted member's subscriptions end first, inside the deletion.
        if cancel_for_deleted_member not in BEFORE_DELETE_HOOKS:
            BEFORE_DELETE_HOOKS.insert(0, cancel_for_deleted_member)
