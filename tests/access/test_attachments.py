"""Gated attachments (access/attachments.py): documents in private storage
served through the rule for the pages that link to them, and pictures in an
article's gated part served through a view that asks the rule."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from wagtail.models import Collection, CollectionViewRestriction

from masthead.newsroom.models import SectionPage
from tests.access.support import (
    document,
    document_bytes,
    gated_attachments,
    make_reader,
    paragraph,
)
from tests.factories import make_article


def client_for(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def linking_to(report):
    return paragraph(f'<p>See <a linktype="document" id="{report.pk}">the report</a>.</p>')


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_document_lives_in_private_storage_only(in_world):
    _figure, report = gated_attachments(in_world.articles["subscribers"])
    assert storages["private"].exists(report.file.name)
    public = [p.name for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert Path(report.file.name).name not in public


def test_a_document_no_published_page_links_to_is_for_editors_only(in_world, django_user_model):
    section = SectionPage.objects.get(slug="finance")
    report = document("Budget draft", "budget-draft.pdf")
    make_article(section, title="Not out yet", body=[linking_to(report)], publish=False)
    subscriber = make_reader("active", in_world)
    assert client_for().get(report.url).status_code == 404
    assert client_for(subscriber).get(report.url).status_code == 404
    editor = django_user_model.objects.create_user("desk@example.org", is_staff=True)
    response = client_for(editor).get(report.url)
    assert response.status_code == 200 and body_of(response) == document_bytes("Budget draft")


def test_a_document_linked_from_a_free_article_too_is_for_everyone(in_world):
    _figure, report = gated_attachments(in_world.articles["subscribers"])
    assert client_for().get(report.url).status_code == 403
    make_article(
        SectionPage.objects.get(slug="finance"),
        title="The free summary",
        body=[linking_to(report)],
        access_level="public",
    )
    response = client_for().get(report.url)
    assert response.status_code == 200 and body_of(response) == document_bytes(report.title)


def test_the_refusal_names_the_article_and_offers_the_way_in(in_world):
    article = in_world.articles["subscribers"]
    _figure, report = gated_attachments(article)
    response = client_for().get(report.url)
    html = response.content.decode()
    assert response.status_code == 403 and "private" in response["Cache-Control"]
    assert article.title in html and "Sign in" in html and "/subscribe/" in html
    assert "sentinel" not in html.lower() and report.filename not in html
    member = client_for(make_reader("free member", in_world)).get(report.url)
    assert member.status_code == 403 and "Sign in" not in member.content.decode()


def test_a_wrong_file_name_or_a_missing_document_is_not_found(in_world):
    _figure, report = gated_attachments(in_world.articles["public"])
    assert client_for().get(f"/documents/{report.pk}/other.pdf").status_code == 404
    assert client_for().get("/documents/999999/report.pdf").status_code == 404


def test_a_collections_view_restriction_still_applies(in_world):
    _figure, report = gated_attachments(in_world.articles["public"])
    private = Collection.get_first_root_node().add_child(name="Board papers")
    report.collection = private
    report.save()
    CollectionViewRestriction.objects.create(
        collection=private, restriction_type=CollectionViewRestriction.LOGIN
    )
    response = client_for().get(report.url)
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_byte_range_of_a_document(in_world):
    _figure, report = gated_attachments(in_world.articles["public"])
    response = client_for().get(report.url, HTTP_RANGE="bytes=0-7")
    assert response.status_code == 206 and body_of(response) == b"%PDF-1.4"


def test_gated_pictures_are_made_once_into_private_storage(in_world):
    article = in_world.articles["subscribers"]
    figure, _report = gated_attachments(article)
    url = reverse("access:gated_image", args=[article.pk, figure.pk, "width-900"])
    reader = client_for(make_reader("active", in_world))
    first = body_of(reader.get(url))
    kept = list(storages["private"].listdir(f"gated-images/{figure.pk}")[1])
    assert len(kept) == 1 and kept[0].endswith(".jpeg")
    assert body_of(reader.get(url)) == first
    assert list(storages["private"].listdir(f"gated-images/{figure.pk}")[1]) == kept


def test_the_gated_picture_view_serves_only_pictures_of_the_gated_part(in_world):
    article = in_world.articles["subscribers"]
    figure, _report = gated_attachments(article)
    reader = client_for(make_reader("active", in_world))
    other = gated_attachments(in_world.articles["public"])[0]
    for url in (
        reverse("access:gated_image", args=[article.pk, other.pk, "width-900"]),
        reverse("access:gated_image", args=[article.pk, article.lead_image.pk, "width-900"]),
        reverse("access:gated_image", args=[article.pk, figure.pk, "original"]),
    ):
        assert reader.get(url).status_code == 404, url


@pytest.mark.parametrize("level", ["subscribers", "plans"])
def test_the_page_gives_the_pictures_size_without_a_public_rendition(level, in_world):
    article = in_world.articles[level]
    figure, _report = gated_attachments(article)
    html = client_for(make_reader("active", in_world)).get(article.url).content.decode()
    url = reverse("access:gated_image", args=[article.pk, figure.pk, "width-900"])
    # 320 x 200 pixels: width-900 never enlarges.
    assert f'<img src="{url}" width="320" height="200"' in html
    assert not figure.renditions.filter(filter_spec="width-900").exists()
