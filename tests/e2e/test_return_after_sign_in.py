"""A member who meets the paywall signs in, by emailed link or by password,
and is back on the article they were reading, in chromium; an address on
another site is refused."""

import re

import pytest
from django.core import mail

from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph
from tests.issues.support import make_member

LINK = re.compile(r"https?://\S+?(/account/link/[\w-]+/)")
GATED = "Members learn what the tide tables hide."


@pytest.fixture
def members_article(transactional_db, site_tree):
    make_member("tide.reader@example.com", full_name="Tide Reader")
    return make_article(
        SectionPage.objects.get(slug="finance"),
        title="The tide tables",
        access_level="members",
        body=[
            paragraph("<p>The opening anyone may read.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )


@pytest.mark.e2e
def test_signing_in_by_link_returns_to_the_article(
    members_article, live_server, settings, browser_page
):
    settings.SITE_URL = live_server.url
    mail.outbox = []
    page = browser_page
    page.set_default_timeout(20_000)

    page.goto(live_server.url + members_article.url)
    page.locator(".paywall").get_by_role("link", name="Sign in").click()
    by_link = page.get_by_role("region", name="Email me a sign-in link")
    by_link.get_by_label("Email address").fill("tide.reader@example.com")
    by_link.get_by_role("button", name="Email me a link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    [message] = mail.outbox
    page.goto(live_server.url + LINK.search(message.body).group(1))
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(live_server.url + members_article.url)
    page.get_by_text(GATED).wait_for()


@pytest.mark.e2e
def test_signing_in_by_password_returns_to_the_article_and_never_leaves_the_site(
    members_article, live_server, settings, browser_page
):
    settings.SITE_URL = live_server.url
    page = browser_page
    page.set_default_timeout(20_000)

    def sign_in_by_password():
        # Each form's labels point at its own inputs.
        by_password = page.get_by_role("region", name="Or sign in with your password")
        by_password.get_by_label("Email address").fill("tide.reader@example.com")
        by_password.get_by_label("Password").fill("a-long-password-1")
        by_password.get_by_role("button", name="Sign in").click()

    page.goto(live_server.url + members_article.url)
    page.locator(".paywall").get_by_role("link", name="Sign in").click()
    sign_in_by_password()
    page.wait_for_url(live_server.url + members_article.url)
    page.get_by_text(GATED).wait_for()

    page.goto(live_server.url + "/account/sign-out/")
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + "/account/sign-in/?next=https://evil.example.com/")
    sign_in_by_password()
    page.wait_for_url(live_server.url + "/account/")
