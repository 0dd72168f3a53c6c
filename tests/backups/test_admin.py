"""The admin's Backups page: staff who may back up start one; the archive
it writes is downloaded through a signed link, by staff only."""

import pytest
from django.core import signing
from django.urls import reverse

from masthead.backups.models import Backup


@pytest.fixture
def staff_client(client, transactional_db, settings, tmp_path):
    from masthead.accounts.models import User

    settings.BACKUP_DIR = tmp_path / "backups"
    admin = User.objects.create_superuser("operator@example.com", "a password 123")
    client.force_login(admin)
    return client


def test_back_up_now_makes_an_archive_downloaded_by_signed_link(staff_client, settings):
    page = reverse("backups_admin:index")
    assert staff_client.get(page).status_code == 200

    response = staff_client.post(page)
    assert response.status_code == 302
    backup = Backup.objects.get()
    assert backup.status == Backup.Status.DONE, backup.error
    assert (settings.BACKUP_DIR / backup.archive).stat().st_size == backup.size

    listing = staff_client.get(page)
    [archive] = listing.context["archives"]
    assert archive["name"] == backup.archive
    download = staff_client.get(archive["url"])
    assert download.status_code == 200
    assert "no-store" in download["Cache-Control"]
    body = b"".join(download.streaming_content)
    assert body == (settings.BACKUP_DIR / backup.archive).read_bytes()

    # A link to another file, or one not signed here, is no link.
    forged = signing.TimestampSigner(salt="another").sign(backup.archive)
    assert staff_client.get(reverse("backups_admin:download", args=[forged])).status_code == 404


def test_members_get_neither_the_page_nor_the_archives(client, staff_client, settings):
    from masthead.accounts.models import User

    staff_client.post(reverse("backups_admin:index"))
    url = staff_client.get(reverse("backups_admin:index")).context["archives"][0]["url"]
    staff_client.logout()
    reader = User.objects.create_user("reader@example.com")
    client.force_login(reader)
    assert client.get(reverse("backups_admin:index")).status_code in (302, 403)
    assert client.get(url).status_code in (302, 403)
    client.logout()
    assert client.get(url).status_code in (302, 403)
