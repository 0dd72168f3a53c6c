import re
from functools import partial

import pytest

from masthead.accounts.models import User

LINK = re.compile(r"https?://\S+?/account/link/([\w-]+)/")
CONFIRM_LINK = re.compile(r"https?://\S+?/account/email/confirm/([\w-]+)/")


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit(): ...` runs the on-commit callbacks (emails) of the block."""
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def member(db):
    return User.objects.create_user(email="reader@example.com", full_name="Ada Reader")


def token_from(message, pattern=LINK):
    match = pattern.search(message.body)
    assert match, message.body
    return match.group(1)


def ask_for_link(client, commit, email, url="/account/sign-in/", **extra):
    with commit():
        return client.post(url, {"email": email, **extra})
