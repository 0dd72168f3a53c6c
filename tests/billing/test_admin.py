"""The publisher's billing screens in the Wagtail admin."""

import pytest
from django.contrib.auth import get_user_model

from masthead.billing.models import Plan, Subscription


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/billing/plans/",
        "/admin/billing/prices/",
        "/admin/billing/subscriptions/",
        "/admin/billing/cancellations/",
        "/admin/billing/refunds/",
        "/admin/billing/gifts/",
        "/admin/billing/invoices/",
        "/admin/billing/single-issues/",
        "/admin/billing/complimentary/",
        "/admin/billing/complimentary/new/",
        "/admin/billing/events/",
        "/admin/billing/log/",
    ],
)
def test_billing_screens_load(admin_client, plans, path):
    assert admin_client.get(path).status_code == 200


def test_subscriptions_are_read_only(admin_client, plans, member):
    subscription = Subscription.objects.create(
        member=member,
        plan=plans["digital/month"].plan,
        status="active",
        cancellation_reason="Too dear",
        canceled_at="2030-01-01T00:00:00Z",
    )
    assert admin_client.get("/admin/billing/subscriptions/new/").status_code == 302
    assert (
        admin_client.get(f"/admin/billing/subscriptions/edit/{subscription.pk}/").status_code == 302
    )
    assert (
        admin_client.get(f"/admin/billing/subscriptions/inspect/{subscription.pk}/").status_code
        == 200
    )
    assert b"Too dear" in admin_client.get("/admin/billing/cancellations/").content


def test_create_plan_on_stripe_from_the_admin(admin_client, plans, stripe_live):
    plan = Plan.objects.get(code="digital")
    url = f"/admin/billing/plans/{plan.pk}/create-on-stripe/"
    assert b"Create on Stripe" in admin_client.get(url).content
    assert admin_client.post(url).status_code == 302
    plan.refresh_from_db()
    assert plan.stripe_product_id.startswith("prod_")
    for price in plan.prices.all():
        remote = stripe_live.get(f"/v1/prices/{price.stripe_price_id}")
        assert (remote["unit_amount"], remote["recurring"]["interval"]) == (
            price.amount,
            price.interval,
        )


def test_staff_grant_complimentary_from_the_admin(admin_client, plans, member):
    plan = Plan.objects.get(code="digital")
    response = admin_client.post(
        "/admin/billing/complimentary/new/",
        {
            "member": member.pk,
            "plan": plan.pk,
            "ends_at": "2031-01-01 00:00",
            "note": "Contributor",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    grant = Subscription.objects.get(member=member)
    assert (grant.status, grant.note, grant.granted_by.email) == (
        "complimentary",
        "Contributor",
        "publisher@example.com",
    )


def test_the_publisher_sets_the_price_of_a_single_issue_and_sees_who_bought(
    admin_client, member, site_tree
):
    from masthead.billing.models import BillingSettings, IssuePurchase
    from tests.factories import make_issue

    page = admin_client.get("/admin/settings/billing/billingsettings/", follow=True)
    assert page.status_code == 200 and b"price of a single issue" in page.content.lower()
    response = admin_client.post(
        page.redirect_chain[-1][0],
        {
            "payment_grace_days": 7,
            "shipping_countries": "US,GB",
            "single_issue_price": 650,
            "single_issue_currency": "usd",
            "test_mode_tax_rate": "20.00",
            "retention_percent_off": 50,
            "retention_months": 3,
        },
    )
    assert response.status_code == 302
    assert BillingSettings.load().single_issue_price == 650

    issue = make_issue([], number=51, title="The Salt Issue")
    IssuePurchase.objects.create(member=member, issue=issue, amount=650, status="paid")
    listing = admin_client.get("/admin/billing/single-issues/").content.decode()
    assert "The Salt Issue" in listing and "$6.50" in listing
    assert admin_client.get("/admin/billing/single-issues/new/").status_code == 302
