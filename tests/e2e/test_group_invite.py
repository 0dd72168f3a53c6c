"""A library's manager invites a reader by email from their account page; the
reader opens the emailed link, creates an account on the way, accepts the
seat and reads a subscriber article in full, in chromium (issue 19)."""

import re

import pytest
from django.core import mail

from masthead.newsroom.models import SectionPage
from tests.e2e.support import signed_in_context
from tests.factories import make_article, paragraph
from tests.issues.support import make_member

INVITE = re.compile(r"https?://\S+?(/seat/[\w-]+/)")
SIGN_UP = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")
GATED = "Only subscribers learn which shelf the atlas hides on."


@pytest.mark.e2e
def test_a_manager_invites_a_reader_who_then_reads_a_subscriber_article(
    transactional_db, site_tree, live_server, settings, browser, browser_page
):
    from masthead.billing.actions import create_organisation, ensure_default_plans
    from masthead.billing.models import Plan

    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: no Stripe needed for an invoice-billed group
    ensure_default_plans()
    manager = make_member("head@library.example", full_name="Head Librarian")
    create_organisation(
        name="City Library",
        plan=Plan.objects.get(code="digital"),
        seats=3,
        manager=manager,
        pays_by_invoice=True,
        billing_email="accounts@library.example",
    )
    article = make_article(
        SectionPage.objects.get(slug="finance"),
        title="The atlas room",
        access_level="subscribers",
        body=[
            paragraph("<p>The opening anyone may read.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )
    mail.outbox = []

    # The manager: from the account page to the seats, and an invitation.
    context = signed_in_context(browser, live_server.url, manager)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/account/")
        page.get_by_role("link", name="City Library: readers and seats").click()
        page.get_by_role("heading", name="City Library").wait_for()
        assert page.get_by_text("0 of 3").is_visible()
        page.get_by_label("Email address").fill("new.reader@example.com")
        page.get_by_role("button", name="Send invitation").click()
        page.get_by_text("We sent an invitation to new.reader@example.com.").wait_for()
        waiting = page.locator('[data-invitation="new.reader@example.com"]')
        assert waiting.is_visible()
    finally:
        context.close()

    [invitation] = mail.outbox
    assert invitation.to == ["new.reader@example.com"]
    invite_path = INVITE.search(invitation.body).group(1)

    # The reader: no account yet. The article stops at the paywall.
    page = browser_page
    page.set_default_timeout(20_000)
    page.goto(live_server.url + article.url)
    assert page.locator(".paywall").is_visible()
    assert not page.get_by_text(GATED).is_visible()

    page.goto(live_server.url + invite_path)
    page.get_by_role("heading", name="City Library invites you").wait_for()
    page.get_by_role("link", name="Sign in or create an account to accept it").click()
    by_link = page.get_by_role("region", name="Email me a sign-in link")
    by_link.get_by_label("Email address").fill("new.reader@example.com")
    by_link.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    page.goto(live_server.url + SIGN_UP.search(mail.outbox[-1].body).group(1))
    page.get_by_role("button", name="Create my account").click()

    # Back on the invitation, signed in: accept.
    page.wait_for_url(live_server.url + invite_path)
    page.get_by_role("button", name="Accept the seat").click()
    page.get_by_role("heading", name="Your account").wait_for()
    assert page.get_by_text("provided by City Library").is_visible()

    page.goto(live_server.url + article.url)
    page.get_by_text(GATED).wait_for()
    assert page.locator(".paywall").count() == 0
