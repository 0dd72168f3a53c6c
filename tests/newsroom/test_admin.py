import pytest

from masthead.newsroom.models import ArticlePage

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client, django_user_model):
    editor = django_user_model.objects.create_superuser("editor@example.com", "a-long-password")
    client.force_login(editor)
    return client


def test_articles_listing_shows_drafts_and_live(editor_client, magazine):
    html = editor_client.get("/admin/articles/").content.decode()
    assert "Border talks resume" in html
    assert "An unpublished draft" in html


def test_editor_creates_an_article_under_a_section_and_previews_it(editor_client, magazine):
    section = magazine["sections"]["technology"]
    author = magazine["authors"][0]
    url = f"/admin/pages/add/newsroom/articlepage/{section.pk}/"
    assert editor_client.get(url).status_code == 200
    data = {
        "title": "Chips and the new export rules",
        "slug": "chips-export-rules",
        "dek": "A quiet rule with loud consequences.",
        "body-count": "1",
        "body-0-type": "paragraph",
        "body-0-value": '{"blocks":[{"key":"a","text":"First line.","type":"unstyled","depth":0,"inlineStyleRanges":[],"entityRanges":[]}],"entityMap":{}}',
        "body-0-deleted": "",
        "body-0-order": "0",
        "body-0-id": "",
        "bylines-TOTAL_FORMS": "1",
        "bylines-INITIAL_FORMS": "0",
        "bylines-MIN_NUM_FORMS": "1",
        "bylines-MAX_NUM_FORMS": "1000",
        "bylines-0-author": str(author.pk),
        "bylines-0-ORDER": "1",
        "bylines-0-id": "",
        "bylines-0-DELETE": "",
        "tags": "",
        "correction": "",
        "date": "2026-11-20 09:00",
        "access_level": "",
        "seo_title": "",
        "search_description": "",
        "go_live_at": "",
        "expire_at": "",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
    }
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    article = ArticlePage.objects.get(slug="chips-export-rules")
    assert article.get_parent().specific == section
    assert not article.live  # saved as a draft
    assert [a.name for a in article.authors] == ["Ana Peña"]
    # The editor previews the draft; readers cannot see it.
    preview = editor_client.get(f"/admin/pages/{article.pk}/edit/preview/?mode=")
    assert preview.status_code == 200


def test_articles_cannot_be_created_at_the_home_level(editor_client, magazine):
    home = magazine["home"]
    assert not ArticlePage.can_create_at(home)
    response = editor_client.get(f"/admin/pages/add/newsroom/articlepage/{home.pk}/")
    assert response.status_code == 302  # Wagtail refuses and sends the editor back
    assert response["Location"] == "/admin/"


def test_scheduled_article_goes_live_when_its_time_comes(magazine):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone
    from freezegun import freeze_time

    article = magazine["draft"]
    article.go_live_at = timezone.now() + timedelta(hours=1)
    article.save_revision(approved_go_live_at=article.go_live_at)
    call_command("publish_scheduled", verbosity=0)
    article.refresh_from_db()
    assert not article.live
    with freeze_time(timezone.now() + timedelta(hours=2)):
        call_command("publish_scheduled", verbosity=0)
    article.refresh_from_db()
    assert article.live


def test_an_uploaded_document_goes_to_private_storage(editor_client, magazine, settings):
    from pathlib import Path

    from django.core.files.storage import storages
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from wagtail.documents import get_document_model
    from wagtail.models import Collection

    response = editor_client.post(
        "/admin/documents/add/",
        {
            "title": "Budget tables",
            "file": SimpleUploadedFile("budget-tables.csv", b"year,amount\n2026,200\n"),
            "collection": Collection.get_first_root_node().pk,
        },
    )
    assert response.status_code == 302, response.content[:500]
    document = get_document_model().objects.get(title="Budget tables")
    assert storages["private"].exists(document.file.name)
    assert not any(Path(settings.MEDIA_ROOT).rglob("budget-tables*"))
    assert editor_client.get("/admin/documents/").status_code == 200
    # The editor may open it before any page links to it; nobody else may.
    served = editor_client.get(document.url)
    assert b"".join(served.streaming_content) == b"year,amount\n2026,200\n"
    assert Client().get(document.url).status_code == 404


def test_article_rows_open_the_editor_and_carry_actions(editor_client, magazine):
    article = magazine["free"]
    html = editor_client.get("/admin/articles/").content.decode()
    assert f'href="/admin/pages/{article.pk}/edit/"' in html
    assert f'data-object-id="{article.pk}" data-bulk-action-checkbox' in html
    assert f"More options for &#x27;{article.title}&#x27;" in html


def test_access_level_sits_by_the_title_with_the_sections_default(editor_client, magazine):
    article = magazine["free"]
    section = article.get_parent().specific
    html = editor_client.get(f"/admin/pages/{article.pk}/edit/").content.decode()
    title, access, dek = (html.index(f'name="{name}"') for name in ("title", "access_level", "dek"))
    assert title < access < dek
    default = {"public": "Everyone", "members": "Signed-in members", "subscribers": "Subscribers"}
    label = f"As the section ({section.title}): {default[section.default_access_level]}"
    assert f'<option value="" selected>{label}</option>' in html or (
        f'<option value="">{label}</option>' in html
    )
    assert "---------" not in html[access : access + 600]


def test_the_admin_asks_no_outside_avatar_service(editor_client, magazine):
    html = editor_client.get("/admin/").content.decode()
    assert "gravatar" not in html.lower()
