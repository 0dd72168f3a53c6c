"""Single issues: one issue bought on its own, with one Checkout payment,
through Stripe (the local stand-in) and through test mode; refunded within
the 60-day guarantee, from the account page or from Stripe's dashboard."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from masthead.access.rules import decide
from masthead.billing import actions
from masthead.billing.models import BillingSettings, IssuePurchase, Payment
from masthead.issues.models import IssuePage
from masthead.newsroom.models import SectionPage
from tests.access.support import add_edition
from tests.factories import make_article, make_issue, paragraph

GATED = "Only buyers learn where the amber ledger is kept."
CARD = {"card_number": "4242424242424242", "expiry": "12/34", "cvc": "123"}


@pytest.fixture
def single_issue_price(db):
    billing_settings = BillingSettings.load()
    billing_settings.single_issue_price = 600
    billing_settings.save()
    return 600


def _article(section, title):
    return make_article(
        section,
        title=title,
        access_level="subscribers",
        body=[
            paragraph(f"<p>How {title} opens.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )


@pytest.fixture
def issue(site_tree, single_issue_price):
    section = SectionPage.objects.get(slug="finance")
    article = _article(section, "The ledger")
    issue = make_issue([article], number=31, title="The Ledger Issue")
    add_edition(issue)
    # An earlier issue the buyer does not buy.
    make_issue([_article(section, "The almanac")], number=30, title="The Almanac Issue")
    return issue


def _article_in(issue):
    return issue.live_articles()[0]


def _buy_url(issue):
    return reverse("billing:buy_issue", args=[issue.pk])


def _pay_on_stripe(journey, issue):
    response = journey.client.get(_buy_url(issue))
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[-1]
    status, session = journey.server.pay_checkout(session_id)
    assert status == 200, session
    return session


def _charge_of(server, session):
    intent = server.get(f"/v1/payment_intents/{session['payment_intent']}")
    return intent["latest_charge"]["id"]


def test_a_single_issue_bought_through_stripe_checkout(journey, member, issue, stripe_live):
    article = _article_in(issue)
    almanac = IssuePage.objects.get(number=30)
    assert not decide(member, issue) and not decide(member, article)

    session = _pay_on_stripe(journey, issue)
    stored = stripe_live.checkout_sessions[session["id"]]["session"]
    assert (stored["mode"], stored["amount_total"], stored["currency"]) == ("payment", 600, "usd")
    assert stored["metadata"]["kind"] == "issue"
    assert stored["client_reference_id"] == str(member.pk)

    journey.webhook("checkout.session.completed", session)
    journey.webhook("checkout.session.completed", session)  # a duplicate delivery
    purchase = IssuePurchase.objects.get()
    assert (purchase.status, purchase.member, purchase.issue_id) == ("paid", member, issue.pk)
    payment = Payment.objects.get(issue_purchase=purchase)
    assert (payment.amount, payment.stripe_payment_intent_id) == (600, session["payment_intent"])
    [receipt] = [m for m in mail.outbox if m.to == ["ada@example.com"]]
    assert receipt.subject == "Receipt: The Ledger Issue of The Meridian Review"
    assert "We received $6.00." in receipt.body
    assert "http://testserver" + issue.url in receipt.body

    assert decide(member, issue).reason == "single-issue"
    assert decide(member, article).reason == "single-issue"
    # Only that issue: the earlier one stays a subscriber's.
    assert not decide(member, almanac) and not decide(member, _article_in(almanac))

    # The success page fulfils it too (idempotently) and leads to the issue.
    done = journey.client.get(reverse("billing:issue_bought"), {"session_id": session["id"]})
    assert done.status_code == 302 and done["Location"] == issue.url
    page = journey.client.get(article.url).content.decode()
    assert GATED in page
    download = journey.client.get(reverse("editions:download", args=[issue.pk, "epub"]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"PK edition of the issue"
    # Bought once: a second checkout is refused.
    again = journey.client.get(_buy_url(issue))
    assert again.status_code == 302 and IssuePurchase.objects.count() == 1


def test_a_refund_within_60_days_takes_the_issue_away(journey, member, issue, stripe_live):
    session = _pay_on_stripe(journey, issue)
    journey.webhook("checkout.session.completed", session)
    purchase = IssuePurchase.objects.get()
    account = journey.client.get("/account/").content.decode()
    assert reverse("billing:refund_issue", args=[purchase.pk]) in account

    url = reverse("billing:refund_issue", args=[purchase.pk])
    assert b"Refund $6.00 and give the issue back" in journey.client.get(url).content
    assert journey.client.post(url, {"reason": "changed my mind"}).status_code == 302
    assert journey.client.post(url).status_code == 302  # a double click
    purchase.refresh_from_db()
    assert purchase.status == "refunded" and purchase.refunded_at is not None
    refunds = stripe_live.refunds_of_charge(_charge_of(stripe_live, session))
    assert [refund["amount"] for refund in refunds] == [600]
    assert Payment.objects.get(issue_purchase=purchase).amount_refunded == 600

    assert not decide(member, issue) and not decide(member, _article_in(issue))
    assert GATED not in journey.client.get(_article_in(issue).url).content.decode()
    download = journey.client.get(reverse("editions:download", args=[issue.pk, "epub"]))
    assert download.status_code == 403


def test_a_refund_from_stripes_dashboard_takes_the_issue_away(journey, member, issue, stripe_live):
    session = _pay_on_stripe(journey, issue)
    journey.webhook("checkout.session.completed", session)
    charge_id = _charge_of(stripe_live, session)
    stripe_live.post("/v1/refunds", {"charge": charge_id})
    charge = stripe_live.get(f"/v1/charges/{charge_id}")
    assert journey.webhook("charge.refunded", charge).status_code == 200
    assert IssuePurchase.objects.get().status == "refunded"
    assert not decide(member, issue)


def test_day_60_versus_day_61(test_mode, member_client, member, issue):
    paid = timezone.now()
    IssuePurchase.objects.create(
        member=member,
        issue=issue,
        amount=600,
        status="paid",
        paid_at=paid,
        stripe_checkout_session_id="tm_cs_day60",
        stripe_payment_intent_id="tm_pi_day60",
    )
    purchase = IssuePurchase.objects.get()
    with freeze_time(paid + timedelta(days=61)):
        member_client.force_login(member)
        with pytest.raises(actions.BillingError, match="60-day money-back guarantee ended"):
            actions.refund_issue_purchase(member, purchase.pk)
        refused = member_client.post(reverse("billing:refund_issue", args=[purchase.pk]))
        assert refused.status_code == 302
        assert IssuePurchase.objects.get().status == "paid"
        assert "Refund this issue" not in member_client.get("/account/").content.decode()
    with freeze_time(paid + timedelta(days=60)):
        member_client.force_login(member)
        assert "Refund this issue" in member_client.get("/account/").content.decode()
        actions.refund_issue_purchase(member, purchase.pk)
    assert IssuePurchase.objects.get().status == "refunded"


def test_a_single_issue_in_test_mode_with_test_cards(test_mode, member_client, member, issue):
    response = member_client.get(_buy_url(issue))
    checkout = response["Location"]
    assert response.status_code == 303 and checkout.startswith("/billing/test-checkout/tm_cs_")
    page = member_client.get(checkout).content.decode()
    assert "The Ledger Issue" in page and "$6.00, once" in page

    declined = member_client.post(checkout, {**CARD, "card_number": "4000000000000002"})
    assert declined.status_code == 402
    assert IssuePurchase.objects.get().status == "pending"
    assert not decide(member, issue)

    paid = member_client.post(checkout, CARD)
    done = urlsplit(paid["Location"])
    assert done.path == reverse("billing:issue_bought")
    assert parse_qs(done.query)["next"] == [issue.url]
    assert member_client.get(paid["Location"])["Location"] == issue.url
    purchase = IssuePurchase.objects.get()
    assert purchase.status == "paid" and purchase.stripe_payment_intent_id.startswith("tm_pi_")
    issue_page = member_client.get(issue.url).content.decode()
    assert reverse("editions:download", args=[issue.pk, "epub"]) in issue_page
    assert "Buy this issue" not in issue_page
    # A second payment of the same session changes nothing.
    member_client.post(checkout, CARD)
    assert Payment.objects.filter(issue_purchase=purchase).count() == 1

    refunded = actions.refund_issue_purchase(member, purchase.pk)
    assert refunded.status == "refunded" and refunded.stripe_refund_id.startswith("tm_re_")
    assert not decide(member, issue)


def test_the_issue_page_offers_the_issue_to_readers_without_access(
    test_mode, member_client, issue, plans
):
    download = reverse("editions:download", args=[issue.pk, "epub"])
    for client in (Client(), member_client):
        page = client.get(issue.url).content.decode()
        assert "Buy this issue for $6.00" in page and _buy_url(issue) in page
        assert download not in page
    # Not on sale: no offer.
    billing_settings = BillingSettings.load()
    billing_settings.single_issue_price = 0
    billing_settings.save()
    assert "Buy this issue" not in Client().get(issue.url).content.decode()
    assert member_client.get(_buy_url(issue)).status_code == 302
    assert not IssuePurchase.objects.exists()


def test_anonymous_buyers_sign_in_first(test_mode, issue):
    response = Client().get(_buy_url(issue))
    assert response.status_code == 302 and response["Location"].startswith("/account/sign-in/")
    assert not IssuePurchase.objects.exists()


def test_buying_makes_the_members_cached_entitlement_stale(test_mode, member_client, member, issue):
    """The article page a member saw paywalled (their entitlement cached,
    the teaser variant cached) is theirs in full once they buy its issue,
    and teaser again once they are refunded."""
    article = _article_in(issue)
    assert GATED not in member_client.get(article.url).content.decode()
    assert GATED not in member_client.get(article.url).content.decode()  # from the cache
    checkout = member_client.get(_buy_url(issue))["Location"]
    member_client.post(checkout, CARD)
    assert GATED in member_client.get(article.url).content.decode()
    actions.refund_issue_purchase(member, IssuePurchase.objects.get().pk)
    assert GATED not in member_client.get(article.url).content.decode()


def test_the_reconciliation_fulfils_a_single_issue_whose_webhook_was_lost(
    journey, member, issue, stripe_live
):
    from masthead.billing.reconciliation import reconcile

    _pay_on_stripe(journey, issue)  # no webhook, and the buyer never came back
    assert IssuePurchase.objects.get().status == "pending"
    lines = reconcile()
    assert any("bought The Ledger Issue: recorded (missed by webhooks)" in line for line in lines)
    assert IssuePurchase.objects.get().status == "paid"
    assert decide(member, issue).reason == "single-issue"
    assert not any("Ledger" in line for line in reconcile())  # once
