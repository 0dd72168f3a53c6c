"""Settings → Import in the Wagtail admin: upload, dry-run report with its
mappings, confirm, and the import runs as a background task."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from masthead.imports.models import ImportRun
from masthead.newsroom.models import ArticlePage
from tests.imports.ghost_export import build_export

pytestmark = pytest.mark.django_db


def admin_user(email, **fields):
    user = get_user_model().objects.create_user(email, **fields)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


def upload(client, data):
    return client.post(
        reverse("imports_admin:imports"),
        {
            "importer": "ghost",
            "export": SimpleUploadedFile("site.ghost.json", json.dumps(data).encode()),
        },
    )


def test_upload_dry_run_edit_mapping_confirm_and_import(client, django_capture_on_commit_callbacks):
    client.force_login(admin_user("editor@saltmere.example", is_staff=True))
    response = upload(client, build_export())
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports_admin:run", args=[run.pk])
    assert run.status == ImportRun.Status.PLANNED
    assert not ArticlePage.objects.exists()

    report = client.get(response["Location"]).content.decode()
    assert "Dry run done, waiting for confirmation" in report
    assert '<tr data-kind="post"><td>posts</td><td>7</td><td>0</td><td>0</td></tr>' in report
    assert 'name="section-t1" value="coast"' in report
    assert "not a valid email address" in report

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(
            response["Location"],
            {
                "section-t1": "shoreline",
                "section-none": "news",
                "price-price_supporter_month": "digital",
            },
        )
    assert confirmed.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE, run.error
    assert (run.position, run.total) == (run.total, run.report["total"])
    assert ArticlePage.objects.get(slug="harbour-master").get_parent().slug == "shoreline"
    progress = client.get(reverse("imports_admin:progress", args=[run.pk])).json()
    assert progress["status"] == "done"


def test_a_malformed_upload_stops_with_the_error_and_imports_nothing(client):
    client.force_login(admin_user("editor@saltmere.example", is_staff=True))
    data = build_export(version="2.0.0")
    response = upload(client, data)
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "Ghost version 2.0.0 is not one this importer reads" in page
    assert not ArticlePage.objects.exists()


def test_only_staff_may_import(client):
    client.force_login(admin_user("writer@saltmere.example"))
    # Wagtail sends someone the admin refuses back to the dashboard.
    for response in (client.get(reverse("imports_admin:imports")), upload(client, build_export())):
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert not ImportRun.objects.exists()
