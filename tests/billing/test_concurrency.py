"""Concurrent webhook deliveries and double refund submissions, through a
real app server (granian, four worker processes) on a file SQLite database."""

import threading

import pytest
from django.urls import reverse

from tests.billing.appserver import AppServer, serve_test_database
from tests.billing.stripe_server import API_KEY, WEBHOOK_SECRET


def _together(functions):
    """Run the callables at the same moment from threads; their results."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        barrier.wait()
        results[index] = function()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.fixture
def live(transactional_db, stripe_live, tmp_path):
    servers = []

    def start():
        server = AppServer(
            tmp_path,
            serve_test_database(tmp_path),
            stripe_url=stripe_live.url,
            api_key=API_KEY,
            webhook_secret=WEBHOOK_SECRET,
        ).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_concurrent_deliveries_change_state_once(
    live, catalogue, member, member_client, stripe_live
):
    def pay(price):
        response = member_client.post(reverse("billing:start_checkout", args=[price.pk]))
        status, session = stripe_live.pay_checkout(response["Location"].rsplit("/", 1)[-1])
        assert status == 200
        return session

    first = pay(catalogue["digital/month"])
    server = live()
    url = server.url + "/billing/webhook/"

    # A forged delivery is refused however often it is retried.
    event = stripe_live.event("checkout.session.completed", first)
    assert stripe_live.deliver(url, event, secret="whsec_forged", attempts=3) == [400, 400, 400]
    assert server.sql("select count(*) from billing_stripeevent") == [(0,)]

    # One event delivered eight times at once.
    event = stripe_live.event("checkout.session.completed", first)
    statuses = _together([lambda: stripe_live.deliver(url, event)] * 8)
    assert [s[-1] for s in statuses] == [200] * 8, server.read_log()
    assert server.sql("select count(*), min(status), max(attempts) from billing_stripeevent") == [
        (1, "processed", 1)
    ]
    assert server.sql("select count(*) from billing_subscription") == [(1,)]
    assert server.sql("select count(*) from billing_payment") == [(1,)]
    assert server.mail_subjects().count("Welcome to Digital") == 1

    # Every event about one new subscription, each twice, all at once.
    server.sql("delete from billing_stripeevent")
    subscription = stripe_live.get(f"/v1/subscriptions/{first['subscription']}")
    invoice = stripe_live.get(f"/v1/invoices/{first['invoice']}")
    events = [
        stripe_live.event("customer.subscription.created", subscription),
        stripe_live.event("customer.subscription.updated", subscription),
        stripe_live.event("invoice.paid", invoice),
        stripe_live.event("checkout.session.completed", first),
    ]
    statuses = _together([lambda e=e: stripe_live.deliver(url, e) for e in events * 2])
    assert all(s[-1] == 200 for s in statuses), server.read_log()
    assert server.sql("select count(*) from billing_stripeevent where status = 'processed'") == [
        (4,)
    ]
    assert server.sql("select count(*) from billing_subscription") == [(1,)]
    assert server.sql("select count(*) from billing_payment") == [(1,)]
    assert server.mail_subjects().count("Welcome to Digital") == 1


@pytest.mark.slow
def test_two_tabs_refund_once(
    live, catalogue, member, member_client, stripe_live, django_capture_on_commit_callbacks
):
    response = member_client.post(
        reverse("billing:start_checkout", args=[catalogue["digital/month"].pk])
    )
    status, session = stripe_live.pay_checkout(response["Location"].rsplit("/", 1)[-1])
    assert status == 200
    with django_capture_on_commit_callbacks(execute=True):
        stripe_live.post_to_client(
            member_client, stripe_live.event("checkout.session.completed", session)
        )
    cookie = member_client.cookies["sessionid"].value
    server = live()

    token = "a" * 32
    headers = {
        "Cookie": f"sessionid={cookie}; csrftoken={token}",
        "X-CSRFToken": token,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    statuses = _together([lambda: server.post("/billing/refund/", b"reason=tabs", headers)] * 4)
    assert statuses == [302] * 4, server.read_log()
    assert server.sql("select count(*), min(status), sum(amount_refunded) from billing_refund") == [
        (1, "succeeded", 800)
    ]
    assert server.sql("select status from billing_subscription") == [("refunded",)]
    invoice_payments = stripe_live.get(f"/v1/invoice_payments?invoice={session['invoice']}")["data"]
    intent = stripe_live.get(
        f"/v1/payment_intents/{invoice_payments[0]['payment']['payment_intent']}"
    )
    assert len(stripe_live.refunds_of_charge(intent["latest_charge"]["id"])) == 1
    assert server.mail_subjects().count("Your refund of $8.00") == 1
