"""What the browser tests share: a browser context signed in as a member."""

from django.conf import settings
from django.test import Client


def signed_in_context(browser, base_url, user, **options):
    """A new browser context (Playwright's `options`) holding `user`'s
    session cookie for `base_url`, as if they had signed in."""
    context = browser.new_context(**options)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])
    return context
