"""The Stripe client's connection: proxies named in the environment are
honoured, though read once rather than on every call."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from masthead.billing import stripe_api
from masthead.billing.remote import GatewayError

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture
def proxy(monkeypatch):
    """A forward proxy on 127.0.0.1 that notes each request and answers 502."""
    seen = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    yield seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_client(settings):
    # Nothing listens on the discard port: a direct call fails to connect.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_SECRET_KEY = "sk_test_proxy"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_api._client.cache_clear()
    yield
    stripe_api._client.cache_clear()


def test_calls_go_through_the_proxy_the_environment_names(proxy, fresh_client):
    with pytest.raises(GatewayError) as answered:
        stripe_api.retrieve_subscription("sub_proxied")
    assert answered.value.http_status == 502  # the proxy's answer
    with pytest.raises(GatewayError):
        stripe_api.retrieve_subscription("sub_again")
    assert proxy == [
        "http://127.0.0.1:9/v1/subscriptions/sub_proxied",
        "http://127.0.0.1:9/v1/subscriptions/sub_again",
    ]


def test_no_proxy_sends_calls_straight_to_stripe(proxy, fresh_client, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(GatewayError) as refused:
        stripe_api.retrieve_subscription("sub_direct")
    assert proxy == []
    assert refused.value.http_status is None  # no connection: nothing answered
