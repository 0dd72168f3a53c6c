"""Which payment backend serves a call: Stripe when a secret key is set, the
local test mode otherwise. Subscriptions made in test mode (ids starting
"tm_") stay with test mode even after keys are configured."""

from types import ModuleType
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .models import Subscription


def test_mode() -> bool:
    return not settings.STRIPE_SECRET_KEY


def current() -> ModuleType:
    from . import stripe_api, testmode

    return testmode if test_mode() else stripe_api


def for_id(stripe_id: str) -> ModuleType:
    from . import stripe_api, testmode

    return testmode if stripe_id.startswith("tm_") else stripe_api


def for_subscription(subscription: "Subscription") -> ModuleType:
    return for_id(subscription.stripe_subscription_id)
