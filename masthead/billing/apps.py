from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "masthead.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from masthead.accounts.actions import BEFORE_DELETE_HOOKS

        from .actions import cancel_for_deleted_member
        from .views import seats_on_sign_in

        # A deleted member's subscriptions end first, inside the deletion.
        if cancel_for_deleted_member not in BEFORE_DELETE_HOOKS:
            BEFORE_DELETE_HOOKS.insert(0, cancel_for_deleted_member)
        # Accounts sits below billing: a seat by email domain is taken on
        # the sign-in Django announces (a magic link proves the address).
        user_logged_in.connect(seats_on_sign_in, dispatch_uid="billing_seats_on_sign_in")
