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
            "retention_percent_off": "50",
            "retention_months": "3",
            "single_issue_price": "0",
            "single_issue_currency": "usd",
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


# Against the local Stripe --------------------------------------------------------------

GERMAN_BUSINESS = {
    "address": {
        "line1": "Hauptstraße 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    },
    "business_name": "Acme Research GmbH",
    "tax_id": "DE123456789",
}
SHIP_TO_LONDON = {
    "name": "Ada Reader",
    "address": {
        "line1": "1 Fleet Street",
        "line2": "",
        "city": "London",
        "state": "",
        "postal_code": "EC4Y 1AA",
        "country": "GB",
    },
}


def taxed_catalogue(*, inclusive):
    """The default plans created on the local Stripe once the publisher
    collects tax, so their prices carry the tax behaviour."""
    from masthead.billing.actions import create_plan_on_stripe
    from masthead.billing.models import Plan, Price

    set_tax(inclusive=inclusive)
    for plan in Plan.objects.all():
        create_plan_on_stripe(plan)
    return {f"{p.plan.code}/{p.interval}": p for p in Price.objects.select_related("plan")}


@pytest.fixture
def stripe_journey(member_client, stripe_live, plans, django_capture_on_commit_callbacks):
    from tests.billing.conftest import Journey

    return Journey(member_client, stripe_live, django_capture_on_commit_callbacks)


def test_tax_on_at_checkout_sends_stripe_tax_parameters(stripe_journey, stripe_live, member):
    prices = taxed_catalogue(inclusive=False)
    session_id = stripe_journey.start(prices["digital/month"])
    session = stripe_live.get(f"/v1/checkout/sessions/{session_id}")
    assert session["automatic_tax"]["enabled"] is True
    assert session["tax_id_collection"] == {"enabled": True, "required": "never"}
    assert session["billing_address_collection"] == "required"
    assert "customer_update" not in stripe_live.checkout_sessions[session_id]["params"]

    # A returning customer: Checkout saves the address and business name to them.
    customer = stripe_live.post("/v1/customers", {"email": member.email})
    Subscription.objects.create(
        member=member,
        plan=prices["digital-print/month"].plan,
        status=Subscription.Status.CANCELED,
        stripe_subscription_id="sub_old",
        stripe_customer_id=customer["id"],
    )
    session_id = stripe_journey.start(prices["digital-print/month"])
    params = stripe_live.checkout_sessions[session_id]["params"]
    assert params["customer"] == customer["id"]
    assert params["customer_update"] == {"address": "auto", "name": "auto", "shipping": "auto"}


def test_tax_off_sends_no_tax_parameters(stripe_journey, stripe_live, catalogue):
    session_id = stripe_journey.start(catalogue["digital/month"])
    session = stripe_live.get(f"/v1/checkout/sessions/{session_id}")
    assert session["automatic_tax"]["enabled"] is False
    assert session["tax_id_collection"]["enabled"] is False
    assert session["billing_address_collection"] is None


def test_stripe_tax_on_top_of_the_price_lands_on_receipt_and_invoices(
    stripe_journey, stripe_live, member
):
    prices = taxed_catalogue(inclusive=False)
    price = prices["digital/month"]
    assert stripe_live.get(f"/v1/prices/{price.stripe_price_id}")["tax_behavior"] == "exclusive"
    session_id = stripe_journey.start(price)
    status, session = stripe_live.pay_checkout(session_id, **GERMAN_BUSINESS)
    assert status == 200, session
    assert (session["amount_total"], session["total_details"]["amount_tax"]) == (952, 152)
    assert session["customer_details"]["tax_ids"] == [{"type": "eu_vat", "value": "DE123456789"}]
    response = stripe_journey.webhook("checkout.session.completed", session)
    assert response.status_code == 200

    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (952, 152)
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.tax_amount) == (1, 952, 152)
    assert (invoice.buyer_name, invoice.buyer_tax_id, invoice.tax_country) == (
        "Acme Research GmbH",
        "DE123456789",
        "DE",
    )
    receipt = next(m for m in mail.outbox if m.subject.startswith("Receipt"))
    assert receipt.subject == "Receipt: $9.52 for Digital"
    assert "Tax included: $1.52." in receipt.body

    # The next period: Stripe taxes the renewal the same way.
    renewal = stripe_live.renew(session["subscription"])
    assert [tax["amount"] for tax in renewal["total_taxes"]] == [152]
    assert stripe_journey.webhook("invoice.paid", renewal).status_code == 200
    second = Invoice.objects.get(number=2)
    assert (second.total, second.tax_amount, second.buyer_tax_id) == (952, 152, "DE123456789")


