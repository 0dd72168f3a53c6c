"""Drafts and previews are for editors: a draft has no public URL, Wagtail's
preview and draft views need the admin, and an editor's page (with the
userbar) is never kept for anyone else."""

import pytest
from django.test import Client
from django.urls import reverse

from masthead.newsroom.models import SectionPage
from tests.access.support import gated_sentence, make_reader
from tests.factories import make_article, paragraph

DRAFT_SENTENCE = "A draft line for SENTINEL-draft eyes only."


@pytest.fixture
def draft(in_world):
    return make_article(
        SectionPage.objects.get(slug="finance"),
        title="An unpublished scoop",
        body=[paragraph("<p>Opening.</p>"), paragraph(f"<p>{DRAFT_SENTENCE}</p>")],
        access_level="subscribers",
        publish=False,
    )


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor@example.org", "pw-123456789")


def client_for(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("state", ["anonymous", "free member", "active"])
def test_a_draft_has_no_public_page_and_its_admin_views_need_the_admin(state, in_world, draft):
    client = client_for(make_reader(state, in_world))
    url = f"/{draft.get_parent().slug}/{draft.slug}/"
    assert client.get(url).status_code == 404
    for view in ("view_draft", "preview_on_edit"):
        response = client.get(reverse(f"wagtailadmin_pages:{view}", args=[draft.pk]))
        assert response.status_code in (302, 403)
        assert DRAFT_SENTENCE not in response.content.decode()
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/")


def test_editors_see_drafts_whole(in_world, draft, editor):
    client = client_for(editor)
    response = client.get(reverse("wagtailadmin_pages:view_draft", args=[draft.pk]))
    assert response.status_code == 200
    assert DRAFT_SENTENCE in response.content.decode()


def test_the_preview_of_an_edit_shows_the_draft_to_editors_only(in_world, editor):
    article = in_world.articles["subscribers"]
    article.body = [
        *[(block.block_type, block.value) for block in article.body],
        paragraph(f"<p>{DRAFT_SENTENCE}</p>"),
    ]
    article.save_revision()  # a draft of a live article
    subscriber = client_for(make_reader("active", in_world))
    assert DRAFT_SENTENCE not in subscriber.get(article.url).content.decode()
    draft_view = reverse("wagtailadmin_pages:view_draft", args=[article.pk])
    assert DRAFT_SENTENCE in client_for(editor).get(draft_view).content.decode()
    assert subscriber.get(draft_view).status_code == 302


def test_staff_get_the_userbar_and_their_pages_are_not_kept(in_world, editor):
    article = in_world.articles["subscribers"]
    client = client_for(editor)
    for _ in range(2):
        response = client.get(article.url)
        html = response.content.decode()
        assert "X-Article-Cache" not in response
        assert gated_sentence("subscribers") in html
        assert "wagtail-userbar" in html
    # A subscriber who comes next gets no userbar.
    html = client_for(make_reader("active", in_world)).get(article.url).content.decode()
    assert "wagtail-userbar" not in html and gated_sentence("subscribers") in html


def test_editors_without_staff_status_get_the_userbar_too(in_world, django_user_model):
    from django.contrib.auth.models import Group

    editor = django_user_model.objects.create_user("desk@example.org")
    group, _ = Group.objects.get_or_create(name="Editors")
    from django.contrib.auth.models import Permission

    group.permissions.add(Permission.objects.get(codename="access_admin"))
    editor.groups.add(group)
    article = in_world.articles["public"]
    client = client_for(editor)
    for _ in range(2):
        response = client.get(article.url)
        assert "wagtail-userbar" in response.content.decode()
        assert "X-Article-Cache" not in response
