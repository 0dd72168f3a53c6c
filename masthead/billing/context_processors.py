from django.http import HttpRequest

from . import gateway


def billing(request: HttpRequest) -> dict[str, bool]:
    """`billing_test_mode` for the site-wide test-mode banner."""
    return {"billing_test_mode": gateway.test_mode()}
