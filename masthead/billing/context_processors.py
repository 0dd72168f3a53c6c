from . import gateway


def billing(request):
    """`billing_test_mode` for the site-wide test-mode banner."""
    return {"billing_test_mode": gateway.test_mode()}
