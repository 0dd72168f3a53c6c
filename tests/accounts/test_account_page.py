from datetime import timedelta

import pytest
from django.test import Client
from freezegun import freeze_time

from masthead.accounts import actions
from masthead.accounts.models import (
    AccountEvent,
    EmailChangeRequest,
    MagicLink,
    ShippingAddress,
    User,
)

from .conftest import CONFIRM_LINK, ask_for_link, token_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, member):
    client.force_login(member)
    return client


def test_account_page_needs_a_member(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/account/"


def test_account_page_shows_every_section(signed_in, member):
    response = signed_in.get("/account/")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    html = response.content.decode()
    assert "Signed in as <strong>reader@example.com</strong>" in html
    for heading in (
        "Subscription",
        "Name",
        "Email address",
        "Shipping address",
        "Email preferences",
        "Password",
        "Sign out",
        "Delete account",
    ):
        assert f">{heading}</h2>" in html
    assert 'value="Ada Reader"' in html
    assert '<label for="id_line1">Address line 1:</label>' in html
    assert "Set password" in html


def test_name_is_saved(signed_in, member):
    response = signed_in.post("/account/profile/", {"full_name": "  Ada Lovelace "})
    assert response["Location"] == "/account/"
    member.refresh_from_db()
    assert member.full_name == "Ada Lovelace"
    assert "Your name is saved." in signed_in.get("/account/").content.decode()
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.PROFILE_UPDATED).count() == 1


def test_shipping_address_form(signed_in, member):
    response = signed_in.post(
        "/account/address/",
        {
            "line1": "1 Main St",
            "city": "Toronto",
            "region": "on",
            "postal_code": "m5v3l9",
            "country": "CA",
        },
    )
    assert response["Location"] == "/account/"
    address = ShippingAddress.objects.get(user=member)
    assert (address.region, address.postal_code) == ("ON", "M5V 3L9")
    html = signed_in.get("/account/").content.decode()
    assert 'value="M5V 3L9"' in html and "Print editions go to this address." in html
    event = AccountEvent.objects.get(kind=AccountEvent.Kind.ADDRESS_UPDATED)
    assert event.data["source"] == "account"


