from tests.billing.conftest import catalogue, plans, stripe_live, stripe_server  # noqa: F401
