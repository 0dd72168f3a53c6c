"""Group subscriptions (issue 19): organisations buy seats billed by invoice
on Stripe (the local one), their manager invites and removes readers, readers
at their email domains take seats by signing in, and seat holders read as
subscribers while the organisation's subscription or contract runs."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from masthead.accounts.actions import request_sign_in_link
from masthead.billing import actions, stripe_api
from masthead.billing.actions import BillingError
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import (
    BillingAuditLog,
    Organisation,
    OrganisationSeat,
    Plan,
    Subscription,
)
from masthead.serving import members
from tests.billing.organisations import organisation_form

LINK = re.compile(r"https?://[^/\s]+(/\S+)")


@pytest.fixture
def digital(plans):
    return Plan.objects.get(code="digital")


@pytest.fixture
def manager(db):
    return get_user_model().objects.create_user(
        email="head@library.example", full_name="Head Librarian"
    )


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def make_reader(email):
    return get_user_model().objects.create_user(email=email, full_name=email.split("@")[0])


def invoiced(digital, manager, seats=5, **fields):
    fields.setdefault("billing_email", "accounts@library.example")
    fields.setdefault("days_until_due", 14)
    return actions.create_organisation(
        name="City Library",
        plan=digital,
        seats=seats,
        manager=manager,
        pays_by_invoice=True,
        **fields,
    )


def contract_only(digital, manager=None, seats=5, **fields):
    today = timezone.localdate()
    fields.setdefault("contract_starts", today - timedelta(days=30))
    fields.setdefault("contract_ends", today + timedelta(days=30))
    return actions.create_organisation(
        name="State University", plan=digital, seats=seats, manager=manager, **fields
    )


def invite_token(mailoutbox, email):
    message = next(m for m in reversed(mailoutbox) if m.to == [email])
    path = LINK.search(message.body).group(1)
    return path.rstrip("/").rsplit("/", 1)[1]


def give_seat(organisation, reader, mailoutbox, capture):
    with capture(execute=True):
        actions.invite_reader(organisation, reader.email)
    return actions.accept_invitation(reader, invite_token(mailoutbox, reader.email))


# Billing on Stripe ------------------------------------------------------------------------


def test_an_organisation_billed_by_invoice_has_its_seats_as_the_quantity(
    catalogue, digital, manager, stripe_live
):
    organisation = invoiced(digital, manager, seats=5)

    subscription = organisation.subscription
    assert subscription.member is None
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.price == catalogue["digital/year"]
    remote = stripe_live.get(f"/v1/subscriptions/{subscription.stripe_subscription_id}")
    assert remote["items"]["data"][0]["quantity"] == 5
    assert remote["collection_method"] == "send_invoice"
    assert remote["days_until_due"] == 14
    customer = stripe_live.get(f"/v1/customers/{subscription.stripe_customer_id}")
    assert customer["email"] == "accounts@library.example"
    assert customer["metadata"] == {"organisation_id": str(organisation.pk)}
    invoice = stripe_live.get(f"/v1/invoices/{remote['latest_invoice']}")
    assert invoice["status"] == "open"
    assert invoice["amount_due"] == 5 * catalogue["digital/year"].amount
    assert stripe_live.sent_invoices[invoice["id"]] == "accounts@library.example"
    assert BillingAuditLog.objects.filter(
        action="organisation_invoiced", subscription=subscription
    ).exists()
    # Paying for the seats is no seat: the manager reads as before.
    assert current_entitlement(manager) is None


def test_invoice_billing_needs_an_address_to_send_to(catalogue, digital, stripe_live):
    with pytest.raises(BillingError, match="needs a billing email"):
        invoiced(digital, None, billing_email="")


def test_more_seats_change_the_quantity_with_proration(catalogue, digital, manager, stripe_live):
    organisation = invoiced(digital, manager, seats=5)
    stripe_id = organisation.subscription.stripe_subscription_id

    actions.change_seats(organisation, 8, actor=manager)

    remote = stripe_live.get(f"/v1/subscriptions/{stripe_id}")
    assert remote["items"]["data"][0]["quantity"] == 8
    assert stripe_live.prorations[-1] == (stripe_id, "create_prorations")
    organisation.refresh_from_db()
    assert organisation.seats == 8
    assert BillingAuditLog.objects.get(action="organisation_seats_changed").detail == {
        "organisation": organisation.pk,
        "old_seats": 5,
        "new_seats": 8,
    }


def test_seats_cannot_go_below_those_taken(
    catalogue, digital, manager, stripe_live, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager, seats=3)
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("a", "b"):
            actions.invite_reader(organisation, f"{name}@example.org")
    with pytest.raises(BillingError, match="2 seats are taken or invited"):
        actions.change_seats(organisation, 1)
    remote = stripe_live.get(
        f"/v1/subscriptions/{organisation.subscription.stripe_subscription_id}"
    )
    assert remote["items"]["data"][0]["quantity"] == 3


def test_test_mode_bills_seats_without_stripe(test_mode, digital, manager):
    organisation = invoiced(digital, manager, seats=4)
    assert organisation.subscription.stripe_subscription_id.startswith("tm_sub_")
    actions.change_seats(organisation, 6)
    organisation.refresh_from_db()
    assert organisation.seats == 6
    from masthead.billing import testmode

    remote = testmode.retrieve_subscription(organisation.subscription.stripe_subscription_id)
    assert (remote.quantity, remote.collection_method) == (6, "send_invoice")


# Invitations --------------------------------------------------------------------------------


def test_invited_reader_accepts_and_reads_as_a_group_subscriber(
    test_mode, digital, manager, client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager)
    reader = make_reader("reader@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        actions.invite_reader(organisation, "Reader@Example.org", actor=manager)
    assert mailoutbox[-1].subject.startswith("City Library invites you to read")
    token = invite_token(mailoutbox, "reader@example.org")
    url = reverse("billing:accept_seat", args=[token])

    page = client.get(url)
    assert page.status_code == 200 and b"City Library invites you" in page.content
    # Not signed in: sign in (or up) first, and come back.
    response = client.post(url)
    assert response.status_code == 302 and "next=" in response["Location"]
    assert current_entitlement(reader) is None

    client.force_login(reader)
    response = client.post(url)
    assert response.status_code == 302
    seat = OrganisationSeat.objects.get(email="reader@example.org")
    assert seat.member == reader and seat.accepted_at is not None and seat.token_hash == ""
    held = current_entitlement(reader)
    assert (held.kind, held.plan_code) == ("group", "digital")
    assert held.ends_at == organisation.subscription.current_period_end
    assert b"provided by City Library" in client.get("/account/").content
    # The link works once.
    assert client.get(url).status_code == 404
    with pytest.raises(BillingError, match="not valid"):
        actions.accept_invitation(reader, token)


def test_removing_a_reader_ends_their_access_at_once(
    test_mode, digital, manager, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager)
    reader = make_reader("reader@example.org")
    seat = give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    assert members.cached_entitlement(reader).kind == "group"

    actions.remove_seat(seat, actor=manager)

    assert members.cached_entitlement(reader) is None
    assert BillingAuditLog.objects.filter(action="seat_removed", member=reader).exists()


def test_invitations_stop_at_the_seat_count(
    test_mode, digital, manager, manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager, seats=2)
    page = reverse("billing:organisation", args=[organisation.pk])
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("a@example.org", "b@example.org"):
            assert manager_client.post(page, {"email": email}).status_code == 302
    assert len(mailoutbox) == 2

    response = manager_client.post(page, {"email": "c@example.org"})

    assert response.status_code == 400
    assert b"All 2 seats are taken" in response.content
    assert not OrganisationSeat.objects.filter(email="c@example.org").exists()
    with pytest.raises(BillingError, match="already has a seat or an invitation"):
        actions.invite_reader(organisation, "A@example.org")


def test_a_bad_address_is_a_clear_error(test_mode, digital, manager, manager_client):
    organisation = invoiced(digital, manager)
    page = reverse("billing:organisation", args=[organisation.pk])
    response = manager_client.post(page, {"email": "not an address"})
    assert response.status_code == 400 and b"Enter a valid email address" in response.content
    with pytest.raises(BillingError, match="not an email address"):
        actions.invite_reader(organisation, "nobody@")


def test_the_manager_page_lists_holders_and_invitations(
    test_mode, digital, manager, manager_client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager, seats=3)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        actions.invite_reader(organisation, "pending@example.org")
    page = reverse("billing:organisation", args=[organisation.pk])

    html = manager_client.get(page).content.decode()

    assert 'data-seats-used="2" data-seats-total="3"' in html
    assert 'data-seat="reader@example.org"' in html and "Invited" in html
    assert 'data-invitation="pending@example.org"' in html
    assert page in manager_client.get("/account/").content.decode()

    # Resend: a new link, the old one stops working.
    old = invite_token(mailoutbox, "pending@example.org")
    pending = OrganisationSeat.objects.get(email="pending@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            reverse("billing:resend_invitation", args=[organisation.pk, pending.pk])
        )
    assert invite_token(mailoutbox, "pending@example.org") != old
    assert actions.find_invitation(old) is None

    # Remove asks first.
    seat = OrganisationSeat.objects.get(member=reader)
    remove = reverse("billing:remove_seat", args=[organisation.pk, seat.pk])
    confirm = manager_client.get(remove)
    assert confirm.status_code == 200 and b"Remove reader@example.org?" in confirm.content
    assert OrganisationSeat.objects.filter(pk=seat.pk).exists()
    assert manager_client.post(remove).status_code == 302
    assert not OrganisationSeat.objects.filter(pk=seat.pk).exists()


def test_only_the_manager_sees_the_page(test_mode, digital, manager, client):
    organisation = invoiced(digital, manager)
    page = reverse("billing:organisation", args=[organisation.pk])
    assert client.get(page).status_code == 302  # to sign in
    client.force_login(make_reader("someone@example.org"))
    assert client.get(page).status_code == 404
    assert client.post(page, {"email": "x@example.org"}).status_code == 404
    assert not OrganisationSeat.objects.exists()


# Email domains ------------------------------------------------------------------------------


@pytest.fixture
def sign_in_by_link(client, mailoutbox, django_capture_on_commit_callbacks):
    """Sign in as a reader does: the link emailed to the address, opened."""

    def sign_in(email):
        with django_capture_on_commit_callbacks(execute=True):
            request_sign_in_link(email)
        path = LINK.search(mailoutbox[-1].body).group(1)
        return client.post(path, follow=True)

    return sign_in


def test_a_verified_address_at_a_domain_takes_a_seat_until_they_run_out(
    test_mode, digital, client, sign_in_by_link
):
    organisation = contract_only(digital, seats=1, domains="@Uni.example\nother.example")
    first, second = make_reader("ann@uni.example"), make_reader("bob@uni.example")

    sign_in_by_link(first.email)

    seat = OrganisationSeat.objects.get(member=first)
    assert (seat.organisation, seat.source) == (organisation, OrganisationSeat.Source.DOMAIN)
    assert current_entitlement(first).kind == "group"

    client.logout()
    response = sign_in_by_link(second.email)
    assert b"all its 1 seats are taken" in response.content
    assert not OrganisationSeat.objects.filter(member=second).exists()
    assert current_entitlement(second) is None


def test_an_unverified_address_takes_no_seat(test_mode, digital, client):
    contract_only(digital, domains="uni.example")
    reader = make_reader("eve@uni.example")
    client.force_login(reader)  # a password or staff-made account: never proved the address
    assert not OrganisationSeat.objects.exists()
    assert current_entitlement(reader) is None


def test_a_lookalike_domain_takes_no_seat(test_mode, digital, sign_in_by_link):
    contract_only(digital, domains="uni.example")
    reader = make_reader("mallory@evil-uni.example")
    sign_in_by_link(reader.email)
    assert not OrganisationSeat.objects.exists()


# When a seat gives access ---------------------------------------------------------------


def test_a_contract_gives_access_through_its_last_day(
    digital, mailoutbox, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    organisation = contract_only(digital, contract_ends=today)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    held = current_entitlement(reader)
    assert held.kind == "group"
    assert timezone.localdate(held.ends_at - timedelta(seconds=1)) == today
    assert current_entitlement(reader, now=held.ends_at) is None
    Organisation.objects.filter(pk=organisation.pk).update(
        contract_starts=today + timedelta(days=1), contract_ends=None
    )
    assert current_entitlement(reader) is None


def test_an_inactive_organisation_gives_nothing(
    digital, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = contract_only(digital)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    assert members.cached_entitlement(reader).kind == "group"
    organisation.active = False
    organisation.save()
    assert members.cached_entitlement(reader) is None


def test_access_ends_when_the_organisations_subscription_lapses(
    catalogue,
    digital,
    manager,
    stripe_live,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    organisation = invoiced(digital, manager)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    assert members.cached_entitlement(reader).kind == "group"
    stripe_id = organisation.subscription.stripe_subscription_id

    stripe_live.end_period(stripe_id)
    with django_capture_on_commit_callbacks(execute=True):
        stored = actions.store_subscription(
            stripe_api.retrieve_subscription(stripe_id), fetched_at=timezone.now()
        )

    assert stored.subscription.status == Subscription.Status.CANCELED
    assert stored.subscription.member is None
    assert members.cached_entitlement(reader) is None


def test_a_members_own_subscription_wins_over_a_seat(
    digital, plans, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = contract_only(digital)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    actions.grant_complimentary(reader, Plan.objects.get(code="digital-print"))
    held = current_entitlement(reader)
    assert (held.kind, held.plan_code) == ("complimentary", "digital-print")


def test_an_entitlement_costs_one_query_whether_own_or_through_a_seat(
    digital, plans, mailoutbox, django_capture_on_commit_callbacks, django_assert_num_queries
):
    organisation = contract_only(digital)
    reader, subscriber = make_reader("reader@example.org"), make_reader("sub@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    actions.grant_complimentary(subscriber, digital)
    with django_assert_num_queries(1):
        current_entitlement(subscriber)
    with django_assert_num_queries(1):
        assert current_entitlement(reader).kind == "group"


# Cached entitlements go stale -------------------------------------------------------------


@pytest.fixture
def holder(digital, mailoutbox, django_capture_on_commit_callbacks):
    organisation = contract_only(digital)
    reader = make_reader("reader@example.org")
    give_seat(organisation, reader, mailoutbox, django_capture_on_commit_callbacks)
    assert members.cached_entitlement(reader).kind == "group"
    assert cache.get(members.entitlement_key(reader.pk)) is not None
    return reader


def test_a_seat_updated_in_bulk_drops_the_cached_entitlement(holder):
    OrganisationSeat.objects.filter(member=holder).update(accepted_at=None)
    assert cache.get(members.entitlement_key(holder.pk)) is None
    assert members.cached_entitlement(holder) is None


def test_seats_deleted_in_bulk_drop_the_cached_entitlement(holder):
    OrganisationSeat.objects.filter(member=holder).delete()
    assert members.cached_entitlement(holder) is None


def test_organisations_updated_in_bulk_drop_their_holders_entitlements(holder):
    Organisation.objects.update(contract_ends=timezone.localdate() - timedelta(days=1))
    assert cache.get(members.entitlement_key(holder.pk)) is None
    assert members.cached_entitlement(holder) is None


def test_a_seat_created_in_bulk_drops_the_cached_entitlement(digital, plans):
    reader = make_reader("reader@example.org")
    assert members.cached_entitlement(reader) is None
    organisation = contract_only(digital)
    OrganisationSeat.objects.bulk_create(
        [
            OrganisationSeat(
                organisation=organisation,
                email=reader.email,
                member=reader,
                accepted_at=timezone.now(),
            )
        ]
    )
    assert members.cached_entitlement(reader).kind == "group"


# The admin ------------------------------------------------------------------------------------


def test_staff_create_an_organisation_billed_by_invoice_from_the_admin(
    catalogue, digital, manager, staff_client, stripe_live
):
    response = staff_client.post(
        "/admin/billing/organisations/new/",
        organisation_form(
            digital,
            seats=12,
            manager_email="HEAD@library.example",
            pays_by_invoice="on",
            billing_email="accounts@library.example",
            networks="192.0.2.7/24\n\n2001:db8::/32",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    organisation = Organisation.objects.get()
    assert organisation.manager == manager
    assert sorted(organisation.networks.values_list("cidr", flat=True)) == [
        "192.0.2.0/24",
        "2001:db8::/32",
    ]
    remote = stripe_live.get(
        f"/v1/subscriptions/{organisation.subscription.stripe_subscription_id}"
    )
    assert remote["items"]["data"][0]["quantity"] == 12
    assert remote["collection_method"] == "send_invoice"

    listing = staff_client.get("/admin/billing/organisations/").content.decode()
    assert "City Library" in listing and "Seats taken" in listing

    edit = f"/admin/billing/organisations/edit/{organisation.pk}/"
    assert staff_client.get(edit).status_code == 200
    response = staff_client.post(
        edit,
        organisation_form(
            digital,
            seats=15,
            manager_email=manager.email,
            pays_by_invoice="on",
            billing_email="accounts@library.example",
            networks="192.0.2.0/24",
        ),
    )
    assert response.status_code == 302
    remote = stripe_live.get(
        f"/v1/subscriptions/{organisation.subscription.stripe_subscription_id}"
    )
    assert remote["items"]["data"][0]["quantity"] == 15
    assert list(organisation.networks.values_list("cidr", flat=True)) == ["192.0.2.0/24"]


def test_the_admin_form_names_each_bad_line(digital, staff_client):
    response = staff_client.post(
        "/admin/billing/organisations/new/",
        organisation_form(
            digital,
            networks="192.0.2.0/24\nnot a range\n10.0.0.0/33",
            manager_email="nobody@example.org",
            contract_starts="2026-05-01",
            contract_ends="2026-04-01",
        ),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Line 2: &#x27;not a range&#x27; is not an IP range" in page
    assert "Line 3: &#x27;10.0.0.0/33&#x27; is not an IP range" in page
    assert "No member has this address" in page
    assert "The contract cannot end before it starts." in page
    assert not Organisation.objects.exists()


def test_the_admin_refuses_fewer_seats_than_taken(
    test_mode, digital, manager, staff_client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation = invoiced(digital, manager, seats=2)
    with django_capture_on_commit_callbacks(execute=True):
        actions.invite_reader(organisation, "a@example.org")
        actions.invite_reader(organisation, "b@example.org")
    response = staff_client.post(
        f"/admin/billing/organisations/edit/{organisation.pk}/",
        organisation_form(
            digital,
            seats=1,
            pays_by_invoice="on",
            billing_email="accounts@library.example",
        ),
    )
    assert response.status_code == 200
    assert b"2 seats are taken or invited" in response.content
    organisation.refresh_from_db()
    assert organisation.seats == 2
