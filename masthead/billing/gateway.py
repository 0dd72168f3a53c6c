"""Which payment backend serves a call: Stripe when a secret key is set, the
local test mode otherwise. Subscriptions made in test mode (ids starting
"tm_") stay with test mode even after keys are configured."""

from django.conf import settings


def test_mode() -> bool:
    return not settings.STRIPE_SECRET_KEY


def current():
    from . import stripe_api, testmode

    return testmode if test_mode() else stripe_api


def for_id(stripe_id):
    from . import stripe_api, testmode

    return testmode if stripe_id.startswith("tm_") else stripe_api


def for_subscription(subscription):
    return for_id(subscription.stripe_subscription_id)
