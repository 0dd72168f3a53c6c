"""Paid Ghost members keep the Stripe subscription they already pay for:
the import links it, reading it from the local Stripe, and charges nobody."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from masthead.access.rules import decide
from masthead.billing.models import Price, Subscription
from masthead.imports.ghost import GhostParser
from masthead.imports.models import ImportRun
from masthead.imports.writer import ImportOptions, plan_import, write_import
from masthead.newsroom.models import ArticlePage
from tests.imports.ghost_export import write_export, write_images

pytestmark = pytest.mark.django_db

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def paying_customer(stripe, price_id, email="paid@example.com"):
    customer = stripe.post("/v1/customers", {"email": email})
    method = stripe.post("/v1/payment_methods", {"type": "card", "card": CARD})
    stripe.post(f"/v1/payment_methods/{method['id']}/attach", {"customer": customer["id"]})
    stripe.post(
        f"/v1/customers/{customer['id']}",
        {"invoice_settings": {"default_payment_method": method["id"]}},
    )
    subscription = stripe.post(
        "/v1/subscriptions", {"customer": customer["id"], "items": [{"price": price_id}]}
    )
    return customer["id"], subscription["id"]


def invoices_of(stripe, customer_id):
    return [i["id"] for i in stripe.get(f"/v1/invoices?customer={customer_id}")["data"]]


def import_export(path, images, **options):
    parser = GhostParser(path)
    opts = ImportOptions(images_dir=str(images), fetch_images=False, **options)
    report = plan_import(parser, opts)
    run = ImportRun.objects.create(importer="ghost", report=report.as_dict())
    return report, write_import(parser, run, opts)


def test_a_paid_member_is_linked_to_the_subscription_stripe_knows(catalogue, stripe_live, tmp_path):
    price = catalogue["digital/month"]
    customer_id, subscription_id = paying_customer(stripe_live, price.stripe_price_id)
    invoices = invoices_of(stripe_live, customer_id)
    path = write_export(
        tmp_path / "export.json",
        stripe_price_id=price.stripe_price_id,
        customer_id=customer_id,
        subscription_id=subscription_id,
    )
    _, report = import_export(path, write_images(tmp_path / "images"))

    subscription = Subscription.objects.get(member__email="paid@example.com")
    assert subscription.stripe_subscription_id == subscription_id
    assert subscription.stripe_customer_id == customer_id
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.plan.code == "digital"
    assert subscription.price == price
    # Nothing was created on Stripe: no new invoice, so no second charge.
    assert invoices_of(stripe_live, customer_id) == invoices
    assert not [p for p in report.problems if p["record"] == "m2"]

    member = get_user_model().objects.get(email="paid@example.com")
    ledger = ArticlePage.objects.get(slug="the-river-ledger")
    assert decide(member, ledger)
    client = Client()
    client.force_login(member)
    html = client.get(ledger.url).content.decode()
    assert "Only subscribers read the river ledger" in html


def test_a_price_from_the_old_platform_maps_to_a_plan_and_is_not_offered(
    catalogue, stripe_live, tmp_path
):
    product = stripe_live.post("/v1/products", {"name": "Ghost Supporter"})
    old_price = stripe_live.post(
        "/v1/prices",
        {
            "product": product["id"],
            "unit_amount": 700,
            "currency": "usd",
            "recurring": {"interval": "month"},
        },
    )
    customer_id, subscription_id = paying_customer(stripe_live, old_price["id"])
    invoices = invoices_of(stripe_live, customer_id)
    path = write_export(
        tmp_path / "export.json",
        stripe_price_id=old_price["id"],
        customer_id=customer_id,
        subscription_id=subscription_id,
    )
    plan_report, _ = import_export(
        path,
        write_images(tmp_path / "images"),
        price_mapping={old_price["id"]: "digital-print"},
    )
    assert plan_report.prices[old_price["id"]] == {"plan": "digital-print", "readers": 1}

    subscription = Subscription.objects.get(member__email="paid@example.com")
    assert subscription.plan.code == "digital-print"
    assert subscription.status == Subscription.Status.ACTIVE
    kept = Price.objects.get(stripe_price_id=old_price["id"])
    assert (kept.amount, kept.interval, kept.active) == (700, "month", False)
    assert invoices_of(stripe_live, customer_id) == invoices


def test_a_paid_member_whose_customer_stripe_does_not_know_is_reported(
    catalogue, stripe_live, tmp_path
):
    price = catalogue["digital/month"]
    path = write_export(
        tmp_path / "export.json",
        stripe_price_id=price.stripe_price_id,
        customer_id="cus_gone",
        subscription_id="sub_gone",
    )
    _, report = import_export(path, write_images(tmp_path / "images"))
    assert get_user_model().objects.filter(email="paid@example.com").exists()
    assert not Subscription.objects.filter(member__email="paid@example.com").exists()
    assert any(p["record"] == "m2" and "Stripe" in p["message"] for p in report.problems)
