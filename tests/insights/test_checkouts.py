"""Paywall views and the checkouts they led to: the paywall's subscribe link
names the article, the checkout keeps it, and a fulfilled checkout counts
for the article (through billing's hook, which insights registers)."""

from datetime import date
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from freezegun import freeze_time

from masthead.insights import counting, dashboard, metrics
from masthead.insights.models import Tally

CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}


@pytest.fixture
def test_mode(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    settings.SITE_URL = "http://testserver"
    settings.PUBLISHER_TIME_ZONE = "UTC"


@pytest.fixture
def price(db):
    from masthead.billing.actions import ensure_default_plans
    from masthead.billing.models import Price

    ensure_default_plans()
    return Price.objects.get(plan__code="digital", interval="month")


@pytest.fixture
def reader(client, db):
    member = get_user_model().objects.create_user(email="ada@example.com")
    client.force_login(member)
    return client


def checkouts():
    return {t.object_id: t.count for t in Tally.objects.filter(kind="checkout")}


def test_the_paywall_names_the_article_in_its_subscribe_link(test_mode, price, magazine, client):
    gated = magazine["gated"]
    anonymous = client.get(gated.url).content.decode()
    # Not signed in: an account first, then the plans, still naming the article.
    assert quote(f"/subscribe/?from={gated.pk}", safe="") in anonymous
    client.force_login(get_user_model().objects.create_user(email="ben@example.com"))
    signed_in = client.get(gated.url).content.decode()
    assert f'href="/subscribe/?from={gated.pk}"' in signed_in


def test_a_checkout_from_the_paywall_counts_once_for_its_article(
    test_mode, price, magazine, reader, django_capture_on_commit_callbacks
):
    gated = magazine["gated"]
    plans = reader.get(f"/subscribe/?from={gated.pk}").content.decode()
    assert f'<input type="hidden" name="from" value="{gated.pk}">' in plans
    response = reader.post(
        reverse("billing:start_checkout", args=[price.pk]), {"from": str(gated.pk)}
    )
    assert response.status_code == 303
    with django_capture_on_commit_callbacks(execute=True):
        reader.post(response["Location"], CARD)
        # Submitted twice, fulfilled once: one checkout.
        reader.post(response["Location"], CARD)
    assert checkouts() == {gated.pk: 1}


def test_a_plan_box_on_the_paywall_counts_its_checkout_for_the_article(
    test_mode, price, magazine, reader, django_capture_on_commit_callbacks
):
    import html
    import re

    gated = magazine["gated"]
    page = reader.get(gated.url).content.decode()
    start = reverse("billing:start_checkout", args=[price.pk])
    link = next(
        html.unescape(href)
        for href in re.findall(r'href="([^"]+)"', page)
        if html.unescape(href).startswith(start + "?")
    )
    assert f"from={gated.pk}" in link
    response = reader.get(link)
    assert response.status_code == 303
    with django_capture_on_commit_callbacks(execute=True):
        paid = reader.post(response["Location"], CARD)
    assert checkouts() == {gated.pk: 1}
    # The success page sends the reader back to the article they wanted.
    assert "next=" + quote(gated.url, safe="") in paid["Location"]


def test_a_checkout_not_from_a_paywall_counts_for_no_article(
    test_mode, price, magazine, reader, django_capture_on_commit_callbacks
):
    assert 'name="from"' not in reader.get("/subscribe/?from=x1").content.decode()
    response = reader.post(reverse("billing:start_checkout", args=[price.pk]), {"from": "x1"})
    with django_capture_on_commit_callbacks(execute=True):
        reader.post(response["Location"], CARD)
    assert checkouts() == {}


@freeze_time("2026-03-10 12:00")
def test_conversion_by_article_and_by_section(settings, magazine):
    settings.PUBLISHER_TIME_ZONE = "UTC"
    free, gated = magazine["free"], magazine["gated"]
    for kind, article, times in [
        ("read", free, 10),
        ("paywall_view", free, 2),
        ("read", gated, 3),
        ("paywall_view", gated, 8),
        ("checkout", gated, 2),
    ]:
        counting.count(kind, article.pk, times)
    counting.flush()
    period = metrics.Period(date(2026, 3, 1), date(2026, 3, 10))
    _headline, charts = dashboard.build(period)
    by_slug = {chart.slug: chart for chart in charts}
    # 2 checkouts of 8 paywall views: 25%; none of 2 on the free article.
    assert by_slug["articles"].rows == [
        ["Border talks resume", 10, 2, 0, 0.0],
        ["The bond market blinks", 3, 8, 2, 25.0],
    ]
    assert by_slug["sections"].rows == [
        ["Finance", 3, 8, 2, 25.0],
        ["Politics", 10, 2, 0, 0.0],
    ]
