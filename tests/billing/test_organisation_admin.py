"""Staff saving organisations in the Wagtail admin: Stripe is asked outside
the admin's save transaction. A seat change Stripe refuses saves nothing and
says why on the form; invoice billing starts once the organisation is
saved, and a refusal there keeps the organisation, says so, and is retried
by saving again."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from masthead.billing import actions, stripe_api
from masthead.billing.entitlements import current_entitlement
from masthead.billing.models import Organisation, OrganisationSeat, Plan
from tests.billing.organisations import organisation_form

NEW = "/admin/billing/organisations/new/"


def form(plan, **fields):
    return organisation_form(
        plan, **{"billing_email": "accounts@library.example", "pays_by_invoice": "on", **fields}
    )


def edit_url(organisation):
    return f"/admin/billing/organisations/edit/{organisation.pk}/"


def test_a_refused_billing_start_keeps_the_organisation_and_saving_again_retries(
    plans, staff_client, stripe_live
):
    # The plan is not on Stripe yet: billing cannot start.
    digital = Plan.objects.get(code="digital")
    response = staff_client.post(NEW, form(digital), follow=True)
    assert response.status_code == 200
    organisation = Organisation.objects.get()
    assert organisation.pays_by_invoice and organisation.subscription is None
    assert "is saved, but its invoice billing has not started" in response.content.decode()

    actions.create_plan_on_stripe(digital)
    response = staff_client.post(edit_url(organisation), form(digital))
    assert response.status_code == 302
    organisation.refresh_from_db()
    remote = stripe_api.retrieve_subscription(organisation.subscription.stripe_subscription_id)
    assert (remote.quantity, remote.collection_method) == (5, "send_invoice")


def test_a_seat_change_stripe_refuses_saves_nothing_and_says_why(
    catalogue, staff_client, stripe_live
):
    digital = Plan.objects.get(code="digital")
    assert staff_client.post(NEW, form(digital)).status_code == 302
    organisation = Organisation.objects.get()
    # Stripe refuses any change of items to a cancelled subscription.
    stripe_api.cancel_subscription(organisation.subscription.stripe_subscription_id)

    response = staff_client.post(
        edit_url(organisation), form(digital, seats=9, name="City Library (renamed)")
    )

    assert response.status_code == 200
    assert "Stripe refused the new number of seats" in response.content.decode()
    organisation.refresh_from_db()
    assert (organisation.name, organisation.seats) == ("City Library", 5)


def test_removing_a_domain_frees_the_seats_taken_through_it(test_mode, plans, staff_client):
    digital = Plan.objects.get(code="digital")
    organisation = actions.create_organisation(
        name="City Library", plan=digital, seats=5, domains="firm.example\nlab.example"
    )
    people = {}
    for email, source in (
        ("ann@firm.example", OrganisationSeat.Source.DOMAIN),
        ("bob@lab.example", OrganisationSeat.Source.DOMAIN),
        ("cy@firm.example", OrganisationSeat.Source.INVITE),
    ):
        people[email] = get_user_model().objects.create_user(email=email)
        OrganisationSeat.objects.create(
            organisation=organisation,
            email=email,
            member=people[email],
            source=source,
            accepted_at=timezone.now(),
        )
    organisation.contract_starts = timezone.localdate()
    organisation.save()
    assert current_entitlement(people["ann@firm.example"]) is not None

    response = staff_client.post(
        edit_url(organisation),
        form(
            digital,
            domains="lab.example",
            pays_by_invoice="",
            billing_email="",
            contract_starts=str(timezone.localdate()),
        ),
        follow=True,
    )

    assert response.status_code == 200
    assert "Seats freed, as their domains are no longer listed: ann@firm.example" in (
        response.content.decode()
    )
    assert sorted(organisation.seat_holders.values_list("email", flat=True)) == [
        "bob@lab.example",
        "cy@firm.example",
    ]
    assert current_entitlement(people["ann@firm.example"]) is None
    assert current_entitlement(people["cy@firm.example"]) is not None
