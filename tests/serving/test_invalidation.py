"""Every way a member's entitlement, their details or a page can change makes
the cached copies stale (serving/invalidation.py): save, delete, a proxy
model's save, queryset update, bulk_create, bulk_update, an import."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.utils import timezone

from masthead.billing.models import ComplimentaryGrant, Subscription
from masthead.core.signals import pages_changed
from masthead.serving import invalidation, members, pagecache
from tests.access.support import CHOSEN_PLAN, make_reader

Status = Subscription.Status


@pytest.fixture
def subscriber(in_world):
    return make_reader("active", in_world)


def cached(user):
    """The member's entitlement, as serving caches it; True when the cache
    holds it afterwards."""
    held = members.cached_entitlement(user)
    return held, cache.get(members.entitlement_key(user.pk)) is not None


def assert_dropped(user):
    assert cache.get(members.entitlement_key(user.pk)) is None


def test_every_sender_in_the_table_is_a_model_of_this_site():
    for rule in invalidation.STALE_WHEN:
        if rule.sender is not None:
            assert apps.get_model(rule.sender) is not None


def test_saving_a_subscription_drops_the_cached_entitlement(
    subscriber, django_capture_on_commit_callbacks
):
    held, is_cached = cached(subscriber)
    assert held is not None and is_cached
    subscription = Subscription.objects.get(member=subscriber)
    subscription.status = Status.REFUNDED
    with django_capture_on_commit_callbacks(execute=True):
        subscription.save()
    assert_dropped(subscriber)
    assert members.cached_entitlement(subscriber) is None


def test_deleting_a_subscription_drops_the_cached_entitlement(subscriber):
    assert cached(subscriber)[1]
    Subscription.objects.filter(member=subscriber).delete()
    assert_dropped(subscriber)
    assert members.cached_entitlement(subscriber) is None


def test_a_queryset_update_drops_the_cached_entitlement(subscriber):
    assert cached(subscriber)[0] is not None
    Subscription.objects.filter(member=subscriber).update(status=Status.REFUNDED)
    assert_dropped(subscriber)
    assert members.cached_entitlement(subscriber) is None


def test_bulk_update_drops_the_cached_entitlement(subscriber):
    assert cached(subscriber)[0] is not None
    subscriptions = list(Subscription.objects.filter(member=subscriber))
    for subscription in subscriptions:
        subscription.status = Status.CANCELED
        subscription.current_period_end = timezone.now() - timedelta(days=1)
        subscription.cancel_at_period_end = True
    Subscription.objects.bulk_update(
        subscriptions, ["status", "current_period_end", "cancel_at_period_end"]
    )
    assert_dropped(subscriber)
    assert members.cached_entitlement(subscriber) is None


def test_bulk_create_drops_the_cached_entitlement(in_world):
    member = make_reader("free member", in_world)
    assert cached(member) == (None, True)
    Subscription.objects.bulk_create(
        [Subscription(member=member, plan=in_world.plans[CHOSEN_PLAN], status=Status.COMPLIMENTARY)]
    )
    assert_dropped(member)
    assert members.cached_entitlement(member) is not None


def test_a_complimentary_grant_saved_as_its_proxy_drops_the_cached_entitlement(in_world):
    member = make_reader("free member", in_world)
    assert cached(member) == (None, True)
    ComplimentaryGrant.objects.create(
        member=member, plan=in_world.plans[CHOSEN_PLAN], status=Status.COMPLIMENTARY
    )
    assert_dropped(member)
    assert members.cached_entitlement(member) is not None


def test_a_member_deactivated_by_queryset_update_is_no_longer_cached(subscriber):
    key = members.member_key(subscriber.pk)
    cache.set(key, "a cached member")
    type(subscriber).objects.filter(pk=subscriber.pk).update(is_active=False)
    assert cache.get(key) is None


def test_a_change_reported_outside_a_publish_makes_every_page_stale():
    before = pagecache.current_generation()
    pages_changed.send(sender=None)
    assert pagecache.current_generation() == before + 1


def test_a_plan_change_makes_every_page_stale(in_world):
    before = pagecache.current_generation()
    plan = in_world.plans[CHOSEN_PLAN]
    plan.save()
    assert pagecache.current_generation() > before


def test_a_publish_makes_every_page_stale_once_committed(
    in_world, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    before = pagecache.current_generation()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        article.save_revision().publish()
        assert pagecache.current_generation() == before
    for callback in callbacks:
        callback()
    assert pagecache.current_generation() > before


def test_a_single_issue_bought_or_refunded_drops_the_cached_entitlement(
    in_world, django_capture_on_commit_callbacks
):
    """The issues a member bought are cached with their entitlement: buying
    one, a refund, a queryset update and a deletion each make it stale."""
    from masthead.billing.models import IssuePurchase

    buyer = make_reader("free member", in_world)
    assert members.cached_bought_issues(buyer) == frozenset()
    assert cache.get(members.entitlement_key(buyer.pk)).issues == frozenset()
    with django_capture_on_commit_callbacks(execute=True):
        purchase = IssuePurchase.objects.create(
            member=buyer, issue=in_world.issue, amount=600, status="paid", paid_at=timezone.now()
        )
    assert_dropped(buyer)
    assert members.cached_bought_issues(buyer) == {in_world.issue.pk}
    purchase.status = IssuePurchase.Status.REFUNDED
    with django_capture_on_commit_callbacks(execute=True):
        purchase.save()
    assert_dropped(buyer)
    assert members.cached_bought_issues(buyer) == frozenset()
    IssuePurchase.objects.filter(pk=purchase.pk).update(status=IssuePurchase.Status.PAID)
    assert_dropped(buyer)
    assert members.cached_bought_issues(buyer) == {in_world.issue.pk}
    IssuePurchase.objects.filter(pk=purchase.pk).delete()
    assert_dropped(buyer)
    assert members.cached_bought_issues(buyer) == frozenset()
