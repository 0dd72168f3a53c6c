import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from masthead.editions.models import Edition, EditionDownload
from tests.issues.support import make_member

pytestmark = pytest.mark.django_db


def stored_edition(issue, edition_format="epub", data=b"EPUB-BYTES"):
    name = storages["private"].save(f"editions/{issue.pk}/test.{edition_format}", ContentFile(data))
    return Edition.objects.create(
        issue=issue,
        format=edition_format,
        file_name=name,
        size=len(data),
        content_hash="x" * 64,
        status=Edition.Status.READY,
    )


@pytest.fixture
def people(billing):
    subscriber = make_member("subscriber@example.com")
    billing.subscribe(subscriber)
    lapsed = make_member("lapsed@example.com")
    billing.subscribe(lapsed)
    billing.lapse(lapsed)
    return {
        "anonymous": None,
        "free member": make_member("free@example.com"),
        "lapsed": lapsed,
        "subscriber": subscriber,
        "staff": make_member("staff@example.com", is_staff=True),
    }


@pytest.mark.parametrize(
    "who, status",
    [
        ("anonymous", 403),
        ("free member", 403),
        ("lapsed", 403),
        ("subscriber", 200),
        ("staff", 200),
    ],
)
def test_edition_download_asks_the_access_rule(client, magazine, people, who, status):
    issue = magazine["issue"]
    stored_edition(issue)
    if people[who]:
        client.force_login(people[who])
    response = client.get(f"/editions/{issue.pk}/epub/")
    assert response.status_code == status
    assert "private" in response["Cache-Control"]
    if status == 200:
        assert b"".join(response.streaming_content) == b"EPUB-BYTES"
        assert response["Content-Type"] == "application/epub+zip"
        assert f'filename="{issue.slug}.epub"' in response["Content-Disposition"]
        assert EditionDownload.objects.filter(member=people[who], issue=issue).count() == 1
    else:
        html = response.content.decode()
        assert "EPUB-BYTES" not in html and "Editions are for subscribers" in html
        if who == "anonymous":
            assert "/account/sign-in/?next=" in html
        else:
            assert "Subscribe" in html
        assert not EditionDownload.objects.exists()


def test_subscribers_get_every_issue_in_the_archive(client, magazine, people):
    older = magazine["older_issue"]
    stored_edition(older, "pdf-letter", b"%PDF-old")
    client.force_login(people["subscriber"])
    response = client.get(f"/editions/{older.pk}/pdf-letter/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-old"
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{older.slug}-letter.pdf"' in response["Content-Disposition"]


def test_an_edition_not_built_yet_is_queued(
    client, magazine, people, django_capture_on_commit_callbacks, monkeypatch
):
    built = []
    monkeypatch.setattr(
        "masthead.editions.actions.build_editions",
        lambda issue, formats=None: built.append(issue.pk),
    )
    client.force_login(people["subscriber"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/editions/{magazine['issue'].pk}/pdf-a4/")
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert built == [magazine["issue"].pk]


def test_unknown_formats_and_unpublished_issues_are_not_found(client, magazine, people, site_tree):
    from tests.factories import make_issue

    client.force_login(people["staff"])
    assert client.get(f"/editions/{magazine['issue'].pk}/mobi/").status_code == 404
    draft = make_issue([magazine["free"]], number=99, publish=False)
    stored_edition(draft)
    assert client.get(f"/editions/{draft.pk}/epub/").status_code == 404


def test_issue_page_shows_downloads_only_to_those_with_access(client, magazine, people):
    issue = magazine["issue"]
    stored_edition(issue)
    anonymous = client.get(issue.url)
    html = anonymous.content.decode()
    assert "/editions/" not in html
    assert "Subscribers read every issue" in html and "Sign in" in html
    assert "The bond market blinks" in html  # contents and deks stay public

    client.force_login(people["free member"])
    member = client.get(issue.url)
    assert "/editions/" not in member.content.decode()
    assert "private" in member["Cache-Control"]

    client.force_login(people["subscriber"])
    subscriber = client.get(issue.url).content.decode()
    assert f'href="/editions/{issue.pk}/epub/"' in subscriber
    assert "PDF (A4): being prepared" in subscriber


def test_archive_lists_covers_and_leads_subscribers_to_the_editions(client, magazine, people):
    archive = client.get("/issues/").content.decode()
    for issue in (magazine["issue"], magazine["older_issue"]):
        assert issue.url in archive
    assert "<img" in archive  # covers for everyone
    assert "/editions/" not in archive
    older = magazine["older_issue"]
    stored_edition(older)
    client.force_login(people["subscriber"])
    assert f"/editions/{older.pk}/epub/" in client.get(older.url).content.decode()
