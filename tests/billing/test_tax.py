"""Sales tax, VAT and invoices: the publisher's settings, tax at checkout
(test mode and the local Stripe), and the invoices a business can file."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from masthead.billing.invoices import invoice_html
from masthead.billing.models import BillingSettings, Invoice, Payment, Subscription
from masthead.billing.reconciliation import reconcile

CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}
BUSINESS = {
    "business_name": "Acme Research GmbH",
    "tax_id": "DE 123456789",
    "billing_line1": "Hauptstraße 1",
    "billing_city": "Berlin",
    "billing_postal_code": "10115",
    "billing_country": "DE",
}
SHIP_TO_US = {
    "ship_name": "Ada Reader",
    "line1": "12 Main Street",
    "line2": "",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
    "country": "US",
}


def set_tax(*, enabled=True, inclusive=False, rate="20.00"):
    billing_settings = BillingSettings.load()
    billing_settings.tax_enabled = enabled
    billing_settings.prices_include_tax = inclusive
    billing_settings.test_mode_tax_rate = Decimal(rate)
    billing_settings.seller_name = "Meridian Press Ltd"
    billing_settings.seller_address = "1 Fleet Street\nLondon EC4Y 1AA\nUnited Kingdom"
    billing_settings.seller_tax_id = "GB987654321"
    billing_settings.save()


@pytest.fixture
def local(test_mode, plans, member_client):
    return member_client


def subscribe(client, price, capture, **fields):
    response = client.post(reverse("billing:start_checkout", args=[price.pk]))
    assert response.status_code == 303
    url = response["Location"]
    with capture(execute=True):
        response = client.post(url, {**CARD, **fields})
    assert response.status_code == 302, response.content.decode()[:3000]
    return url


# Test mode -----------------------------------------------------------------------------


def test_without_tax_the_price_is_the_charge_and_the_invoice_shows_no_tax(
    local, plans, member, django_capture_on_commit_callbacks
):
    page = local.get(local.post(f"/subscribe/checkout/{plans['digital/month'].pk}/")["Location"])
    assert b"Billing details" not in page.content
    subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks)
    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (800, 0)
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.tax_amount) == (1, 800, 0)
    assert (invoice.buyer_name, invoice.buyer_email) == ("Ada Reader", "ada@example.com")


def test_exclusive_tax_is_added_at_checkout_and_lands_on_receipt_and_invoice(
    local, plans, member, django_capture_on_commit_callbacks
):
    set_tax(inclusive=False, rate="20.00")
    price = plans["digital/month"]
    url = local.post(reverse("billing:start_checkout", args=[price.pk]))["Location"]
    page = local.get(url).content.decode()
    assert "Plus $1.60 tax (test-mode rate): $9.60 in all." in page
    assert "Billing details" in page and "Pay $9.60" in page

    subscribe(local, price, django_capture_on_commit_callbacks, **BUSINESS)

    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (960, 160)
    invoice = Invoice.objects.get(payment=payment)
    assert (invoice.total, invoice.tax_amount, invoice.net_amount) == (960, 160, 800)
    assert (invoice.buyer_name, invoice.buyer_tax_id, invoice.tax_country) == (
        "Acme Research GmbH",
        "DE123456789",
        "DE",
    )
    assert invoice.buyer_address == "Hauptstraße 1\nBerlin 10115\nGermany"
    assert (invoice.seller_name, invoice.seller_tax_id) == ("Meridian Press Ltd", "GB987654321")
    receipt = next(m for m in mail.outbox if m.subject.startswith("Receipt"))
    assert receipt.subject == "Receipt: $9.60 for Digital"
    assert "Tax included: $1.60." in receipt.body
    assert "Invoice: INV-000001" in receipt.body
    assert f"http://testserver/billing/invoices/{invoice.number}.pdf" in receipt.body
    account = local.get("/account/").content.decode()
    assert "$9.60 (incl. $1.60 tax)" in account
    assert f'href="/billing/invoices/{invoice.number}.pdf"' in account


def test_inclusive_prices_take_the_tax_out_of_the_price(
    local, plans, member, django_capture_on_commit_callbacks
):
    set_tax(inclusive=True, rate="20.00")
    price = plans["digital/month"]
    url = local.post(reverse("billing:start_checkout", args=[price.pk]))["Location"]
    page = local.get(url).content.decode()
    assert "Includes $1.33 tax (test-mode rate)." in page and "Pay $8.00" in page
    subscribe(local, price, django_capture_on_commit_callbacks, billing_country="FR")
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.tax_amount, invoice.net_amount) == (800, 133, 667)
    assert invoice.prices_include_tax and invoice.tax_country == "FR"
    assert "Prices include tax." in invoice_html(invoice)


def test_checkout_with_tax_needs_a_billing_country(local, plans):
    set_tax()
    price = plans["digital/month"]
    url = local.post(reverse("billing:start_checkout", args=[price.pk]))["Location"]
    response = local.post(url, CARD)
    assert response.status_code == 200
    assert not Subscription.objects.exists()


def test_print_plans_are_taxed_where_the_copies_ship(
    local, plans, member, django_capture_on_commit_callbacks
):
    set_tax()
    subscribe(
        local,
        plans["digital-print/month"],
        django_capture_on_commit_callbacks,
        **BUSINESS,
        **SHIP_TO_US,
    )
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.tax_amount) == (1680, 280)
    assert invoice.tax_country == "US"  # shipped to the US, billed to Germany
    assert invoice.buyer_tax_id == "DE123456789"


def test_invoices_are_numbered_in_sequence_and_renewals_keep_the_buyer(
    local, plans, member, django_capture_on_commit_callbacks, client
):
    set_tax()
    subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks, **BUSINESS)
    other = get_user_model().objects.create_user(email="bo@example.com", full_name="Bo Reader")
    client.force_login(other)
    subscribe(
        client, plans["digital/year"], django_capture_on_commit_callbacks, billing_country="US"
    )
    first = Subscription.objects.get(member=member)
    with (
        freeze_time(first.current_period_end + timedelta(days=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reconcile()
    invoices = list(Invoice.objects.order_by("number"))
    assert [(i.number, i.member.email) for i in invoices] == [
        (1, "ada@example.com"),
        (2, "bo@example.com"),
        (3, "ada@example.com"),
    ]
    renewal = invoices[2]
    assert renewal.payment.subscription == first
    assert (renewal.buyer_name, renewal.buyer_tax_id, renewal.tax_country) == (
        "Acme Research GmbH",
        "DE123456789",
        "DE",
    )
    assert (renewal.total, renewal.tax_amount) == (960, 160)
    assert [i.reference for i in invoices] == ["INV-000001", "INV-000002", "INV-000003"]


def test_the_invoice_names_seller_and_buyer_with_their_tax_ids(
    local, plans, member, django_capture_on_commit_callbacks
):
    set_tax()
    subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks, **BUSINESS)
    html = invoice_html(Invoice.objects.get())
    for text in (
        "INV-000001",
        "Meridian Press Ltd",
        "1 Fleet Street",
        "GB987654321",
        "Acme Research GmbH",
        "ada@example.com",
        "Hauptstraße 1",
        "DE123456789",
        "Digital subscription",
        "$8.00",
        "Tax (DE)",
        "$1.60",
        "$9.60",
    ):
        assert text in html, text


def test_the_invoice_pdf_is_for_its_owner_only(
    local, plans, member, django_capture_on_commit_callbacks, client, settings, tmp_path
):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    set_tax()
    subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks, **BUSINESS)
    invoice = Invoice.objects.get()
    url = reverse("billing:invoice_pdf", args=[invoice.number])
    assert url == f"/billing/invoices/{invoice.number}.pdf"

    response = local.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert response.content.startswith(b"%PDF-")
    # Kept after the first rendering: the second download reads the file.
    assert [p.name for p in (tmp_path / "billing" / "invoices").iterdir()] == ["INV-000001-v1.pdf"]
    assert local.get(url).content == response.content

    assert local.get(reverse("billing:invoice_pdf", args=[invoice.number + 1])).status_code == 404
    other = get_user_model().objects.create_user(email="eve@example.com")
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.logout()
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/sign-in/" in anonymous["Location"]


def test_the_publisher_edits_tax_and_seller_settings_in_the_admin(client, db):
    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    url = client.get("/admin/settings/billing/billingsettings/")["Location"]
    page = client.get(url)
    assert page.status_code == 200
    for label in ("collect sales tax and vat", "prices include tax", "seller&#x27;s tax id"):
        assert label in page.content.decode().lower(), label
    response = client.post(
        url,
        {
            "payment_grace_days": "7",
            "shipping_countries": "US,GB",
            "tax_enabled": "on",
            "prices_include_tax": "on",
            "test_mode_tax_rate": "19.00",
            "seller_name": "Meridian Press Ltd",
            "seller_address": "1 Fleet Street",
            "seller_tax_id": "GB987654321",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = BillingSettings.load()
    assert (saved.tax_enabled, saved.prices_include_tax, saved.test_mode_tax_rate) == (
        True,
        True,
        Decimal("19.00"),
    )
    assert (saved.seller_name, saved.seller_tax_id) == ("Meridian Press Ltd", "GB987654321")