def test_shipping_address_errors_are_tied_to_their_fields(signed_in, member):
    response = signed_in.post(
        "/account/address/",
        {
            "line1": "1 Main St",
            "city": "Austin",
            "region": "Texas",
            "postal_code": "787",
            "country": "US",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_region_error"><li>Enter the two-letter state code' in html
    assert 'id="id_postal_code_error"' in html
    assert 'aria-describedby="id_region_helptext id_region_error"' in html
    assert 'value="Texas"' in html
    assert not ShippingAddress.objects.exists()


def test_email_preferences(signed_in, member):
    """The account page offers a box per newsletter open to the member (the
    subscribers' issue newsletter is not open to a free member)."""
    from masthead.mailings.models import NewsletterSubscription

    html = signed_in.get("/account/").content.decode()
    assert 'value="editors-letter">' in html and 'value="new-issue"' not in html
    assert (member.wants_newsletter, member.wants_issue_emails) == (False, True)
    signed_in.post("/newsletters/preferences/", {"newsletter": ["editors-letter"]})
    member.refresh_from_db()
    assert member.wants_newsletter  # the old field follows, for the exports
    choice = NewsletterSubscription.objects.get(member=member, newsletter__slug="editors-letter")
    assert choice.subscribed and choice.source == "account"
    html = signed_in.get("/account/").content.decode()
    assert 'value="editors-letter" checked' in html
    signed_in.post("/newsletters/preferences/", {})
    choice.refresh_from_db()
    assert not choice.subscribed


def test_set_password_then_sign_in_with_it(signed_in, member, commit, mailoutbox):
    with commit():
        response = signed_in.post(
            "/account/password/",
            {"new_password1": "a long pass phrase", "new_password2": "a long pass phrase"},
        )
    assert response["Location"] == "/account/"
    assert signed_in.get("/account/").status_code == 200  # still signed in here
    [notice] = mailoutbox
    assert notice.to == ["reader@example.com"]
    assert notice.subject == "A password was set for your account at The Meridian Review"
    signed_in.post("/account/sign-out/")
    response = signed_in.post(
        "/account/sign-in/password/",
        {"email": "reader@example.com", "password": "a long pass phrase"},
    )
    assert response["Location"] == "/account/"
    assert signed_in.session["_auth_user_id"] == str(member.pk)
    assert "Change password" in signed_in.get("/account/").content.decode()


def test_weak_or_mismatched_password_is_refused(signed_in, member):
    response = signed_in.post(
        "/account/password/", {"new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    assert 'id="id_new_password2_error"' in response.content.decode()
    member.refresh_from_db()
    assert not member.has_usable_password()


def test_sign_out_needs_a_post(signed_in):
    response = signed_in.get("/account/sign-out/")
    assert response.status_code == 200
    assert "_auth_user_id" in signed_in.session
    response = signed_in.post("/account/sign-out/")
    assert response["Location"] == "/"
    assert "_auth_user_id" not in signed_in.session


# Email change ---------------------------------------------------------------------


def test_email_change_is_confirmed_by_the_new_address(signed_in, member, commit, mailoutbox):
    ask_for_link(Client(), commit, member.email)  # an outstanding sign-in link
    old_link = token_from(mailoutbox.pop())
    with commit():
        response = signed_in.post("/account/email/", {"new_email": "Ada@New.example"})
    assert response["Location"] == "/account/"
    member.refresh_from_db()
    assert member.email == "reader@example.com"  # nothing changes yet
    [confirm] = mailoutbox
    assert confirm.to == ["ada@new.example"]
    assert "instead of reader@example.com" in confirm.body
    token = token_from(confirm, CONFIRM_LINK)
    assert token not in str(EmailChangeRequest.objects.values_list().get())
    page = signed_in.get("/account/")
    assert "A link to confirm ada@new.example was sent" in page.content.decode()

    response = signed_in.get(f"/account/email/confirm/{token}/")
    assert response.status_code == 200
    assert "Confirm new address" in response.content.decode()
    member.refresh_from_db()
    assert member.email == "reader@example.com"  # opening the link changes nothing

    with commit():
        response = signed_in.post(f"/account/email/confirm/{token}/")
    assert response["Location"] == "/account/"
    member.refresh_from_db()
    assert member.email == "ada@new.example"
    [notice] = mailoutbox[1:]
    assert notice.to == ["reader@example.com"]
    assert "changed from reader@example.com to ada@new.example" in notice.body
    assert signed_in.get("/account/").status_code == 200  # still signed in
    assert signed_in.post(f"/account/email/confirm/{token}/").status_code == 410
    assert Client().post(f"/account/link/{old_link}/").status_code == 410
    kinds = list(
        AccountEvent.objects.filter(user=member)
        .order_by("created_at", "pk")
        .values_list("kind", flat=True)
    )
    assert kinds == [AccountEvent.Kind.EMAIL_CHANGE_REQUESTED, AccountEvent.Kind.EMAIL_CHANGED]


def test_email_change_link_lasts_24_hours(member, commit, mailoutbox):
    with freeze_time("2026-03-01 12:00:00") as frozen:
        with commit():
            actions.request_email_change(member, "ada@new.example")
        token = token_from(mailoutbox[0], CONFIRM_LINK)
        frozen.tick(timedelta(hours=24))
        assert Client().post(f"/account/email/confirm/{token}/").status_code == 410
    member.refresh_from_db()
    assert member.email == "reader@example.com"


def test_a_newer_email_change_voids_the_older(member, commit, mailoutbox):
    with commit():
        actions.request_email_change(member, "first@new.example")
        actions.request_email_change(member, "second@new.example")
    first = token_from(mailoutbox[0], CONFIRM_LINK)
    assert Client().post(f"/account/email/confirm/{first}/").status_code == 410
    member.refresh_from_db()
    assert member.email == "reader@example.com"


def test_email_change_to_an_address_in_use_says_the_same(signed_in, member, commit, mailoutbox):
    User.objects.create_user(email="taken@example.com")
    with commit():
        taken = signed_in.post("/account/email/", {"new_email": "taken@example.com"})
    with commit():
        free = signed_in.post("/account/email/", {"new_email": "free@example.com"})
    assert taken.status_code == free.status_code == 302
    assert EmailChangeRequest.objects.filter(new_email="taken@example.com").count() == 0
    by_address = {message.to[0]: message for message in mailoutbox}
    assert by_address["taken@example.com"].subject == (
        "This address already has an account at The Meridian Review"
    )
    assert "/account/email/confirm/" not in by_address["taken@example.com"].body


def test_address_taken_before_confirmation_changes_nothing(member, commit, mailoutbox):
    with commit():
        actions.request_email_change(member, "late@example.com")
    token = token_from(mailoutbox[0], CONFIRM_LINK)
    User.objects.create_user(email="late@example.com")
    response = Client().post(f"/account/email/confirm/{token}/")
    assert response.status_code == 409
    member.refresh_from_db()
    assert member.email == "reader@example.com"


def test_same_email_is_a_form_error(signed_in):
    response = signed_in.post("/account/email/", {"new_email": "READER@example.com"})
    assert response.status_code == 200
    assert "That is already your email address." in response.content.decode()
    assert not EmailChangeRequest.objects.exists()


# Deleting the account -------------------------------------------------------------

DELETED = []


def fake_billing_cancel(user):
    DELETED.append(("billing", user.email))


def test_delete_account_erases_personal_data(signed_in, member, commit, mailoutbox, monkeypatch):
    calls = []
    monkeypatch.setattr(
        actions, "BEFORE_DELETE_HOOKS", [fake_billing_cancel, lambda user: calls.append(user.pk)]
    )
    DELETED.clear()
    actions.update_shipping_address(
        member, line1="1 Rue de Rivoli", city="Paris", postal_code="75001", country="FR"
    )
    actions.request_email_change(member, "new@example.com")
    ask_for_link(Client(), commit, member.email)
    mailoutbox.clear()
    member_id = member.pk

    page = signed_in.get("/account/delete/")
    assert '<label for="id_confirm_email">Type your email address to confirm:</label>' in (
        page.content.decode()
    )
    response = signed_in.post("/account/delete/", {"confirm_email": "someone@else.example"})
    assert response.status_code == 200
    assert "That is not the email address of this account." in response.content.decode()
    assert User.objects.filter(pk=member_id).exists()
    assert calls == [] and DELETED == []

    with commit():
        response = signed_in.post("/account/delete/", {"confirm_email": "Reader@Example.com"})
    assert response["Location"] == "/account/deleted/"
    assert DELETED == [("billing", "reader@example.com")]
    assert calls == [member_id]
    assert not User.objects.filter(pk=member_id).exists()
    assert not ShippingAddress.objects.exists()
    assert not EmailChangeRequest.objects.exists()
    assert not MagicLink.objects.exists()
    [event] = AccountEvent.objects.all()
    assert (event.kind, event.user, event.data) == (
        AccountEvent.Kind.ACCOUNT_DELETED,
        None,
        {"user_id": member_id},
    )
    assert "_auth_user_id" not in signed_in.session
    assert signed_in.get("/account/deleted/").status_code == 200
    [farewell] = mailoutbox
    assert farewell.to == ["reader@example.com"]


def test_a_failing_hook_stops_the_deletion(signed_in, member, monkeypatch):
    def refuse(user):
        actions.update_profile(user, full_name="changed inside the hook")
        raise RuntimeError("Stripe is down")

    monkeypatch.setattr(actions, "BEFORE_DELETE_HOOKS", [refuse])
    response = signed_in.post("/account/delete/", {"confirm_email": member.email})
    assert response.status_code == 503
    assert "Nothing was changed" in response.content.decode()
    member.refresh_from_db()
    assert member.full_name == "Ada Reader"  # the hook's writes rolled back too
    assert "_auth_user_id" in signed_in.session


def test_billing_cancels_subscriptions_first_when_an_account_is_deleted():
    """Billing registers its hook from its AppConfig; accounts never imports billing."""
    from masthead.billing.actions import cancel_for_deleted_member

    assert actions.BEFORE_DELETE_HOOKS[0] is cancel_for_deleted_member
    assert actions.BEFORE_DELETE_HOOKS.count(cancel_for_deleted_member) == 1


# Admin ----------------------------------------------------------------------------


def test_admin_pages(client, member):
    admin = User.objects.create_superuser(email="admin@example.com", password="x")
    client.force_login(admin)
    actions.update_shipping_address(
        member, line1="1 Main St", city="Berlin", postal_code="10115", country="DE"
    )
    actions._issue_magic_link(member.email, MagicLink.Purpose.SIGN_IN)
    for url in (
        f"/django-admin/accounts/user/{member.pk}/change/",
        "/django-admin/accounts/magiclink/",
        "/django-admin/accounts/emailchangerequest/",
        "/django-admin/accounts/shippingaddress/",
        "/django-admin/accounts/shippingaddress/add/",
        "/django-admin/accounts/accountevent/",
    ):
        assert client.get(url).status_code == 200, url
    link_page = client.get(f"/django-admin/accounts/magiclink/{MagicLink.objects.get().pk}/change/")
    assert link_page.status_code == 200
    assert MagicLink.objects.get().token_hash not in link_page.content.decode()
    response = client.post(
        "/django-admin/accounts/shippingaddress/add/",
        {
            "user": admin.pk,
            "line1": "1 Main St",
            "city": "Paris",
            "postal_code": "7500",
            "country": "FR",
        },
    )
    assert response.status_code == 200
    assert "Enter a 5-digit postal code." in response.content.decode()
