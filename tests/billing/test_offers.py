"""Offers: a cut price or a free trial behind a code and a landing page,
through checkout in test mode and against the local Stripe."""

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from masthead.billing import actions, testmode
from masthead.billing.models import BillingAuditLog, Offer, Payment, Subscription

from .test_testmode import CARD


def make_offer(prices, code="HALF", **fields):
    values = {
        "name": "Half price for spring",
        "headline": "Spring: half price",
        "kind": Offer.Kind.PERCENT_OFF,
        "percent_off": 50,
        "duration": Offer.Duration.REPEATING,
        "duration_in_months": 3,
        **fields,
    }
    offer = Offer(code=code, **values)
    offer.full_clean(exclude=["prices"])
    offer.save()
    offer.prices.set(prices)
    return offer


def make_trial(prices, **fields):
    """A 14-day free trial, code TRY14."""
    return make_offer(
        prices,
        code="TRY14",
        kind=Offer.Kind.TRIAL,
        percent_off=None,
        duration_in_months=None,
        trial_days=14,
        **fields,
    )


def _messages(response):
    return [str(message) for message in response.context["messages"]]


def _amounts(member):
    return list(
        Payment.objects.filter(member=member).order_by("paid_at").values_list("amount", flat=True)
    )


@pytest.fixture(autouse=True)
def no_codes_from_other_tests(request):
    """The local Stripe lives for the session, and a code is unique among
    its active promotion codes, as on Stripe."""
    if "journey" in request.fixturenames:
        request.getfixturevalue("stripe_server").promotion_codes.clear()


@pytest.fixture
def local(test_mode, plans, member_client):
    return member_client


def _checkout_with(client, price, offer):
    start = client.get(reverse("billing:start_checkout", args=[price.pk]) + f"?offer={offer.code}")
    assert start.status_code == 303, start.content
    return start["Location"]


# The landing page -----------------------------------------------------------------------


