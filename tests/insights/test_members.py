"""The members area: statuses and filters, the CSV, the member's page, and
staff actions leaving their audit rows."""

import csv
import io

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from masthead.insights import members
from masthead.insights.models import Label, MemberLabel, StaffAction
from tests.insights.history import NOW


@pytest.fixture
def staff(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(email="editor@example.com")


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def emails(queryset):
    return sorted(member.email.split("@")[0] for member in queryset)


@pytest.mark.parametrize(
    "status, expected",
    [
        ("paying", ["ada", "ben", "eve", "hana"]),
        ("lapsed", ["cleo", "finn"]),
        ("refunded", ["dora"]),
        ("gift", ["gus"]),
        ("free", ["zoe"]),
        ("trial", []),
        ("cancelled", []),
        ("complimentary", []),
    ],
)
def test_status_filter_matches_each_members_status(history, status, expected):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(email="zoe@example.com")
    found = members.filter_members({"status": status}, now=NOW)
    assert emails(found) == expected
    # The list's own column says the same of each of them.
    assert all(row[1] == status for row in members.with_status(found, now=NOW))


def test_print_plan_search_and_label_filters(history):
    assert emails(members.filter_members({"kind": "print"}, now=NOW)) == ["ben"]
    assert emails(members.filter_members({"plan": history["plans"]["print"]}, now=NOW)) == ["ben"]
    assert emails(members.filter_members({"q": "HANA"}, now=NOW)) == ["hana"]
    label = Label.objects.create(name="press")
    MemberLabel.objects.create(member=history["people"]["C"], label=label)
    assert emails(members.filter_members({"label": label}, now=NOW)) == ["cleo"]


@freeze_time(NOW)
def test_members_list_page_and_streamed_csv(history, admin_client):
    response = admin_client.get(reverse("insights_members:index"), {"status": "paying"})
    assert response.status_code == 200
    assert b"ada@example.com" in response.content and b"cleo@example.com" not in response.content
    response = admin_client.get(reverse("insights_members:csv"), {"status": "lapsed"})
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == members.CSV_HEADER
    assert sorted(row[0] for row in rows[1:]) == ["cleo@example.com", "finn@example.com"]
    assert {row[3] for row in rows[1:]} == {"Lapsed"}


def test_members_area_is_for_staff_only(history, client):
    from django.contrib.auth import get_user_model

    reader = get_user_model().objects.get(email="ada@example.com")
    client.force_login(reader)
    assert client.get(reverse("insights_members:csv")).status_code in (302, 403)
    assert client.get(reverse("insights:dashboard")).status_code in (302, 403)


@freeze_time(NOW)
def test_member_page_shows_timeline_and_the_access_reason(history, admin_client):
    dora = history["people"]["D"]
    response = admin_client.get(reverse("insights_members:detail", args=[dora.pk]))
    page = response.content.decode()
    assert "Refunded" in page
    assert "refused (subscription-required)" in page
    assert "Refund refunded: €7.00" in page
    assert "Paid €7.00 (€7.00 refunded)" in page
    ada = history["people"]["A"]
    page = admin_client.get(reverse("insights_members:detail", args=[ada.pk])).content.decode()
    assert "granted (subscriber)" in page


@freeze_time(NOW)
def test_staff_actions_leave_audit_rows(
    history, admin_client, staff, settings, django_capture_on_commit_callbacks
):
    from masthead.billing.models import BillingAuditLog, Subscription

    settings.SITE_URL = "http://testserver"
    finn = history["people"]["F"]
    url = reverse("insights_members:detail", args=[finn.pk])
    admin_client.post(
        url,
        {
            "action": "comp",
            "plan": history["plans"]["digital"].pk,
            "ends_on": "2026-12-31",
            "note": "Press",
        },
    )
    grant = Subscription.objects.get(member=finn, status="complimentary")
    assert grant.granted_by == staff
    assert BillingAuditLog.objects.filter(
        action="complimentary_granted", subscription=grant
    ).exists()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {"action": "resend"})
    assert [message.to for message in mail.outbox] == [["finn@example.com"]]
    admin_client.post(url, {"action": "note", "text": "Called about the magazine."})
    admin_client.post(url, {"action": "add_label", "label": "press"})
    assert list(
        StaffAction.objects.filter(member=finn).order_by("pk").values_list("action", flat=True)
    ) == [
        "complimentary_granted",
        "sign_in_link_sent",
        "note_added",
    ]
    assert MemberLabel.objects.filter(member=finn, label__name="press").exists()
    # The refund rule is billing's: Ada's first payment was in January.
    ada = history["people"]["A"]
    response = admin_client.post(
        reverse("insights_members:detail", args=[ada.pk]), {"action": "refund"}, follow=True
    )
    assert "60-day money-back guarantee ended" in response.content.decode()
    assert not StaffAction.objects.filter(member=ada, action="refunded").exists()


@freeze_time(NOW)
def test_bulk_label_and_newsletter_unsubscribe_on_a_filtered_list(history, admin_client):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.filter(email__in=["ada@example.com", "cleo@example.com"]).update(
        wants_newsletter=True
    )
    bulk = reverse("insights_members:bulk") + "?status=paying"
    admin_client.post(bulk, {"action": "add_label", "label": "loyal"})
    assert emails(User.objects.filter(member_labels__label__name="loyal")) == [
        "ada",
        "ben",
        "eve",
        "hana",
    ]
    admin_client.post(bulk, {"action": "unsubscribe_newsletter"})
    assert emails(User.objects.filter(wants_newsletter=True)) == ["cleo"]
