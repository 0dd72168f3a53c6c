"""Cached article variants (serving/variants.py): one rendering per variant, served
to signed-in readers without routing, rendering or queries, and never kept
when the page is anyone's own."""

import pytest
from django.test import Client
from wagtail.models import PageViewRestriction

from masthead.access.models import PaywallSettings
from masthead.access.reading import reader_for
from tests.access.support import gated_sentence, make_reader

HIT = "X-Article-Cache"


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_cached_page_costs_a_subscriber_no_query(in_world, django_assert_num_queries):
    article = in_world.articles["subscribers"]
    client = client_for(make_reader("active", in_world))
    assert client.get(article.url)[HIT] == "stored"
    client.get(article.url)  # keeps the member and the entitlement
    with django_assert_num_queries(0):
        response = client.get(article.url)
    assert response[HIT] == "hit"
    assert gated_sentence("subscribers") in response.content.decode()


def test_a_member_without_a_cached_copy_costs_two_queries(in_world, django_assert_num_queries):
    from django.core.cache import cache

    article = in_world.articles["subscribers"]
    user = make_reader("active", in_world)
    client = client_for(user)
    client.get(article.url)
    cache.delete(f"serving:member:{user.pk}")
    cache.delete(f"serving:entitlement:{user.pk}")
    # The member (Django's own check of the session) and the entitlement;
    # whether they may use the admin this process knows from the first request.
    with django_assert_num_queries(2):
        assert client.get(article.url)[HIT] == "hit"


@pytest.mark.parametrize(
    "states",
    [
        ("active", "complimentary", "gift"),  # the same page: full, no ads
        ("free member", "lapsed", "refunded"),  # the same page: teaser, ads
    ],
)
def test_readers_with_the_same_variant_share_one_rendering(states, in_world):
    article = in_world.articles["subscribers"]
    pages = []
    for number, state in enumerate(states):
        client = client_for(make_reader(state, in_world))
        response = client.get(article.url)
        assert response[HIT] == ("hit" if number else "stored")
        pages.append(response.content)
    assert len(set(pages)) == 1


def test_each_variant_is_its_own_page(in_world):
    article = in_world.articles["subscribers"]
    subscriber = client_for(make_reader("active", in_world)).get(article.url).content.decode()
    member = client_for(make_reader("free member", in_world)).get(article.url).content.decode()
    anonymous = Client().get(article.url).content.decode()
    assert gated_sentence("subscribers") in subscriber and "ad-slot" not in subscriber
    assert 'data-paywall="subscription-required"' in member and "ad-slot" in member
    assert 'data-paywall="sign-in-required"' in anonymous and "Sign in</a>" in anonymous
    assert "Sign in</a>" not in member


def test_metered_pages_show_the_readers_own_count(in_world):
    paywall = PaywallSettings.load()
    paywall.metered, paywall.free_articles = True, 3
    paywall.save()
    article = in_world.articles["subscribers"]
    first = client_for(make_reader("free member", in_world))
    second = client_for(make_reader("metered, within the limit", in_world))
    assert "3 free articles for 30 days: 2 left." in first.get(article.url).content.decode()
    assert "3 free articles for 30 days: 0 left." in second.get(article.url).content.decode()
    # Reading it again costs nothing and says the same.
    assert "2 left." in first.get(article.url).content.decode()


def test_pages_behind_a_view_restriction_are_never_cached(in_world):
    article = in_world.articles["public"]
    PageViewRestriction.objects.create(page=article, restriction_type="login")
    assert Client().get(article.url).status_code == 302
    client = client_for(make_reader("active", in_world))
    for _ in range(3):
        response = client.get(article.url)
        assert response.status_code == 200 and HIT not in response
        assert "no-cache" in response["Cache-Control"]


def test_the_reader_is_worked_out_once_per_request(in_world, rf):
    from masthead.access.rules import reader_scope

    request = rf.get(in_world.articles["subscribers"].url)
    request.user = make_reader("active", in_world)
    with reader_scope():
        first = reader_for(request, in_world.articles["subscribers"])
        assert reader_for(request, in_world.articles["subscribers"]) is first
    assert first.full and not first.ads and first.variant == "full:subscriber:no-ads:in:-"
