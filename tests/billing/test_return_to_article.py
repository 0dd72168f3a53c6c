"""The paywall's plans link straight to checkout; once paid, the reader is
back on the article they came from, and only ever on a path of this site."""

import pytest
from django.urls import reverse

from masthead.billing import actions

from .test_testmode import CARD

ARTICLE = "/finance/the-lighthouse-ledger/"


@pytest.fixture
def local(test_mode, plans, member_client):
    return member_client


def _checkout_link(price, next_url):
    return reverse("billing:start_checkout", args=[price.pk]) + "?next=" + next_url


def _pay(client, price, next_url):
    start = client.get(_checkout_link(price, next_url))
    assert start.status_code == 303
    paid = client.post(start["Location"], CARD)
    assert paid.status_code == 302
    return client.get(paid["Location"])


def test_a_plan_link_starts_checkout_and_paying_returns_to_the_article(local, plans):
    landed = _pay(local, plans["digital/month"], ARTICLE)
    assert landed.status_code == 302
    assert landed["Location"] == ARTICLE


@pytest.mark.parametrize(
    "outside",
    [
        "https://evil.example.com/phish/",
        "//evil.example.com/phish/",
        "/\\evil.example.com/phish/",
        "javascript:alert(1)",
    ],
)
def test_an_outside_address_is_refused(local, plans, outside):
    landed = _pay(local, plans["digital/month"], outside)
    # The welcome page, with no way out but this site's own.
    assert landed.status_code == 200
    html = landed.content.decode()
    assert "Welcome to" in html
    assert "evil.example.com" not in html and "javascript:" not in html


def test_without_an_article_the_welcome_page_says_start_reading(local, plans):
    start = local.post(reverse("billing:start_checkout", args=[plans["digital/month"].pk]))
    paid = local.post(start["Location"], CARD)
    assert "next=" not in paid["Location"]
    assert "Start reading" in local.get(paid["Location"]).content.decode()


def test_a_reader_not_signed_in_signs_in_first_and_comes_back_to_the_link(test_mode, plans, client):
    link = _checkout_link(plans["digital/month"], ARTICLE)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")
    price_id = plans["digital/month"].pk
    assert response["Location"].endswith(
        f"/subscribe/checkout/{price_id}/%3Fnext%3D/finance/the-lighthouse-ledger/"
    )


def test_stripe_comes_back_to_the_success_page_with_the_article(settings):
    settings.SITE_URL = "https://meridian.example"
    assert actions.success_url("/subscribe/success/", "{CHECKOUT_SESSION_ID}", ARTICLE) == (
        "https://meridian.example/subscribe/success/?session_id={CHECKOUT_SESSION_ID}"
        "&next=%2Ffinance%2Fthe-lighthouse-ledger%2F"
    )
