"""Refund and cancel each ask first, on a page that says what will happen;
nothing on the account page refunds or cancels in one click."""

import re

import pytest
from django.urls import reverse

from masthead.billing import actions
from masthead.billing.models import Refund, Subscription

from .test_testmode import CARD


@pytest.fixture
def subscribed(test_mode, plans, member_client, member):
    start = member_client.post(reverse("billing:start_checkout", args=[plans["digital/month"].pk]))
    member_client.post(start["Location"], CARD)
    return Subscription.objects.get(member=member)


def test_the_account_page_only_links_to_the_confirmations(subscribed, member_client):
    html = member_client.get("/account/").content.decode()
    assert '<a class="button button--secondary" href="/billing/cancel/">' in html
    assert '<a class="button button--secondary" href="/billing/refund/">' in html
    forms = re.findall(r'<form[^>]*action="([^"]+)"', html)
    assert "/billing/cancel/" not in forms and "/billing/refund/" not in forms


def test_the_refund_page_names_the_amount_and_that_access_ends_now(subscribed, member_client):
    page = member_client.get("/billing/refund/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>$8.00</strong> goes back to the card you paid with" in html
    assert "your access ends as soon as you confirm" in html
    assert '<form method="post" action="/billing/refund/">' in html
    assert "Refund $8.00 and end my access now</button>" in html
    # Opening the page changes nothing.
    assert not Refund.objects.exists()
    subscribed.refresh_from_db()
    assert subscribed.status == Subscription.Status.ACTIVE

    member_client.post("/billing/refund/", {"reason": "Changed my mind"})
    subscribed.refresh_from_db()
    assert subscribed.status == Subscription.Status.REFUNDED


def test_the_cancel_page_names_the_date_access_ends_and_that_it_can_resume(
    subscribed, member_client
):
    page = member_client.get("/billing/cancel/")
    assert page.status_code == 200
    html = page.content.decode()
    until = actions.display_date(subscribed.current_period_end)
    assert f"<strong>You keep access until {until}</strong>" in html
    assert "you can resume it from your account until then" in html
    assert "Cancel my subscription</button>" in html
    subscribed.refresh_from_db()
    assert subscribed.cancel_at_period_end is False

    member_client.post("/billing/cancel/", {"reason": "Too busy"})
    subscribed.refresh_from_db()
    assert subscribed.cancel_at_period_end is True
    # Already cancelled: the page sends the member back to resume instead.
    assert member_client.get("/billing/cancel/")["Location"] == "/account/"


def test_without_a_payment_to_refund_the_page_says_why(test_mode, plans, member_client):
    response = member_client.get("/billing/refund/", follow=True)
    assert response.redirect_chain == [("/account/", 302)]
    assert "There is no payment to refund." in response.content.decode()


def test_the_confirmations_need_a_signed_in_member(test_mode, client):
    for url in ("/billing/refund/", "/billing/cancel/"):
        assert client.get(url)["Location"].startswith("/account/sign-in/")
