"""The monthly usage report per institution: counted as readers in its IP
ranges read and download, and downloadable as CSV by staff."""

import csv
import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from masthead.access.institutions import Institution, flush_uses, record_use
from masthead.billing.models import InstitutionalUse, Organisation, Plan

pytestmark = pytest.mark.django_db
VIEW = InstitutionalUse.Kind.ARTICLE_VIEW
DOWNLOAD = InstitutionalUse.Kind.DOWNLOAD


@pytest.fixture
def organisations():
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    plan = Plan.objects.order_by("pk").first()
    library = Organisation.objects.create(name="City Library", plan=plan)
    university = Organisation.objects.create(name="Northern University", plan=plan)
    return library, university


def as_institution(organisation):
    return Institution(organisation.pk, organisation.name, organisation.plan.code)


def rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_uses_are_counted_per_organisation_month_and_kind(organisations):
    library, university = organisations
    for _ in range(3):
        record_use(as_institution(library), VIEW, date(2026, 11, 30))
    record_use(as_institution(library), VIEW, date(2026, 12, 1))
    record_use(as_institution(library), DOWNLOAD, date(2026, 12, 5))
    record_use(as_institution(university), VIEW, date(2026, 12, 31))
    # Counted in this process until written, in one batch.
    assert not InstitutionalUse.objects.exists()
    flush_uses()
    counts = {
        (use.organisation.name, use.month, use.kind): use.count
        for use in InstitutionalUse.objects.select_related("organisation")
    }
    assert counts == {
        ("City Library", date(2026, 11, 1), VIEW): 3,
        ("City Library", date(2026, 12, 1), VIEW): 1,
        ("City Library", date(2026, 12, 1), DOWNLOAD): 1,
        ("Northern University", date(2026, 12, 1), VIEW): 1,
    }


@pytest.fixture
def counted(organisations):
    library, university = organisations
    for day, organisation, kind, times in [
        (date(2026, 11, 3), library, VIEW, 4),
        (date(2026, 11, 9), library, DOWNLOAD, 2),
        (date(2026, 12, 2), library, VIEW, 1),
        (date(2026, 12, 2), university, DOWNLOAD, 5),
    ]:
        for _ in range(times):
            record_use(as_institution(organisation), kind, day)
    flush_uses()
    return organisations


@pytest.fixture
def staff_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser(email="editor@example.com"))
    return client


URL = "insights:institutional_usage_csv"


def test_staff_download_the_monthly_usage_report(staff_client, counted):
    response = staff_client.get(reverse(URL))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert rows(response) == [
        ["Month", "Organisation", "Article views", "Downloads"],
        ["2026-11", "City Library", "4", "2"],
        ["2026-12", "City Library", "1", "0"],
        ["2026-12", "Northern University", "0", "5"],
    ]


def test_one_organisations_or_one_months_report(staff_client, counted):
    library, university = counted
    response = staff_client.get(reverse(URL), {"organisation": university.pk})
    assert rows(response)[1:] == [["2026-12", "Northern University", "0", "5"]]
    response = staff_client.get(reverse(URL), {"month": "2026-11"})
    assert rows(response)[1:] == [["2026-11", "City Library", "4", "2"]]


@pytest.mark.parametrize("query", [{"organisation": "library"}, {"month": "November"}])
def test_bad_filters_get_a_clear_error(staff_client, counted, query):
    response = staff_client.get(reverse(URL), query)
    assert response.status_code == 400
    assert b"YYYY-MM" in response.content


def test_readers_do_not_get_the_report(counted):
    reader = Client()
    reader.force_login(get_user_model().objects.create_user(email="reader@example.org"))
    assert reader.get(reverse(URL)).status_code in (302, 403)
    assert Client().get(reverse(URL)).status_code == 302


def test_the_dashboard_links_the_report(staff_client, counted):
    html = staff_client.get(reverse("insights:dashboard")).content.decode()
    assert reverse(URL) in html


def test_an_organisations_manager_downloads_its_report_and_no_one_elses(counted):
    library, university = counted
    manager = get_user_model().objects.create_user(email="librarian@example.org")
    library.manager = manager
    library.save()
    client = Client()
    client.force_login(manager)
    page = client.get(reverse("billing:organisation", args=[library.pk])).content.decode()
    own = reverse("insights_public:organisation_usage", args=[library.pk])
    assert own in page
    response = client.get(own)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert rows(response)[1:] == [
        ["2026-11", "City Library", "4", "2"],
        ["2026-12", "City Library", "1", "0"],
    ]
    other = reverse("insights_public:organisation_usage", args=[university.pk])
    assert client.get(other).status_code == 404
    assert Client().get(own).status_code == 302