def test_stripe_tax_inside_inclusive_prices(stripe_journey, stripe_live, member):
    prices = taxed_catalogue(inclusive=True)
    price = prices["digital/month"]
    assert stripe_live.get(f"/v1/prices/{price.stripe_price_id}")["tax_behavior"] == "inclusive"
    session_id = stripe_journey.start(price)
    status, session = stripe_live.pay_checkout(session_id, address={"country": "FR"})
    assert status == 200, session
    assert (session["amount_total"], session["total_details"]["amount_tax"]) == (800, 133)
    stripe_journey.webhook("checkout.session.completed", session)
    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (800, 133)
    invoice = Invoice.objects.get()
    assert (invoice.net_amount, invoice.tax_amount, invoice.tax_country) == (667, 133, "FR")
    assert invoice.prices_include_tax


def test_stripe_taxes_print_where_it_ships(stripe_journey, stripe_live, member):
    prices = taxed_catalogue(inclusive=False)
    session_id = stripe_journey.start(prices["digital-print/month"])
    status, session = stripe_live.pay_checkout(
        session_id, shipping=SHIP_TO_LONDON, **GERMAN_BUSINESS
    )
    assert status == 200, session
    # Britain's 20%, not Germany's 19%: the copies go to London.
    assert (session["amount_total"], session["total_details"]["amount_tax"]) == (1680, 280)
    stripe_journey.webhook("checkout.session.completed", session)
    invoice = Invoice.objects.get()
    assert (invoice.total, invoice.tax_amount, invoice.tax_country) == (1680, 280, "GB")
    assert invoice.buyer_address == "Hauptstraße 1\nBerlin 10115\nGermany"


def test_stripe_checkout_with_tax_needs_a_billing_address(stripe_journey, stripe_live):
    prices = taxed_catalogue(inclusive=False)
    session_id = stripe_journey.start(prices["digital/month"])
    status, error = stripe_live.pay_checkout(session_id)
    assert status == 400
    assert error["error"]["message"] == "A billing address is required."


def test_a_gift_is_taxed_and_invoiced_in_test_mode(
    local, plans, member, django_capture_on_commit_callbacks
):
    set_tax()
    response = local.post(
        "/gift/",
        {
            "plan": plans["digital/year"].plan.pk,
            "months": 12,
            "recipient_email": "friend@example.com",
            "recipient_name": "Friend",
        },
    )
    url = response["Location"]
    assert "Plus $16.00 tax (test-mode rate): $96.00 in all." in local.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = local.post(url, {**CARD, **BUSINESS})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (9600, 1600)
    invoice = Invoice.objects.get(payment=payment)
    assert (invoice.description, invoice.buyer_tax_id, invoice.tax_country) == (
        "Gift: 12 months of Digital",
        "DE123456789",
        "DE",
    )
    receipt = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    assert "We received $96.00, tax of $16.00 included," in receipt.body
    assert "http://testserver/billing/invoices/1.pdf" in receipt.body


def test_a_gift_through_stripe_is_taxed_and_invoiced(stripe_journey, stripe_live, member):
    prices = taxed_catalogue(inclusive=False)
    response = stripe_journey.client.post(
        "/gift/",
        {
            "plan": prices["digital/year"].plan.pk,
            "months": 12,
            "recipient_email": "friend@example.com",
        },
    )
    session_id = response["Location"].rsplit("/", 1)[-1]
    params = stripe_live.checkout_sessions[session_id]["params"]
    assert params["line_items"][0]["price_data"]["tax_behavior"] == "exclusive"
    assert params["automatic_tax"] == {"enabled": "true"}
    status, session = stripe_live.pay_checkout(session_id, **GERMAN_BUSINESS)
    assert status == 200, session
    assert (session["amount_total"], session["total_details"]["amount_tax"]) == (9520, 1520)
    stripe_journey.webhook("checkout.session.completed", session)
    payment = Payment.objects.get()
    assert (payment.amount, payment.tax_amount) == (9520, 1520)
    invoice = Invoice.objects.get()
    assert (invoice.buyer_name, invoice.buyer_tax_id, invoice.tax_country) == (
        "Acme Research GmbH",
        "DE123456789",
        "DE",
    )


@pytest.mark.parametrize(
    ("enabled", "inclusive", "note"),
    [
        (False, False, None),
        (True, False, "Sales tax or VAT is added at checkout where it applies."),
        (True, True, "Prices include sales tax or VAT where it applies."),
    ],
)
def test_the_plans_say_whether_tax_is_included(local, enabled, inclusive, note):
    set_tax(enabled=enabled, inclusive=inclusive)
    html = local.get("/subscribe/").content.decode()
    if note is None:
        assert "subscribe__tax" not in html
    else:
        assert note in html


def test_the_publisher_sees_the_invoices_in_the_admin(
    local, plans, member, django_capture_on_commit_callbacks, client
):
    set_tax()
    subscribe(local, plans["digital/month"], django_capture_on_commit_callbacks, **BUSINESS)
    admin = get_user_model().objects.create_superuser(email="publisher@example.com")
    client.force_login(admin)
    page = client.get("/admin/billing/invoices/").content.decode()
    for text in ("INV-000001", "Acme Research GmbH", "DE123456789", "$1.60", "$9.60"):
        assert text in page, text
    invoice = Invoice.objects.get()
    assert client.get(f"/admin/billing/invoices/edit/{invoice.pk}/").status_code == 302
