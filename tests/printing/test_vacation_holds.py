from datetime import date

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from freezegun import freeze_time

from masthead.printing.actions import close_print_run, holdable_issue_dates
from masthead.printing.models import VacationHold
from tests.issues.support import give_address, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def print_member(billing):
    member = make_member("reader@example.com")
    billing.subscribe(member, includes_print=True)
    give_address(member)
    return member


def test_signing_in_is_required(client):
    response = client.get("/print-runs/hold/")
    assert response.status_code == 302
    assert (
        "sign-in" in response["Location"] and "next=%2Fprint-runs%2Fhold%2F" in response["Location"]
    )


@freeze_time("2026-05-20 09:00:00")
def test_a_member_pauses_and_resumes_print_delivery(client, print_member):
    client.force_login(print_member)
    page = client.get("/print-runs/hold/")
    assert page.status_code == 200 and "private" in page["Cache-Control"]
    assert 'value="2026-06-01"' in page.content.decode()

    response = client.post(
        "/print-runs/hold/",
        {"first_issue_date": "2026-07-01", "last_issue_date": "2026-08-15"},
        follow=True,
    )
    hold = VacationHold.objects.get(member=print_member)
    assert (hold.first_issue_date, hold.last_issue_date) == (date(2026, 7, 1), date(2026, 8, 15))
    assert "No print copies from July 1 to August 15, 2026." in response.content.decode()

    overlapping = client.post(
        "/print-runs/hold/", {"first_issue_date": "2026-08-01", "last_issue_date": "2026-09-01"}
    )
    assert "overlaps a hold" in overlapping.content.decode()
    backwards = client.post(
        "/print-runs/hold/", {"first_issue_date": "2026-10-01", "last_issue_date": "2026-09-15"}
    )
    assert "on or after the first" in backwards.content.decode()
    assert VacationHold.objects.count() == 1

    client.post("/print-runs/hold/", {"cancel": hold.pk})
    assert not VacationHold.objects.exists()


@freeze_time("2026-05-20 09:00:00")
def test_members_without_print_cannot_hold(client, billing):
    member = make_member("digital@example.com")
    billing.subscribe(member)
    client.force_login(member)
    response = client.post(
        "/print-runs/hold/", {"first_issue_date": "2026-07-01", "last_issue_date": "2026-07-15"}
    )
    assert "does not include print copies" in response.content.decode()
    assert not VacationHold.objects.exists()


def test_issues_on_a_closed_run_can_no_longer_be_held(issue, billing):
    with freeze_time("2026-05-25 09:00:00"):
        close_print_run(issue)
        dates = holdable_issue_dates(count=3)
    assert dates == [date(2026, 6, 15), date(2026, 7, 1), date(2026, 7, 15)]


@freeze_time("2026-05-20 09:00:00")
def test_the_account_page_include(print_member):
    VacationHold.objects.create(
        member=print_member, first_issue_date=date(2026, 7, 1), last_issue_date=date(2026, 7, 15)
    )
    request = RequestFactory().get("/account/")
    request.user = print_member
    html = Template('{% include "printing/includes/account_print.html" %}').render(
        Context({"request": request})
    )
    assert "Print delivery" in html and "July 1, 2026" in html and "/print-runs/hold/" in html


@pytest.mark.parametrize("cancel", ["abc", "", "-1", "99999999999999999999", "1\x00"])
def test_a_malformed_cancel_is_a_bad_request(client, print_member, cancel):
    client.force_login(print_member)
    response = client.post("/print-runs/hold/", {"cancel": cancel})
    assert response.status_code == 400


def test_someone_elses_hold_cannot_be_cancelled(client, print_member):
    hold = VacationHold.objects.create(
        member=make_member("other@example.com"),
        first_issue_date=date(2026, 7, 1),
        last_issue_date=date(2026, 7, 15),
    )
    client.force_login(print_member)
    assert client.post("/print-runs/hold/", {"cancel": hold.pk}).status_code == 404
    assert VacationHold.objects.filter(pk=hold.pk).exists()