def test_the_landing_page_shows_the_offer_and_its_plans_and_counts_views(local, plans):
    offer = make_offer([plans["digital/month"], plans["digital/year"]])
    response = local.get("/offer/HALF/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Spring: half price" in html
    assert "50% off for 3 months" in html
    assert "$4.00</span>" not in html and "$4.00 a month, then $8.00" in html
    assert "$40.00 a year, then $80.00" in html
    assert f"/subscribe/checkout/{plans['digital/month'].pk}/?offer=HALF" in html
    assert "Digital + Print" not in html
    # A code in lower case finds its page.
    assert local.get("/offer/half/")["Location"] == "/offer/HALF/"
    offer.refresh_from_db()
    assert offer.views == 1
    # Never kept by the shared page cache, so every view counts and an
    # ended offer stops at once.
    assert "public" not in response.get("Cache-Control", "")


def test_a_reader_not_signed_in_signs_in_first_and_keeps_the_offer(test_mode, plans, client):
    make_offer([plans["digital/month"]])
    link = reverse("billing:start_checkout", args=[plans["digital/month"].pk]) + "?offer=HALF"
    response = client.get(link)
    assert response["Location"].startswith("/account/sign-in/?next=")
    assert response["Location"].endswith("%3Foffer%3DHALF")


def test_no_retention_offer_on_a_yearly_subscription(local, plans, member):
    start = local.post(reverse("billing:start_checkout", args=[plans["digital/year"].pk]))
    local.get(local.post(start["Location"], CARD)["Location"])
    page = local.get("/billing/cancel/").content.decode()
    assert "Stay for" not in page and "Cancel my subscription" in page


def test_a_code_typed_on_the_subscribe_page_leads_to_its_offer(local, plans):
    make_offer([plans["digital/month"]])
    assert local.get("/offer/?code=+half+")["Location"] == "/offer/HALF/"
    response = local.get("/offer/?code=NOPE", follow=True)
    assert "There is no offer with that code. Check it and try again." in _messages(response)
    assert local.get("/offer/NOPE/").status_code == 404


@pytest.mark.parametrize("typed", ["a\x00", "HALF OFF", "A" * 41, "half%"])
def test_what_cannot_be_a_code_finds_nothing_without_asking_the_database(
    typed, plans, django_assert_num_queries
):
    make_offer([plans["digital/month"]])
    with django_assert_num_queries(0):
        assert Offer.objects.by_code(typed) is None


def test_the_admin_lists_offers_with_their_counts(client, plans):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    make_offer([plans["digital/month"]])
    html = client.get("/admin/billing/offers/").content.decode()
    assert "HALF" in html and "50% off for 3 months" in html
    assert client.get("/admin/billing/offers/new/").status_code == 200


def test_the_publisher_makes_an_offer_in_the_admin(client, plans):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    form = {
        "name": "Try it",
        "code": "try-it",
        "kind": "trial",
        "currency": "usd",
        "duration": "repeating",
        "trial_end": "cancel",
        "prices": [plans["digital/month"].pk, plans["digital/year"].pk],
        "active": "on",
    }
    response = client.post("/admin/billing/offers/new/", form)
    assert response.status_code == 200  # the form again: a trial needs its days
    assert not Offer.objects.exists()
    response = client.post("/admin/billing/offers/new/", {**form, "trial_days": "30"})
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert offer.code == "TRY-IT" and offer.summary == "30-day free trial"
    assert set(offer.prices.all()) == {plans["digital/month"], plans["digital/year"]}


def test_an_offer_must_say_what_it_gives(db):
    offer = Offer(name="Nothing", code="nothing", kind=Offer.Kind.PERCENT_OFF)
    with pytest.raises(ValidationError) as error:
        offer.full_clean(exclude=["prices"])
    assert "percent_off" in error.value.message_dict
    assert "duration_in_months" in error.value.message_dict


# Test mode ----------------------------------------------------------------------------------


def test_a_coupon_for_three_months_then_full_price_in_test_mode(local, plans, member):
    offer = make_offer([plans["digital/month"]])
    url = _checkout_with(local, plans["digital/month"], offer)
    page = local.get(url)
    assert "Digital" in page.content.decode()
    paid = local.post(url, CARD)
    assert paid.status_code == 302
    local.get(paid["Location"])
    subscription = Subscription.objects.get(member=member)
    assert subscription.offer == offer
    assert _amounts(member) == [400]
    for month in range(1, 4):
        testmode.renew_due(subscription.created_at + relativedelta(months=month, minutes=1))
    # The fourth invoice is the first at full price.
    assert _amounts(member) == [400, 400, 400, 800]
    offer.refresh_from_db()
    assert (offer.checkouts, offer.redemptions) == (1, 1)
    assert BillingAuditLog.objects.filter(action="offer_redeemed", subscription=subscription)
    account = local.get("/account/").content.decode()
    assert "With the offer HALF: 50% off for 3 months." in account


def test_an_expired_offer_is_refused_with_a_clear_message(local, plans, member):
    offer = make_offer(
        [plans["digital/month"]], ends_at=timezone.now() - timedelta(days=1), starts_at=None
    )
    page = local.get("/offer/HALF/")
    assert page.status_code == 410
    ended = f"This offer ended on {actions.display_date(offer.ends_at)}."
    assert ended in page.content.decode()
    assert "Subscribe with this offer" not in page.content.decode()
    link = reverse("billing:start_checkout", args=[plans["digital/month"].pk]) + "?offer=HALF"
    response = local.get(link, follow=True)
    assert ended in _messages(response)
    offer.refresh_from_db()
    assert (offer.views, offer.checkouts) == (0, 0)


def test_an_offer_not_yet_started_or_withdrawn_is_refused(local, plans, member):
    offer = make_offer([plans["digital/month"]], starts_at=timezone.now() + timedelta(days=2))
    page = local.get("/offer/HALF/")
    assert page.status_code == 410
    starts = actions.display_date(offer.starts_at)
    assert f"This offer starts on {starts}." in page.content.decode()
    Offer.objects.filter(pk=offer.pk).update(starts_at=None, active=False)
    assert "This offer is not available." in local.get("/offer/HALF/").content.decode()


def test_a_capped_offer_is_refused_once_fully_claimed(local, plans, member):
    offer = make_offer([plans["digital/month"]], max_redemptions=1)
    Offer.objects.filter(pk=offer.pk).update(redemptions=1)
    link = reverse("billing:start_checkout", args=[plans["digital/month"].pk]) + "?offer=HALF"
    response = local.get(link, follow=True)
    assert "This offer has been fully claimed." in _messages(response)
    assert local.get("/offer/HALF/").status_code == 410


def test_an_offer_is_good_only_for_its_plans(local, plans):
    make_offer([plans["digital/month"]])
    link = reverse("billing:start_checkout", args=[plans["digital/year"].pk]) + "?offer=HALF"
    response = local.get(link, follow=True)
    assert "This offer is not good for that plan." in _messages(response)


def test_a_trial_that_converts_in_test_mode_and_the_guarantee_counts_from_the_charge(
    local, plans, member
):
    offer = make_trial([plans["digital/month"]])
    url = _checkout_with(local, plans["digital/month"], offer)
    local.get(local.post(url, CARD)["Location"])
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.trial_end is not None
    assert _amounts(member) == []
    # Nothing paid yet: nothing to refund.
    assert actions.refundable_subscription(member)[1] == "There is no payment to refund."

    trial_end = subscription.trial_end
    testmode.renew_due(trial_end + timedelta(minutes=1))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert _amounts(member) == [800]
    assert subscription.first_paid_at == trial_end
    # Day 60 counts from the first payment, not from the trial's start.
    assert actions.can_refund(member, now=subscription.first_paid_at + timedelta(days=59))
    late = subscription.first_paid_at + timedelta(days=61)
    assert not actions.can_refund(member, now=late)
    assert offer.subscriptions.get() == subscription


def test_a_trial_cancelled_before_the_charge_is_never_charged_in_test_mode(local, plans, member):
    offer = make_trial([plans["digital/month"]])
    url = _checkout_with(local, plans["digital/month"], offer)
    local.get(local.post(url, CARD)["Location"])
    local.post("/billing/cancel/", {"reason": "Just looking"})
    subscription = Subscription.objects.get(member=member)
    testmode.renew_due(subscription.trial_end + timedelta(minutes=1))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert _amounts(member) == []


# Against the local Stripe -------------------------------------------------------------------


def _start_with_offer(journey, price, offer):
    response = journey.client.get(
        reverse("billing:start_checkout", args=[price.pk]) + f"?offer={offer.code}"
    )
    assert response.status_code == 303, response.content
    return response["Location"].rsplit("/", 1)[-1]


def _renew(journey, stripe_live, subscription_id):
    invoice = stripe_live.renew(subscription_id)
    assert journey.webhook("invoice.paid", invoice).status_code == 200
    return invoice


def test_a_coupon_for_three_months_then_full_price_on_stripe(journey, catalogue, member):
    stripe_live = journey.server
    offer = make_offer([catalogue["digital/month"]])
    session_id = _start_with_offer(journey, catalogue["digital/month"], offer)
    offer.refresh_from_db()
    promo = stripe_live.get(f"/v1/promotion_codes/{offer.stripe_promotion_code_id}")
    assert promo["code"] == "HALF" and promo["promotion"]["coupon"] == offer.stripe_coupon_id
    coupon = stripe_live.get(f"/v1/coupons/{offer.stripe_coupon_id}")
    assert (coupon["percent_off"], coupon["duration"], coupon["duration_in_months"]) == (
        50.0,
        "repeating",
        3,
    )
    assert coupon["applies_to"]["products"] == [catalogue["digital/month"].plan.stripe_product_id]
    stored = stripe_live.checkout_sessions[session_id]["session"]
    assert stored["discounts"][0]["promotion_code"] == offer.stripe_promotion_code_id
    assert stored["amount_total"] == 400

    status, session = stripe_live.pay_checkout(session_id)
    assert status == 200, session
    assert journey.webhook("checkout.session.completed", session).status_code == 200
    subscription = Subscription.objects.get(member=member)
    assert subscription.offer == offer
    for _ in range(3):
        _renew(journey, stripe_live, session["subscription"])
    # The fourth invoice is the first at full price.
    assert _amounts(member) == [400, 400, 400, 800]
    offer.refresh_from_db()
    assert (offer.checkouts, offer.redemptions) == (1, 1)


def test_a_code_typed_on_stripes_checkout_page_counts_for_its_offer(journey, catalogue, member):
    stripe_live = journey.server
    offer = actions.put_offer_on_stripe(make_offer([catalogue["digital/month"]]))
    session_id = journey.start(catalogue["digital/month"])
    assert stripe_live.checkout_sessions[session_id]["session"]["allow_promotion_codes"] is True
    status, session = stripe_live.pay_checkout(session_id, promotion_code="half")
    assert status == 200, session
    assert journey.webhook("checkout.session.completed", session).status_code == 200
    assert Subscription.objects.get(member=member).offer == offer
    assert _amounts(member) == [400]
    offer.refresh_from_db()
    assert offer.redemptions == 1


def test_a_capped_offer_is_refused_on_stripe_before_any_checkout(journey, catalogue, member):
    stripe_live = journey.server
    offer = make_offer([catalogue["digital/month"]], max_redemptions=1)
    Offer.objects.filter(pk=offer.pk).update(redemptions=1)
    before = len(stripe_live.checkout_sessions)
    response = journey.client.get(
        reverse("billing:start_checkout", args=[catalogue["digital/month"].pk]) + "?offer=HALF",
        follow=True,
    )
    assert "This offer has been fully claimed." in _messages(response)
    assert len(stripe_live.checkout_sessions) == before


def test_an_expired_code_is_refused_by_stripe_too(journey, catalogue, member):
    stripe_live = journey.server
    offer = make_offer([catalogue["digital/month"]], ends_at=timezone.now() + timedelta(days=1))
    actions.put_offer_on_stripe(offer)
    session_id = journey.start(catalogue["digital/month"])
    with freeze_time(timezone.now() + timedelta(days=2)):
        status, body = stripe_live.pay_checkout(session_id, promotion_code="HALF")
    assert status == 400 and body["error"]["message"] == "This code has expired."


def _trial_offer(catalogue, trial_end):
    return make_trial([catalogue["digital/month"]], trial_end=trial_end)


def test_a_trial_that_converts_on_stripe(journey, catalogue, member):
    stripe_live = journey.server
    offer = _trial_offer(catalogue, Offer.TrialEnd.CHARGE)
    session_id = _start_with_offer(journey, catalogue["digital/month"], offer)
    stored = stripe_live.checkout_sessions[session_id]
    assert stored["subscription_data"]["trial_period_days"] == "14"
    assert stored["session"]["payment_method_collection"] == "always"
    assert stored["session"]["discounts"] == []
    status, session = stripe_live.pay_checkout(session_id)
    assert status == 200, session
    journey.webhook("checkout.session.completed", session)
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.TRIALING
    assert subscription.offer == offer
    assert _amounts(member) == []

    invoice = stripe_live.end_trial(session["subscription"])
    assert journey.webhook("invoice.paid", invoice).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert _amounts(member) == [800]
    assert subscription.first_paid_at is not None
    assert actions.refund_deadline(subscription) == subscription.first_paid_at + timedelta(days=60)


def test_a_trial_without_a_card_is_cancelled_at_its_end_on_stripe(journey, catalogue, member):
    stripe_live = journey.server
    offer = _trial_offer(catalogue, Offer.TrialEnd.CANCEL)
    session_id = _start_with_offer(journey, catalogue["digital/month"], offer)
    stored = stripe_live.checkout_sessions[session_id]
    assert stored["session"]["payment_method_collection"] == "if_required"
    assert stored["subscription_data"]["trial_settings"] == {
        "end_behavior": {"missing_payment_method": "cancel"}
    }
    status, session = stripe_live.pay_checkout(session_id, card=None)
    assert status == 200, session
    journey.webhook("checkout.session.completed", session)
    assert Subscription.objects.get(member=member).status == Subscription.Status.TRIALING

    assert stripe_live.end_trial(session["subscription"]) is None
    ended = stripe_live.get(f"/v1/subscriptions/{session['subscription']}")
    assert journey.webhook("customer.subscription.deleted", ended).status_code == 200
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.CANCELED
    assert _amounts(member) == []


# The trial's reminder -----------------------------------------------------------------------


def test_a_reminder_a_few_days_before_the_trials_first_charge(
    local, plans, member, django_capture_on_commit_callbacks
):
    from django.core import mail

    offer = make_trial([plans["digital/month"]])
    url = _checkout_with(local, plans["digital/month"], offer)
    local.get(local.post(url, CARD)["Location"])
    subscription = Subscription.objects.get(member=member)
    mail.outbox.clear()

    with freeze_time(subscription.trial_end - timedelta(days=4)):
        assert actions.remind_trials_ending() == []
    with (
        freeze_time(subscription.trial_end - timedelta(days=2, hours=23)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert actions.remind_trials_ending() == [subscription]
        assert actions.remind_trials_ending() == []
    ends = actions.display_date(subscription.trial_end)
    assert [m.subject for m in mail.outbox] == [f"Your free trial of Digital ends on {ends}"]
    assert "From then, your card is charged $8.00 a month." in mail.outbox[0].body


def test_stripes_trial_will_end_notice_sends_the_reminder_once(journey, catalogue, member):
    from django.core import mail

    stripe_live = journey.server
    offer = _trial_offer(catalogue, Offer.TrialEnd.CANCEL)
    session_id = _start_with_offer(journey, catalogue["digital/month"], offer)
    status, session = stripe_live.pay_checkout(session_id, card=None)
    journey.webhook("checkout.session.completed", session)
    mail.outbox.clear()
    remote = stripe_live.get(f"/v1/subscriptions/{session['subscription']}")
    trial_end = Subscription.objects.get(member=member).trial_end
    with freeze_time(trial_end - timedelta(days=3)):
        journey.webhook("customer.subscription.trial_will_end", remote)
        journey.webhook("customer.subscription.trial_will_end", remote)
    assert len(mail.outbox) == 1
    assert "Without one, your trial simply ends and nothing is charged." in mail.outbox[0].body


# The retention offer at cancellation ------------------------------------------------------


def test_the_retention_offer_taken_in_one_click_in_test_mode(local, plans, member):
    start = local.post(reverse("billing:start_checkout", args=[plans["digital/month"].pk]))
    local.get(local.post(start["Location"], CARD)["Location"])
    page = local.get("/billing/cancel/").content.decode()
    assert "Stay for half price for the next 3 months" in page

    response = local.post("/billing/stay/", {"reason": "Too dear"}, follow=True)
    assert (
        "Thank you for staying: 50% off for the next 3 months. "
        "Your subscription continues as before." in _messages(response)
    )
    subscription = Subscription.objects.get(member=member)
    assert subscription.cancel_at_period_end is False
    assert subscription.cancellation_reason == "Too dear"
    assert (subscription.retention_percent_off, subscription.retention_months) == (50, 3)
    accepted = BillingAuditLog.objects.get(action="retention_offer_accepted")
    assert accepted.detail["reason"] == "Too dear"

    for month in range(1, 5):
        testmode.renew_due(subscription.created_at + relativedelta(months=month, minutes=1))
    assert _amounts(member) == [800, 400, 400, 400, 800]
    # Once per subscription: the next visit to the cancel page just cancels.
    assert "Stay for" not in local.get("/billing/cancel/").content.decode()
    response = local.post("/billing/stay/", follow=True)
    assert "This offer is not available on your subscription." in _messages(response)


def test_no_retention_offer_when_the_publisher_offers_none(local, plans, member):
    from masthead.billing.models import BillingSettings

    BillingSettings.objects.update_or_create(defaults={"retention_percent_off": 0})
    start = local.post(reverse("billing:start_checkout", args=[plans["digital/month"].pk]))
    local.get(local.post(start["Location"], CARD)["Location"])
    page = local.get("/billing/cancel/").content.decode()
    assert "Stay for" not in page and "Cancel my subscription" in page
    response = local.post("/billing/stay/", follow=True)
    assert "This offer is not available on your subscription." in _messages(response)


def test_the_retention_offer_on_stripe_discounts_the_next_three_invoices(
    journey, catalogue, member
):
    stripe_live = journey.server
    session = journey.complete(catalogue["digital/month"])
    # Taken in the middle of a period: the discount lasts three months from
    # then, which covers the next three invoices.
    with freeze_time(timezone.now() + timedelta(days=10)):
        journey.client.post("/billing/stay/", {"reason": "Reading less"})
    subscription = Subscription.objects.get(member=member)
    assert subscription.retention_accepted_at is not None
    assert subscription.cancellation_reason == "Reading less"
    assert stripe_live.discounts[session["subscription"]]["coupon"]["id"] == (
        "masthead-retention-50-3"
    )
    for _ in range(4):
        _renew(journey, stripe_live, session["subscription"])
    assert _amounts(member) == [800, 400, 400, 400, 800]


def test_a_trial_without_a_card_ends_cancelled_in_test_mode(local, plans, member):
    offer = make_trial([plans["digital/month"]], trial_end=Offer.TrialEnd.CANCEL)
    url = _checkout_with(local, plans["digital/month"], offer)
    assert "Start my free trial without a card" in local.get(url).content.decode()
    local.get(local.post(url, {"without_card": ""})["Location"])
    subscription = Subscription.objects.get(member=member)
    assert subscription.status == Subscription.Status.TRIALING
    testmode.renew_due(subscription.trial_end + timedelta(minutes=1))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELED
    assert _amounts(member) == []


def test_an_offer_edited_in_the_admin_gets_a_new_code_on_stripe(client, catalogue, stripe_server):
    from django.contrib.auth import get_user_model

    stripe_server.promotion_codes.clear()
    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    offer = actions.put_offer_on_stripe(make_offer([catalogue["digital/month"]]))
    old_code = offer.stripe_promotion_code_id
    form = {
        "name": offer.name,
        "code": "HALF",
        "kind": "percent_off",
        "percent_off": "50",
        "currency": "usd",
        "duration": "repeating",
        "duration_in_months": "3",
        "trial_end": "charge",
        "prices": [catalogue["digital/month"].pk],
        "active": "on",
        "max_redemptions": "100",
    }
    response = client.post(f"/admin/billing/offers/edit/{offer.pk}/", form)
    assert response.status_code == 302, response.content
    offer.refresh_from_db()
    assert stripe_server.get(f"/v1/promotion_codes/{old_code}")["active"] is False
    new = stripe_server.get(f"/v1/promotion_codes/{offer.stripe_promotion_code_id}")
    assert new["active"] is True and new["max_redemptions"] == 100 and new["code"] == "HALF"

    # Taken off sale: the code stops working on Stripe's page too.
    del form["active"]
    client.post(f"/admin/billing/offers/edit/{offer.pk}/", form)
    offer.refresh_from_db()
    assert offer.stripe_promotion_code_id == ""
    assert stripe_server.get(f"/v1/promotion_codes/{new['id']}")["active"] is False


def test_a_free_trial_is_for_new_subscribers(local, plans, member):
    offer = make_trial([plans["digital/month"]])
    url = _checkout_with(local, plans["digital/month"], offer)
    local.get(local.post(url, CARD)["Location"])
    local.post("/billing/cancel/")
    subscription = Subscription.objects.get(member=member)
    testmode.renew_due(subscription.trial_end + timedelta(minutes=1))
    link = reverse("billing:start_checkout", args=[plans["digital/month"].pk]) + "?offer=TRY14"
    response = local.get(link, follow=True)
    assert "Free trials are for new subscribers." in _messages(response)
