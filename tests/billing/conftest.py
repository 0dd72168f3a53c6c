import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.billing.stripe_server import API_KEY, WEBHOOK_SECRET, StripeServer

SHIPPING = {
    "name": "Ada Reader",
    "address": {
        "line1": "12 Main Street",
        "line2": "",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "US",
    },
}


@pytest.fixture(scope="session")
def stripe_server():
    """localstripe and its extensions on a free loopback port, for the session."""
    server = StripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_live(settings, stripe_server):
    """Masthead configured with Stripe keys, talking to the local Stripe."""
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = stripe_server.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SITE_URL = "http://testserver"
    return stripe_server


@pytest.fixture
def test_mode(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.SITE_URL = "http://testserver"


def _prices():
    from masthead.billing.models import Price

    return {
        f"{price.plan.code}/{price.interval}": price
        for price in Price.objects.select_related("plan")
    }


@pytest.fixture
def plans(db):
    """Digital and Digital + Print, monthly and yearly, as "code/interval"."""
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    return _prices()


@pytest.fixture
def catalogue(plans, stripe_live):
    """The default plans, created on the local Stripe as the publisher would."""
    from masthead.billing.actions import create_plan_on_stripe
    from masthead.billing.models import Plan

    for plan in Plan.objects.all():
        create_plan_on_stripe(plan)
    return _prices()


@pytest.fixture
def member(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(email="ada@example.com", full_name="Ada Reader")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


class Journey:
    """A member going through Stripe Checkout against the local Stripe."""

    def __init__(self, client, server, capture):
        self.client = client
        self.server = server
        self.capture = capture

    def start(self, price):
        response = self.client.post(reverse("billing:start_checkout", args=[price.pk]))
        assert response.status_code == 303, response.content
        return response["Location"].rsplit("/", 1)[-1]

    def pay(self, price, card="4242424242424242", shipping=None):
        session_id = self.start(price)
        status, session = self.server.pay_checkout(session_id, card=card, shipping=shipping)
        assert status == 200, session
        return session

    def webhook(self, type_, obj, **kwargs):
        with self.capture(execute=True):
            return self.server.post_to_client(self.client, self.server.event(type_, obj), **kwargs)

    def complete(self, price, shipping=None):
        """Checkout paid and its completion webhook delivered."""
        session = self.pay(price, shipping=shipping)
        response = self.webhook("checkout.session.completed", session)
        assert response.status_code == 200, response.content
        return session


@pytest.fixture
def journey(member_client, stripe_live, catalogue, django_capture_on_commit_callbacks):
    return Journey(member_client, stripe_live, django_capture_on_commit_callbacks)


@pytest.fixture
def staff_client(client, db):
    client.force_login(get_user_model().objects.create_superuser(email="publisher@example.com"))
    return client
