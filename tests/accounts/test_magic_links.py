import base64
import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from masthead.accounts import tokens
from masthead.accounts.models import AccountEvent, MagicLink, User

from .conftest import ask_for_link, token_from

pytestmark = pytest.mark.django_db


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_tokens_carry_256_random_bits_and_only_their_hash_is_stored(
    client, commit, member, mailoutbox
):
    ask_for_link(client, commit, "reader@example.com")
    token = token_from(mailoutbox[0])
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    link = MagicLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = MagicLink.objects.values_list().get()
    assert not any(token in str(value) for value in stored)
    assert len({tokens.new_token()[0] for _ in range(200)}) == 200


def test_sign_in_link_email_is_absolute_and_says_how_long_it_lasts(
    client, commit, member, mailoutbox, settings
):
    settings.SITE_URL = "https://magazine.example"
    response = ask_for_link(client, commit, "Reader@Example.com ")
    assert response.status_code == 302
    assert response["Location"] == "/account/check-inbox/"
    [message] = mailoutbox
    assert message.to == ["reader@example.com"]
    assert message.subject == "Sign in to The Meridian Review"
    assert "https://magazine.example/account/link/" in message.body
    assert "expires in 15 minutes" in message.body


def test_link_expires_after_15_minutes(client, commit, member, mailoutbox):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        ask_for_link(client, commit, member.email)
        token = token_from(mailoutbox[0])
        frozen.move_to("2026-03-01 12:14:59")
        assert client.get(f"/account/link/{token}/").status_code == 200
        frozen.move_to("2026-03-01 12:15:00")
        assert client.get(f"/account/link/{token}/").status_code == 410
        response = client.post(f"/account/link/{token}/")
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
        assert signed_in_user_id(client) is None
    assert MagicLink.objects.get().used_at is None


def test_link_works_once(client, commit, member, mailoutbox):
    ask_for_link(client, commit, member.email)
    token = token_from(mailoutbox[0])
    response = client.post(f"/account/link/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert signed_in_user_id(client) == str(member.pk)
    other = Client()
    assert other.post(f"/account/link/{token}/").status_code == 410
    assert other.get(f"/account/link/{token}/").status_code == 410
    assert signed_in_user_id(other) is None


def test_newer_link_voids_older_ones(client, commit, member, mailoutbox):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        ask_for_link(client, commit, member.email)
        frozen.move_to("2026-03-01 12:01:00")  # one link a minute per address
        ask_for_link(client, commit, member.email, url="/account/sign-up/")
        first, second = token_from(mailoutbox[0]), token_from(mailoutbox[1])
        assert client.post(f"/account/link/{first}/").status_code == 410
        assert signed_in_user_id(client) is None
        assert client.post(f"/account/link/{second}/").status_code == 302
        assert signed_in_user_id(client) == str(member.pk)
    links = list(MagicLink.objects.order_by("created_at"))
    assert links[0].voided_at is not None and links[0].used_at is None
    assert links[1].used_at is not None


def test_opening_the_link_does_not_use_it(client, commit, member, mailoutbox):
    ask_for_link(client, commit, member.email)
    token = token_from(mailoutbox[0])
    for _ in range(3):  # a mail scanner, a preview, the reader
        response = client.get(f"/account/link/{token}/")
        assert response.status_code == 200
    html = response.content.decode()
    assert '<form class="account-form" method="post">' in html
    assert "csrfmiddlewaretoken" in html
    assert "Confirm to sign in as <strong>reader@example.com</strong>" in html
    assert response["Cache-Control"].startswith("max-age=0")
    assert signed_in_user_id(client) is None
    assert MagicLink.objects.get().used_at is None
    assert client.post(f"/account/link/{token}/").status_code == 302


def test_post_signs_in_and_rotates_the_session_key(client, commit, member, mailoutbox):
    session = client.session
    session["basket"] = "digital-yearly"
    session.save()
    key_before = client.cookies["sessionid"].value
    ask_for_link(client, commit, member.email)
    token = token_from(mailoutbox[0])
    client.post(f"/account/link/{token}/")
    key_after = client.cookies["sessionid"].value
    assert key_after != key_before
    assert client.session["_auth_user_id"] == str(member.pk)
    assert client.session["basket"] == "digital-yearly"  # rotated, not flushed
    assert client.get("/account/").status_code == 200
    event = AccountEvent.objects.get(user=member, kind=AccountEvent.Kind.SIGNED_IN)
    assert event.data == {"method": "magic_link"}


def test_sign_up_link_creates_the_account(client, commit, mailoutbox):
    response = ask_for_link(
        client, commit, "New@Example.com", url="/account/sign-up/", full_name="Grace New"
    )
    assert response["Location"] == "/account/check-inbox/"
    assert not User.objects.exists()
    [message] = mailoutbox
    assert message.subject == "Create your account at The Meridian Review"
    token = token_from(message)
    page = client.get(f"/account/link/{token}/").content.decode()
    assert "Create my account" in page
    assert not User.objects.exists()
    response = client.post(f"/account/link/{token}/")
    assert response["Location"] == "/account/"
    user = User.objects.get()
    assert (user.email, user.full_name) == ("new@example.com", "Grace New")
    assert not user.has_usable_password()
    assert signed_in_user_id(client) == str(user.pk)
    assert "Welcome! Your account is ready." in client.get("/account/").content.decode()
    kinds = set(AccountEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert kinds == {AccountEvent.Kind.SIGNED_UP, AccountEvent.Kind.SIGNED_IN}


@pytest.mark.parametrize("url", ["/account/sign-in/", "/account/sign-up/"])
def test_known_and_unknown_addresses_get_the_same_answer(client, commit, member, mailoutbox, url):
    known = ask_for_link(client, commit, "reader@example.com", url=url)
    unknown = ask_for_link(client, commit, "stranger@example.com", url=url)
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/account/check-inbox/"
    assert known.content == unknown.content
    known_page = client.get(known["Location"])
    assert known_page.content == client.get(unknown["Location"]).content
    assert "Check your inbox" in known_page.content.decode()
    # Behind the identical answer: a sign-in link for the member, a sign-up
    # link for the stranger.
    by_address = {message.to[0]: message for message in mailoutbox}
    assert by_address["reader@example.com"].subject == "Sign in to The Meridian Review"
    assert (
        by_address["stranger@example.com"].subject == "Create your account at The Meridian Review"
    )
    purposes = dict(MagicLink.objects.values_list("email", "purpose"))
    assert purposes == {"reader@example.com": "sign_in", "stranger@example.com": "sign_up"}


def test_deactivated_account_gets_no_link_and_the_same_answer(client, commit, mailoutbox):
    User.objects.create_user(email="gone@example.com", is_active=False)
    response = ask_for_link(client, commit, "gone@example.com")
    assert response["Location"] == "/account/check-inbox/"
    assert mailoutbox == []


def test_link_for_a_deactivated_account_does_not_sign_in(client, commit, member, mailoutbox):
    ask_for_link(client, commit, member.email)
    token = token_from(mailoutbox[0])
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert client.post(f"/account/link/{token}/").status_code == 410
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/subscribe/?plan=print", "/subscribe/?plan=print"),
        ("https://evil.example/steal", "/account/"),
        ("//evil.example/", "/account/"),
        ("", "/account/"),
    ],
)
def test_link_returns_to_a_safe_next_page(client, commit, member, mailoutbox, next_url, landing):
    ask_for_link(client, commit, member.email, next=next_url)
    token = token_from(mailoutbox[0])
    assert client.post(f"/account/link/{token}/")["Location"] == landing


