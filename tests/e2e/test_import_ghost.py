"""An editor moves a Ghost magazine in from the admin, and a paid reader of
the old site reads a paid article in full after signing in by link.

The paid reader's subscription lives on the local Stripe (localstripe), as it
did for the old site: the import links it and creates nothing there.
"""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from masthead.newsroom.site_tree import ensure_site_tree
from tests.billing.conftest import catalogue, plans, stripe_live, stripe_server  # noqa: F401
from tests.e2e.support import signed_in_context
from tests.imports.ghost_export import build_export
from tests.imports.test_paid_readers import invoices_of, paying_customer

LINK = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")
GATED = "Only subscribers read the river ledger's secret."


@pytest.mark.e2e
def test_editor_imports_a_ghost_export_and_a_paid_reader_reads_in_full(
    transactional_db,
    live_server,
    browser,
    catalogue,  # noqa: F811
    stripe_live,  # noqa: F811
    tmp_path,
    settings,
):
    settings.SITE_URL = live_server.url
    ensure_site_tree()
    price = catalogue["digital/month"]
    customer_id, subscription_id = paying_customer(stripe_live, price.stripe_price_id)
    invoices = invoices_of(stripe_live, customer_id)
    export = tmp_path / "saltmere.ghost.json"
    export.write_text(
        json.dumps(
            build_export(
                stripe_price_id=price.stripe_price_id,
                customer_id=customer_id,
                subscription_id=subscription_id,
            )
        )
    )
    editor = get_user_model().objects.create_user(
        "editor@saltmere.example", is_staff=True, is_superuser=True
    )
    context = signed_in_context(
        browser, live_server.url, editor, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(120_000)

    # Upload and read the dry-run report.
    page.goto(f"{live_server.url}/admin/imports/")
    page.get_by_label("From").select_option("ghost")
    page.get_by_label("Export file").set_input_files(str(export))
    page.get_by_role("button", name="Upload and check (dry run)").click()
    page.get_by_role("heading", name="Dry run done, waiting for confirmation").wait_for()
    counts = page.locator("tr[data-kind='post']").inner_text()
    assert counts.split() == ["posts", "7", "0", "0"]
    assert (
        "not a valid email address: 'not-an-email'" in page.locator(".import-problems").inner_text()
    )
    assert get_user_model().objects.filter(email="paid@example.com").count() == 0

    # Confirm: the worker (immediate in tests) imports it.
    page.get_by_role("button", name="Import").click()
    page.get_by_role("heading", name="Imported").wait_for()
    assert page.locator("tr[data-kind='reader']").inner_text().split() == ["readers", "3", "0", "2"]
    context.close()
    assert invoices_of(stripe_live, customer_id) == invoices

    # The paid reader signs in by link and reads the paid article in full.
    mail.outbox = []
    reader = browser.new_context(viewport={"width": 1280, "height": 900})
    page = reader.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/coast/the-river-ledger/")
    assert GATED not in page.content()
    page.goto(f"{live_server.url}/account/sign-in/")
    form = page.locator("section[aria-labelledby='sign-in-link-heading']")
    form.get_by_label("Email address").fill("paid@example.com")
    form.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    [message] = mail.outbox
    page.goto(live_server.url + LINK.search(message.body).group(1))
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/coast/the-river-ledger/")
    page.get_by_text(GATED).wait_for()
    assert page.locator(".paywall").count() == 0
    reader.close()
