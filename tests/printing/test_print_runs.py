from datetime import UTC, date, datetime

import pytest
from django.utils import timezone
from freezegun import freeze_time

from masthead.printing.actions import (
    close_print_run,
    counts_by_country,
    cutoff_notice_for,
    entitled_print_members,
    print_run_csv,
    print_run_for,
)
from masthead.printing.models import PrintRun, PrintRunClosed, PrintSettings, VacationHold
from tests.issues.support import give_address, make_member

pytestmark = pytest.mark.django_db


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def members(billing, issue):
    """Who is entitled to print for the issue of June 1, 2026, and who is not."""
    people = {}

    def member(key, includes_print=True, ends_at=None, address=True, **fields):
        person = make_member(f"{key}@example.com", full_name=key.replace("-", " ").title())
        if includes_print is not None:
            billing.subscribe(person, includes_print=includes_print, ends_at=ends_at)
        if address:
            give_address(person, **fields)
        people[key] = person
        return person

    member("print-us", ends_at=at(2027, 5, 31))
    member(
        "print-gb",
        ends_at=at(2026, 7, 20),
        line1="10 Downing Street",
        city="London",
        region="",
        postal_code="SW1A 2AA",
        country="GB",
    )
    # Cancelled inside the paid period: billing still entitles them until June 10.
    member("cancelled-in-period", ends_at=at(2026, 6, 10), company="Acme Ltd")
    member("on-hold")
    member("hold-later")
    member("no-address", address=False)
    member("digital-only", includes_print=False)
    member("free", includes_print=None)
    VacationHold.objects.create(
        member=people["on-hold"],
        first_issue_date=date(2026, 5, 15),
        last_issue_date=date(2026, 6, 15),
    )
    VacationHold.objects.create(
        member=people["hold-later"],
        first_issue_date=date(2026, 7, 1),
        last_issue_date=date(2026, 7, 15),
    )
    return people


@freeze_time("2026-05-25 09:00:00")
def test_closing_snapshots_exactly_the_members_entitled_to_print(issue, members):
    run = close_print_run(issue)
    assert run.is_closed and run.closed_at == timezone.now()
    entries = {entry.member.email.split("@")[0]: entry for entry in run.entries.all()}
    assert set(entries) == {"print-us", "print-gb", "cancelled-in-period", "hold-later"}
    assert run.held_count == 1
    assert run.unaddressed_keylines == [f"{members['no-address'].pk:08d}"]

    us = entries["print-us"]
    assert (us.keyline, us.name, us.line1, us.city, us.region, us.postal_code, us.country) == (
        f"{members['print-us'].pk:08d}",
        "Print Us",
        "1 Main Street",
        "Springfield",
        "IL",
        "62701",
        "US",
    )
    assert us.copies == 1
    # Expiry: the last issue on or before the entitlement's end, by the schedule.
    assert us.expiry_issue == "V13N21"  # May 15, 2027
    assert entries["print-gb"].expiry_issue == "V13N1"  # July 15, 2026
    assert entries["cancelled-in-period"].expiry_issue == "V12N22"  # this issue is the last
    assert entries["cancelled-in-period"].company == "Acme Ltd"

    rows, totals = counts_by_country(run)
    assert [(row["country"], row["name"], row["copies"]) for row in rows] == [
        ("US", "United States", 3),
        ("GB", "United Kingdom", 1),
    ]
    assert totals == {"labels": 4, "copies": 4}


@freeze_time("2026-05-25 09:00:00")
def test_a_closed_run_never_changes(issue, members, billing):
    run = close_print_run(issue)
    first_csv = print_run_csv(run)
    snapshot = list(run.entries.values_list("keyline", "name", "line1", "city", "expiry_issue"))

    # After the cut-off: an address moves, a member lapses, another subscribes,
    # the publisher changes the file layout.
    give_address(members["print-us"], line1="99 New Road", city="Chicago")
    billing.lapse(members["print-gb"])
    billing.subscribe(members["free"], includes_print=True)
    give_address(members["free"])
    settings = PrintSettings.load()
    settings.csv_columns = "name: Who\ncountry_name: Where"
    settings.save()

    again = close_print_run(issue)
    assert again.pk == run.pk
    run.refresh_from_db()
    assert (
        list(run.entries.values_list("keyline", "name", "line1", "city", "expiry_issue"))
        == snapshot
    )
    assert print_run_csv(run) == first_csv
    entry = run.entries.first()
    entry.name = "Someone else"
    with pytest.raises(PrintRunClosed):
        entry.save()
    with pytest.raises(PrintRunClosed):
        entry.delete()
    run.status = PrintRun.Status.OPEN
    with pytest.raises(PrintRunClosed):
        run.save()


@freeze_time("2026-05-25 09:00:00")
def test_the_printers_file_uses_the_layout_of_the_day_it_closed(issue, members):
    settings = PrintSettings.load()
    lines = settings.csv_columns.splitlines()
    assert lines[0] == "keyline: KEYLINE" and len(lines) == 11
    run = close_print_run(issue)
    rows = print_run_csv(run).decode("utf-8").split("\r\n")
    assert rows[0] == "KEYLINE,NAME,COMPANY,ADDRESS1,ADDRESS2,CITY,STATE,ZIP,COUNTRY,EXPIRE,COPIES"
    assert rows[1].startswith(f"{members['print-gb'].pk:08d},Print Gb,,10 Downing Street,,London,")
    assert len([row for row in rows if row]) == 5  # header + four labels, GB before US


