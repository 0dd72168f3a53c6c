import re

import pytest
from django.test import Client
from freezegun import freeze_time

from masthead.accounts.models import MagicLink, User

from .conftest import ask_for_link, token_from

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many requests."


@pytest.mark.parametrize("email", ["reader@example.com", "stranger@example.com"])
def test_five_links_per_address_per_source_per_15_minutes(
    client, commit, member, mailoutbox, email
):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        statuses = [ask_for_link(client, commit, email).status_code for _ in range(6)]
        assert statuses == [302] * 5 + [429]
        response = ask_for_link(client, commit, email.upper(), url="/account/sign-up/")
        assert response.status_code == 429
        assert TOO_MANY in response.content.decode()
        # One link a minute goes to an address, however often it is asked for.
        assert len(mailoutbox) == 1
        # Another address from the same place is still served.
        assert ask_for_link(client, commit, "other@example.com").status_code == 302
        frozen.move_to("2026-03-01 12:15:00")
        assert ask_for_link(client, commit, email).status_code == 302
        assert [m.to for m in mailoutbox] == [[email], ["other@example.com"], [email]]


def test_a_link_goes_to_an_address_at_most_once_a_minute(commit, member, mailoutbox):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        for number in range(4):
            asker = Client(REMOTE_ADDR=f"203.0.113.{number}")
            assert ask_for_link(asker, commit, member.email).status_code == 302
        assert len(mailoutbox) == 1
        # The requests that sent nothing voided nothing: the link still works.
        link = f"/account/link/{token_from(mailoutbox[0])}/"
        frozen.move_to("2026-03-01 12:00:59")
        owner = Client(REMOTE_ADDR="192.0.2.1")
        assert ask_for_link(owner, commit, member.email).status_code == 302
        assert len(mailoutbox) == 1
        assert owner.post(link).status_code == 302
        assert owner.session["_auth_user_id"] == str(member.pk)
        frozen.move_to("2026-03-01 12:01:00")
        assert ask_for_link(Client(), commit, member.email).status_code == 302
        assert len(mailoutbox) == 2


def test_link_requests_from_many_sources_do_not_lock_the_owner_out(commit, member, mailoutbox):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        for number in range(10):
            attacker = Client(REMOTE_ADDR=f"203.0.113.{number}")
            statuses = [ask_for_link(attacker, commit, member.email).status_code for _ in range(6)]
            assert statuses == [302] * 5 + [429]
        frozen.move_to("2026-03-01 12:05:00")
        owner = Client(REMOTE_ADDR="192.0.2.1")
        assert ask_for_link(owner, commit, member.email).status_code == 302
        assert len(mailoutbox) == 2
        assert owner.post(f"/account/link/{token_from(mailoutbox[-1])}/").status_code == 302
        assert owner.session["_auth_user_id"] == str(member.pk)


def test_an_ipv6_source_is_its_64_network(commit, db):
    with freeze_time("2026-03-01 12:00:00"):
        for number in range(20):
            host = Client(REMOTE_ADDR=f"2001:db8:1:2::{number + 1:x}")
            assert ask_for_link(host, commit, f"r{number}@example.com").status_code == 302
        same_network = Client(REMOTE_ADDR="2001:db8:1:2:ffff::1")
        assert ask_for_link(same_network, commit, "r99@example.com").status_code == 429
        next_network = Client(REMOTE_ADDR="2001:db8:1:3::1")
        assert ask_for_link(next_network, commit, "r99@example.com").status_code == 302


def test_the_limited_answer_is_the_same_for_known_and_unknown_addresses(client, commit, member):
    for email in ("reader@example.com", "stranger@example.com"):
        for _ in range(5):
            ask_for_link(client, commit, email)
    known = ask_for_link(client, commit, "reader@example.com")
    unknown = ask_for_link(client, commit, "stranger@example.com")
    assert known.status_code == unknown.status_code == 429

    def main(response):
        html = response.content.decode()
        html = html.replace("reader@example.com", "ADDRESS")
        html = html.replace("stranger@example.com", "ADDRESS")
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return html[html.index("<main") : html.index("</main>")]

    assert main(known) == main(unknown)
    assert TOO_MANY in main(known)


