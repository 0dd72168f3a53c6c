"""Newsletters chosen on the sign-up form: each newsletter open to a new
member is a box (ticked where it is on by default); the answers wait with
the link and become the new member's choices, ticked or not, when the link
creates the account."""

import re
from functools import partial

import pytest

from masthead.accounts.models import User
from masthead.mailings.models import Newsletter, NewsletterSubscription
from tests.accounts.conftest import ask_for_link, token_from
from tests.issues.support import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return partial(django_capture_on_commit_callbacks, execute=True)


@pytest.fixture
def newsletters(db):
    return {
        "weekly": Newsletter.objects.create(
            name="The weekly letter",
            slug="weekly",
            description="From the editors.",
            default_on=True,
        ),
        "alerts": Newsletter.objects.create(
            name="Breaking news",
            slug="alerts",
            audience=Newsletter.Audience.MEMBERS,
            kind=Newsletter.Kind.ALERT,
        ),
        "for-subscribers": Newsletter.objects.create(
            name="The subscribers' briefing",
            slug="for-subscribers",
            audience=Newsletter.Audience.SUBSCRIBERS,
        ),
        "retired": Newsletter.objects.create(name="An old letter", slug="retired", is_active=False),
    }


def test_the_sign_up_form_offers_the_newsletters_open_to_a_new_member(client, newsletters):
    page = client.get("/account/sign-up/").content.decode()
    assert "The weekly letter" in page and "From the editors." in page
    boxes = dict(re.findall(r'<input type="checkbox" name="choice_newsletter:(\w+)"([^>]*)>', page))
    assert {"weekly", "alerts"} <= set(boxes)
    assert not {"for-subscribers", "retired"} & set(boxes)
    assert "checked" in boxes["weekly"] and "checked" not in boxes["alerts"]
    assert "Breaking news" in page
    assert "subscribers&#x27; briefing" not in page and "An old letter" not in page


def test_the_choices_made_at_sign_up_are_the_new_members(client, commit, mailoutbox, newsletters):
    # The default one unticked, the other ticked.
    ask_for_link(
        client,
        commit,
        "new@example.com",
        url="/account/sign-up/",
        **{"choice_newsletter:alerts": "on"},
    )
    assert not NewsletterSubscription.objects.exists()
    client.post(f"/account/link/{token_from(mailoutbox[0])}/")
    member = User.objects.get(email="new@example.com")
    chosen = {
        choice.newsletter.slug: (choice.subscribed, choice.source)
        for choice in NewsletterSubscription.objects.filter(
            member=member, newsletter__in=newsletters.values()
        )
    }
    assert chosen == {
        "weekly": (False, NewsletterSubscription.Source.SIGN_UP),
        "alerts": (True, NewsletterSubscription.Source.SIGN_UP),
    }


def test_signing_up_again_with_an_account_changes_no_choice(
    client, commit, mailoutbox, newsletters
):
    member = make_member("reader@example.com")
    ask_for_link(
        client,
        commit,
        "reader@example.com",
        url="/account/sign-up/",
        **{"choice_newsletter:alerts": "on"},
    )
    # The address has an account: it gets a sign-in link, and its choices stay.
    client.post(f"/account/link/{token_from(mailoutbox[0])}/")
    assert not NewsletterSubscription.objects.filter(member=member).exists()