@freeze_time("2026-05-25 09:00:00")
def test_a_custom_layout(issue, members):
    settings = PrintSettings.load()
    settings.csv_columns = "postal_code: Postcode\nname: Addressee\ncountry_name: Country\ncopies"
    settings.full_clean()
    settings.save()
    run = close_print_run(issue)
    rows = print_run_csv(run).decode().splitlines()
    assert rows[0] == "Postcode,Addressee,Country,copies"
    assert rows[1] == "SW1A 2AA,Print Gb,United Kingdom,1"
    settings.csv_columns = "street: Street"
    with pytest.raises(Exception, match="not a column"):
        settings.full_clean()


def test_billing_may_answer_with_members_alone(monkeypatch, billing, issue):
    subscriber = make_member("plain@example.com")
    billing.subscribe(subscriber, includes_print=True)
    monkeypatch.setattr(
        "masthead.billing.entitlements.print_entitled_members", lambda now=None: [subscriber]
    )
    assert entitled_print_members(timezone.now()) == [(subscriber, billing.by_user[subscriber.pk])]


def test_print_run_opens_with_the_default_cutoff(issue):
    run = print_run_for(issue)
    assert run.status == PrintRun.Status.OPEN
    assert timezone.localtime(run.cutoff_at).date() == date(2026, 5, 25)


def test_address_change_after_closing_is_told_it_applies_to_the_next_issue(issue, members):
    with freeze_time("2026-05-25 09:00:00"):
        close_print_run(issue)
    member = members["print-us"]
    with freeze_time("2026-05-27 12:00:00"):
        notice = cutoff_notice_for(member)
        assert "Vol. 12, No. 22" in notice and "applies from the next issue" in notice
        assert cutoff_notice_for(members["digital-only"]) is None
    with freeze_time("2026-07-01 12:00:00"):
        assert cutoff_notice_for(member) is None  # that issue is long in the post


def test_the_account_page_tells_of_an_address_change_too_late_for_a_closed_run(
    client, issue, members
):
    """Accounts asks printing through ADDRESS_CHANGE_NOTICES; it never imports it."""
    with freeze_time("2026-05-25 09:00:00"):
        close_print_run(issue)
    client.force_login(members["print-us"])
    with freeze_time("2026-05-27 12:00:00"):
        response = client.post(
            "/account/address/",
            {
                "line1": "2 Harbour Road",
                "city": "Portland",
                "region": "ME",
                "postal_code": "04101",
                "country": "US",
            },
            follow=True,
        )
    shown = [str(message) for message in response.context["messages"]]
    assert shown[0] == "Your shipping address is saved."
    assert "Vol. 12, No. 22" in shown[1] and "applies from the next issue" in shown[1]


@freeze_time("2026-05-25 09:00:00")
def test_staff_see_counts_by_country_and_download_the_file(client, issue, members):
    run = close_print_run(issue)
    staff = make_member("publisher@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(f"/admin/print-runs/{run.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "United States" in html and "United Kingdom" in html
    assert f"/admin/print-runs/{run.pk}/csv/" in html
    download = client.get(f"/admin/print-runs/{run.pk}/csv/")
    assert download.status_code == 200
    assert download.content == print_run_csv(run)
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert "private" in download["Cache-Control"]
    assert client.get("/admin/print-runs/").status_code == 200


@freeze_time("2026-05-25 09:00:00")
def test_only_staff_get_the_file(client, issue, members):
    from django.contrib.auth.models import Permission

    run = close_print_run(issue)
    editor = make_member("editor@example.com")
    editor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(editor)
    for url in (f"/admin/print-runs/{run.pk}/csv/", f"/admin/print-runs/{run.pk}/"):
        response = client.get(url)
        # Wagtail answers a refused admin view with a redirect to the dashboard.
        assert response.status_code in (302, 403)
        assert b"KEYLINE" not in response.content and b"United States" not in response.content
    client.force_login(members["print-us"])
    response = client.get(f"/admin/print-runs/{run.pk}/csv/")
    assert response.status_code in (302, 403) and b"KEYLINE" not in response.content


def test_an_issue_with_a_closed_run_cannot_be_deleted(client, issue, billing):
    from masthead.issues.models import IssuePage

    staff = make_member("publisher@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    close_print_run(issue)
    response = client.post(f"/admin/pages/{issue.pk}/delete/")
    assert response.status_code == 302 and f"/admin/pages/{issue.pk}/edit/" in response["Location"]
    assert IssuePage.objects.filter(pk=issue.pk).exists()


def test_an_open_run_goes_with_its_issue(client, site_tree):
    from masthead.issues.models import IssuePage
    from masthead.newsroom.models import SectionPage
    from tests.factories import make_article, make_issue

    article = make_article(SectionPage.objects.get(slug="culture"))
    doomed = make_issue([article], number=3, volume=1)
    print_run_for(doomed)
    client.force_login(make_member("publisher@example.com", is_staff=True, is_superuser=True))
    response = client.post(f"/admin/pages/{doomed.pk}/delete/")
    assert response.status_code == 302
    assert not IssuePage.objects.filter(pk=doomed.pk).exists()
    assert not PrintRun.objects.exists()


def test_the_account_page_tells_a_member_their_new_address_misses_a_closed_run(
    client, issue, members
):
    with freeze_time("2026-05-25 09:00:00"):
        close_print_run(issue)
    client.force_login(members["print-us"])
    with freeze_time("2026-05-27 12:00:00"):
        response = client.post(
            "/account/address/",
            {
                "name": "Print Us",
                "line1": "2 Elm Street",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62704",
                "country": "US",
            },
            follow=True,
        )
    html = response.content.decode()
    assert "Your shipping address is saved." in html
    assert "applies from the next issue" in html
