"""A reader signs up by magic link in chromium and lands on the account page.

Chromium comes from tests/e2e/conftest.py (`browser_page`), launched from
/usr/bin/chromium with the project's flags.
"""

import re

import pytest
from django.core import mail

LINK = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")


@pytest.mark.e2e
def test_sign_up_by_magic_link(transactional_db, site_tree, live_server, settings, browser_page):
    settings.SITE_URL = live_server.url
    mail.outbox = []
    page = browser_page
    page.set_default_timeout(15_000)

    page.goto(f"{live_server.url}/account/sign-in/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill("new.reader@example.com")
    page.get_by_label("Your name").fill("New Reader")
    page.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()

    [message] = mail.outbox
    assert message.to == ["new.reader@example.com"]
    link = LINK.search(message.body)
    assert link and message.body.count(live_server.url) == 1

    page.goto(live_server.url + link.group(1))
    page.get_by_role("heading", name="Create your account").wait_for()
    page.get_by_role("button", name="Create my account").click()

    page.get_by_role("heading", name="Your account").wait_for()
    assert page.url == f"{live_server.url}/account/"
    assert page.get_by_text("Welcome! Your account is ready.").is_visible()
    assert page.get_by_role("textbox", name="Name:", exact=True).input_value() == "New Reader"
    assert (
        page.get_by_role("navigation", name="Account")
        .get_by_role("link", name="Account")
        .is_visible()
    )

    # The link is spent: opening it again offers a new one instead.
    response = page.goto(live_server.url + link.group(1))
    assert response.status == 410
