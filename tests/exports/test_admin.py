"""Settings → Export in the Wagtail admin: "Export now" runs in the worker,
shows its progress, and the zip is a private file only staff download."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from freezegun import freeze_time

from masthead.core.storage import private_storage
from masthead.exports.actions import run_export
from masthead.exports.models import MagazineExport
from masthead.exports.views import download_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def admin_user(email, **fields):
    """Someone who may use the Wagtail admin."""
    user = get_user_model().objects.create_user(email, **fields)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


@pytest.fixture
def staff_client(client):
    client.force_login(admin_user("operator@meridian.example", is_staff=True))
    return client


@pytest.fixture
def editor_client(client):
    """A writer who may use the admin but is not staff."""
    client.force_login(admin_user("writer@meridian.example"))
    return client


def test_export_now_runs_in_the_worker_and_offers_a_private_download(
    demo, readers, staff_client, immediate_tasks, django_capture_on_commit_callbacks, settings
):
    page = staff_client.get(reverse("exports_admin:exports"))
    assert page.status_code == 200 and b"Export now" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("exports_admin:exports"))
    assert response.status_code == 302

    export = MagazineExport.objects.get()
    assert (export.status, export.progress) == ("done", 100)
    assert export.counts["articles"] == 3 and export.counts["readers"] == 5
    # In private storage, outside the public media folder.
    assert private_storage.exists(export.file.name)
    assert not (Path(settings.MEDIA_ROOT) / export.file.name).exists()

    listing = staff_client.get(reverse("exports_admin:exports")).content.decode()
    # The page's own link, signed when the page was drawn.
    link = re.search(r'href="([^"]*/download/[^"]*)"', listing)[1]
    assert link.startswith(reverse("exports_admin:download", args=["x"]).rsplit("x/", 1)[0])

    download = staff_client.get(link)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert "attachment" in download["Content-Disposition"]
    assert {"private", "no-store"} <= set(download["Cache-Control"].split(", "))
    data = b"".join(download.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("manifest.json"))["counts"] == export.counts

    progress = staff_client.get(reverse("exports_admin:progress", args=[export.pk])).json()
    assert progress == {"status": "done", "progress": 100, "error": ""}


def test_an_export_waiting_for_the_worker_shows_its_progress(staff_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    staff_client.post(reverse("exports_admin:exports"))
    export = MagazineExport.objects.get()
    assert export.status == "queued"
    page = staff_client.get(reverse("exports_admin:exports")).content.decode()
    assert "Waiting for the worker" in page and "<progress" in page
    assert download_url(export) not in page
    assert staff_client.get(download_url(export)).status_code == 404


def test_running_a_finished_export_again_leaves_it_as_it_is(demo):
    export = MagazineExport.objects.create()
    first = run_export(export.pk)
    again = run_export(export.pk)
    assert (again.file.name, again.finished_at) == (first.file.name, first.finished_at)
    assert private_storage.listdir("exports")[1] == [Path(first.file.name).name]


@pytest.mark.parametrize("who", ["anonymous", "reader", "editor"])
def test_only_staff_reach_exports(who, client, editor_client, demo):
    export = run_export(MagazineExport.objects.create().pk)
    if who == "anonymous":
        client.logout()
    elif who == "reader":
        client.logout()
        client.force_login(get_user_model().objects.create_user("ada@example.com"))
    urls = [
        reverse("exports_admin:exports"),
        reverse("exports_admin:progress", args=[export.pk]),
        download_url(export),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        if response.status_code == 302:  # to the sign-in, or the admin's home
            assert response["Location"].split("?")[0] in (
                reverse("wagtailadmin_login"),
                reverse("wagtailadmin_home"),
            )
    assert client.post(reverse("exports_admin:exports")).status_code in (302, 403)
    assert MagazineExport.objects.count() == 1


def test_an_export_that_fails_says_why_and_leaves_no_file(demo, staff_client):
    from masthead.newsroom.models import CreditedImage

    lost = CreditedImage.objects.order_by("pk").first()
    lost.file.storage.delete(lost.file.name)
    export = MagazineExport.objects.create()
    with pytest.raises(FileNotFoundError):
        run_export(export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and lost.file.name in export.error
    assert not export.file
    assert not private_storage.exists("exports")
    page = staff_client.get(reverse("exports_admin:exports")).content.decode()
    assert "Failed" in page and lost.file.name in page


def test_a_download_link_is_signed_and_expires(demo, staff_client):
    export = run_export(MagazineExport.objects.create().pk)
    with freeze_time("2026-03-01 12:00:00") as clock:
        url = download_url(export)
        assert staff_client.get(url).status_code == 200
        forged = url.replace(f"/{export.pk}:", f"/{export.pk + 1}:")
        assert staff_client.get(forged).status_code == 404
        clock.tick(301)
        assert staff_client.get(url).status_code == 404