def test_sign_in_page_keeps_next_and_redirects_members(client, member):
    response = client.get("/account/sign-in/?next=/subscribe/")
    html = response.content.decode()
    assert '<input type="hidden" name="next" value="/subscribe/"' in html
    assert '<label for="id_email">Email address:</label>' in html
    client.force_login(member)
    assert client.get("/account/sign-in/")["Location"] == "/account/"


def test_sign_in_page_ids_are_unique_and_each_label_points_at_its_own_input(client):
    html = client.get("/account/sign-in/?next=/subscribe/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for label_for in re.findall(r'<label for="([^"]+)"', html):
        assert ids.count(label_for) == 1
    # The link form keeps its ids; the password form has its own.
    assert '<label for="id_email">Email address:</label>' in html
    assert '<label for="id_password-email">Email address:</label>' in html
    assert '<label for="id_password-password">Password:</label>' in html
    assert 'id="id_next"' in html and 'id="id_password-next"' in html


def test_invalid_email_is_an_accessible_form_error(client):
    response = client.post("/account/sign-in/", {"email": "not an address"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_error"' in html
    assert 'id="id_email_error"' in html
    assert not MagicLink.objects.exists()


def test_unknown_token_is_gone(client):
    assert client.get("/account/link/not-a-token/").status_code == 410
    assert client.post("/account/link/not-a-token/").status_code == 410


def test_expired_and_used_links_are_never_reused_even_when_raced(member):
    from masthead.accounts import actions

    token = actions._issue_magic_link(member.email, MagicLink.Purpose.SIGN_IN)
    assert actions.redeem_magic_link(token).user == member
    assert actions.redeem_magic_link(token) is None
    token = actions._issue_magic_link(member.email, MagicLink.Purpose.SIGN_IN)
    MagicLink.objects.filter(used_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert actions.redeem_magic_link(token) is None
