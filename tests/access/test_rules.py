"""`access.decide`, `open_article` (the meter) and `shows_ads`, one rule at a
time. The full who-gets-what matrix is test_matrix.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from masthead.access.models import MeteredRead, PaywallSettings
from masthead.access.rules import (
    Access,
    Terms,
    decide,
    meter,
    open_article,
    reader_scope,
    shows_ads,
)
from masthead.access.teaser import split_body
from masthead.billing.models import Organisation, Subscription
from tests.access.support import make_reader
from tests.factories import make_article, paragraph

NOW = timezone.now()


class AnIssue:
    """Content that is not an article: subscribers only."""


def turn_meter_on(free_articles=2):
    paywall = PaywallSettings.load()
    paywall.metered, paywall.free_articles = True, free_articles
    paywall.save()


def test_content_without_a_level_is_for_subscribers(in_world):
    member = make_reader("free member", in_world)
    subscriber = make_reader("active", in_world)
    assert decide(member, AnIssue()) == Access(False, "subscription-required")
    assert decide(subscriber, AnIssue()) == Access(True, "subscriber")
    assert decide(None, AnIssue()) == Access(False, "sign-in-required")


def test_staff_read_everything(in_world, django_user_model):
    editor = django_user_model.objects.create_user("editor@example.org", is_staff=True)
    for article in in_world.articles.values():
        assert decide(editor, article)


def test_a_section_default_applies_unless_the_article_chooses(in_world):
    article = in_world.articles["subscribers"]
    assert article.access_level == "" and article.effective_access_level == "subscribers"
    section = article.section
    section.default_access_level = "public"
    section.save_revision().publish()
    article.refresh_from_db()
    del article.section
    assert decide(None, article) == Access(True, "public")


def test_a_plan_level_with_no_plans_chosen_means_any_plan(in_world):
    article = in_world.articles["plans"]
    article.required_plans.set([])
    article.save_revision().publish()
    assert decide(make_reader("active on another plan", in_world), article)


def test_any_of_a_members_subscriptions_may_grant_a_plan(in_world):
    """The best entitlement is for another plan; a gift for the chosen one
    still opens the article."""
    article = in_world.articles["plans"]
    member = make_reader("active on another plan", in_world)
    assert decide(member, article) == Access(False, "plan-required")
    Subscription.objects.create(
        member=member,
        plan=in_world.plans["digital-print"],
        status=Subscription.Status.GIFT,
        ends_at=NOW + timedelta(days=30),
    )
    assert decide(member, article) == Access(True, "subscriber")


def test_a_seat_on_the_plan_grants_it_beside_an_own_subscription_on_another(in_world):
    """The member's own subscription (another plan) is their best
    entitlement; their seat's organisation holds the chosen plan, until its
    contract ends."""
    article = in_world.articles["plans"]
    member = make_reader("active on another plan, group seat", in_world)
    assert decide(member, article) == Access(True, "subscriber")
    Organisation.objects.filter(seat_holders__member=member).update(
        contract_ends=timezone.localdate() - timedelta(days=1)
    )
    assert decide(member, article) == Access(False, "plan-required")


def test_one_entitlement_query_per_request(in_world, django_assert_num_queries):
    subscriber = make_reader("active", in_world)
    article = in_world.articles["subscribers"]
    terms = Terms("subscribers", frozenset(), article.pk)
    with reader_scope(), django_assert_num_queries(1):
        assert decide(subscriber, terms)
        assert decide(subscriber, AnIssue())
        assert not shows_ads(subscriber)


def test_the_meter_is_off_by_default(in_world):
    member = make_reader("free member", in_world)
    article = in_world.articles["subscribers"]
    assert open_article(member, article) == Access(False, "subscription-required")
    assert not MeteredRead.objects.exists()
    assert meter(member) is None


def test_a_free_member_spends_one_read_per_article(in_world):
    turn_meter_on(free_articles=2)
    member = make_reader("free member", in_world)
    first, second, third = in_world.others
    assert open_article(member, first) == Access(True, "metered")
    # Reading it again costs nothing, through any door.
    assert open_article(member, first) == Access(True, "metered")
    assert decide(member, first) == Access(True, "metered")
    assert meter(member).used == 1
    assert open_article(member, second) == Access(True, "metered")
    assert open_article(member, third) == Access(False, "meter-spent")
    assert decide(member, third) == Access(False, "subscription-required")
    assert meter(member).remaining == 0
    assert MeteredRead.objects.filter(member=member).count() == 2
    # Still readable: the two already opened.
    assert decide(member, first) and decide(member, second)


def test_reads_older_than_30_days_do_not_count(in_world):
    turn_meter_on(free_articles=1)
    member = make_reader("free member", in_world)
    first, second, _ = in_world.others
    MeteredRead.objects.create(member=member, article=first, read_at=NOW - timedelta(days=31))
    assert not decide(member, first)
    assert open_article(member, second) == Access(True, "metered")
    # The old article, opened again, would count anew: the meter is spent.
    assert open_article(member, first) == Access(False, "meter-spent")


def test_the_meter_is_for_members_and_subscriber_articles_only(in_world):
    turn_meter_on()
    assert open_article(None, in_world.articles["subscribers"]) == Access(False, "sign-in-required")
    member = make_reader("free member", in_world)
    assert open_article(member, in_world.articles["plans"]) == Access(False, "plan-required")
    assert open_article(member, in_world.articles["members"]) == Access(True, "member")
    assert not MeteredRead.objects.exists()


def test_subscribers_spend_nothing(in_world):
    turn_meter_on()
    subscriber = make_reader("active", in_world)
    assert open_article(subscriber, in_world.articles["subscribers"]) == Access(True, "subscriber")
    assert not MeteredRead.objects.exists()
    assert meter(subscriber) is None


@pytest.mark.parametrize(
    "state, ads",
    [
        ("anonymous", True),
        ("free member", True),
        ("lapsed", True),
        ("refunded", True),
        ("payment failed, past grace", True),
        ("active", False),
        ("trialing", False),
        ("payment failed, within grace", False),
        ("complimentary", False),
        ("gift", False),
    ],
)
def test_ads_are_for_readers_without_a_subscription(state, ads, in_world):
    assert shows_ads(make_reader(state, in_world)) is ads


def test_the_teaser_is_the_first_two_paragraphs_without_a_break(site_tree):
    from masthead.newsroom.models import SectionPage

    article = make_article(
        SectionPage.objects.get(slug="politics"),
        body=[
            ("heading", "A heading"),
            paragraph("<p>One.</p>"),
            paragraph("<p>Two.</p>"),
            paragraph("<p>Three.</p>"),
        ],
    )
    teaser, gated = split_body(article)
    assert [block.block_type for block in teaser] == ["heading", "paragraph", "paragraph"]
    assert [block.value.source for block in gated] == ["<p>Three.</p>"]