def test_twenty_requests_per_ip_per_hour(commit, db, mailoutbox):
    here, elsewhere = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.1")
    with freeze_time("2026-03-01 12:00:00") as frozen:
        for number in range(20):
            url = "/account/sign-in/" if number % 2 else "/account/sign-up/"
            assert ask_for_link(here, commit, f"r{number}@example.com", url=url).status_code == 302
        response = ask_for_link(here, commit, "r99@example.com")
        assert response.status_code == 429
        assert TOO_MANY in response.content.decode()
        assert (
            ask_for_link(here, commit, "r98@example.com", url="/account/sign-up/").status_code
            == 429
        )
        assert ask_for_link(elsewhere, commit, "r99@example.com").status_code == 302
        assert len(mailoutbox) == 21
        frozen.move_to("2026-03-01 13:00:00")
        assert ask_for_link(here, commit, "r99@example.com").status_code == 302


def test_behind_a_trusted_proxy_each_client_is_counted_apart(commit, db, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # Clients behind nginx; the first one also tries to pass as someone else.
    first = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7")
    second = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    for number in range(20):
        assert ask_for_link(first, commit, f"r{number}@example.com").status_code == 302
    assert ask_for_link(first, commit, "r99@example.com").status_code == 429
    assert ask_for_link(second, commit, "r99@example.com").status_code == 302
    # Anyone else's X-Forwarded-For changes nothing: it is counted as itself.
    settings.TRUSTED_PROXIES = []
    spoofing = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.50")
    assert ask_for_link(spoofing, commit, "r100@example.com").status_code == 429


def test_password_attempts_are_limited(client, db):
    User.objects.create_user(email="pw@example.com", password="correct horse battery")
    for _ in range(10):
        response = client.post(
            "/account/sign-in/password/", {"email": "pw@example.com", "password": "wrong"}
        )
        assert response.status_code == 200
    response = client.post(
        "/account/sign-in/password/",
        {"email": "pw@example.com", "password": "correct horse battery"},
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_from_many_sources_do_not_lock_the_owner_out(db):
    owner = User.objects.create_user(email="pw@example.com", password="correct horse battery")
    with freeze_time("2026-03-01 12:00:00"):
        for number in range(5):
            attacker = Client(REMOTE_ADDR=f"203.0.113.{number}")
            statuses = [
                attacker.post(
                    "/account/sign-in/password/",
                    {"email": "PW@example.com", "password": f"guess {guess}"},
                ).status_code
                for guess in range(11)
            ]
            assert statuses == [200] * 10 + [429]
        client = Client(REMOTE_ADDR="192.0.2.1")
        response = client.post(
            "/account/sign-in/password/",
            {"email": "pw@example.com", "password": "correct horse battery"},
        )
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(owner.pk)


def test_thirty_password_attempts_per_source_per_hour(db):
    here, elsewhere = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.1")
    with freeze_time("2026-03-01 12:00:00") as frozen:
        for number in range(30):
            response = here.post(
                "/account/sign-in/password/",
                {"email": f"r{number}@example.com", "password": "guess"},
            )
            assert response.status_code == 200
        form = {"email": "r99@example.com", "password": "guess"}
        assert here.post("/account/sign-in/password/", form).status_code == 429
        assert elsewhere.post("/account/sign-in/password/", form).status_code == 200
        frozen.move_to("2026-03-01 13:00:00")
        assert here.post("/account/sign-in/password/", form).status_code == 200


# The admins' sign-in forms ------------------------------------------------------

ADMIN_SIGN_INS = ["/admin/login/", "/django-admin/login/"]


@pytest.fixture
def reader(db):
    return User.objects.create_user(email="pw@example.com", password="correct horse battery")


@pytest.fixture
def editor(db):
    return User.objects.create_superuser(email="ed@example.com", password="editor's long secret")


def _admin_page(response):
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = re.sub(r'"CSRF_TOKEN": "[^"]+"', "", html)
    return re.sub(r'value="[^"]*@example.com"', "", html)


@pytest.mark.parametrize("url", ADMIN_SIGN_INS)
def test_a_readers_password_at_the_admin_gets_a_wrong_passwords_answer(reader, editor, url):
    right, wrong = Client(), Client()
    right_answer = right.post(url, {"username": reader.email, "password": "correct horse battery"})
    wrong_answer = wrong.post(url, {"username": reader.email, "password": "not it"})
    assert right_answer.status_code == wrong_answer.status_code == 200
    assert _admin_page(right_answer) == _admin_page(wrong_answer)
    assert "_auth_user_id" not in right.session
    staff = Client()
    response = staff.post(url, {"username": editor.email, "password": "editor's long secret"})
    assert response.status_code == 302
    assert staff.session["_auth_user_id"] == str(editor.pk)


@pytest.mark.parametrize("url", ADMIN_SIGN_INS)
def test_admin_sign_in_is_limited_like_the_readers(editor, client, url):
    with freeze_time("2026-03-01 12:00:00"):
        # Every password form counts against the same limits.
        for _ in range(5):
            client.post("/account/sign-in/password/", {"email": editor.email, "password": "x"})
        for _ in range(5):
            assert client.post(url, {"username": editor.email, "password": "x"}).status_code == 200
        right = {"username": editor.email, "password": "editor's long secret"}
        response = client.post(url, right)
        assert response.status_code == 429
        assert TOO_MANY in response.content.decode()
        assert "_auth_user_id" not in client.session
        assert Client(REMOTE_ADDR="192.0.2.1").post(url, right).status_code == 302


@pytest.mark.parametrize("url", ADMIN_SIGN_INS)
def test_forty_wrong_admin_passwords_meet_a_429(db, url):
    client = Client()
    statuses = [
        client.post(url, {"username": f"e{n}@example.com", "password": "x"}).status_code
        for n in range(40)
    ]
    assert statuses == [200] * 30 + [429] * 10


# CSRF -------------------------------------------------------------------------


def csrf_token(client, url):
    client.get(url)
    return client.cookies["csrftoken"].value


def test_sign_in_form_needs_its_csrf_token(commit, member, mailoutbox):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/account/sign-in/", {"email": member.email}).status_code == 403
    assert client.post("/account/sign-up/", {"email": member.email}).status_code == 403
    assert mailoutbox == []
    token = csrf_token(client, "/account/sign-in/")
    response = ask_for_link(client, commit, member.email, csrfmiddlewaretoken=token)
    assert response.status_code == 302


def test_magic_link_post_needs_its_csrf_token(commit, member, mailoutbox):
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client, "/account/sign-in/")
    ask_for_link(client, commit, member.email, csrfmiddlewaretoken=token)
    link = f"/account/link/{token_from(mailoutbox[0])}/"
    assert client.post(link).status_code == 403
    assert MagicLink.objects.get().used_at is None
    page_token = csrf_token(client, link)
    assert client.post(link, {"csrfmiddlewaretoken": page_token}).status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


@pytest.mark.parametrize(
    "url",
    [
        "/account/sign-in/password/",
        "/account/sign-out/",
        "/account/profile/",
        "/account/email/",
        "/account/address/",
        "/account/preferences/",
        "/account/password/",
        "/account/delete/",
    ],
)
def test_every_account_form_needs_its_csrf_token(member, url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post(url, {"email": member.email}).status_code == 403
    User.objects.get(pk=member.pk)  # still there


# Password sign-in ---------------------------------------------------------------


def test_password_sign_in(client, db):
    user = User.objects.create_user(email="pw@example.com", password="correct horse battery")
    session = client.session
    session.save()
    key_before = client.cookies["sessionid"].value
    response = client.post(
        "/account/sign-in/password/",
        {"email": "PW@example.com", "password": "correct horse battery", "next": "/issues/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/issues/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.cookies["sessionid"].value != key_before


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("pw@example.com", "wrong password"),
        ("nobody@example.com", "correct horse battery"),
        ("linkonly@example.com", ""),
        ("linkonly@example.com", "anything at all"),
    ],
)
def test_password_sign_in_refusals_look_alike(client, db, email, password):
    User.objects.create_user(email="pw@example.com", password="correct horse battery")
    User.objects.create_user(email="linkonly@example.com")
    response = client.post("/account/sign-in/password/", {"email": email, "password": password})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    if password:
        assert "The email address or password is not right." in html
    else:
        assert 'id="id_password-password_error"' in html


def test_the_admins_password_reset_is_limited_like_sign_in_links(editor, client, mailoutbox):
    url = "/admin/password_reset/"
    with freeze_time("2026-03-01 12:00:00") as clock:
        # One email a minute to an address, whoever asks; the others are
        # answered as if sent.
        for _ in range(3):
            response = client.post(url, {"email": editor.email})
            assert response.status_code == 302
        assert [message.to for message in mailoutbox] == [[editor.email]]
        clock.tick(61)
        assert client.post(url, {"email": editor.email}).status_code == 302
        assert len(mailoutbox) == 2
        # One source asking for many addresses is refused.
        statuses = [client.post(url, {"email": f"e{n}@example.com"}).status_code for n in range(20)]
        assert statuses[-1] == 429
        assert Client(REMOTE_ADDR="192.0.2.1").post(url, {"email": editor.email}).status_code == 302
