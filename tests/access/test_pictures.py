"""Where a picture's files live (access/pictures.py): a picture seen only in
the gated part of gated articles keeps its original and every rendition in
private storage, served only through a view that asks the rule; any public
use makes it public; a change of level moves it."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client

from masthead.newsroom.models import ArticlePage, SectionPage
from tests.access.support import ensure_plans, make_reader
from tests.factories import make_article, make_image, paragraph

pytestmark = pytest.mark.django_db


def figure(image):
    return ("figure", {"image": image, "caption": "", "credit": ""})


def gated_body(image):
    return [
        paragraph("<p>The free opening.</p>"),
        ("teaser_break", None),
        paragraph("<p>The rest, for subscribers.</p>"),
        figure(image),
    ]


@pytest.fixture
def finance(site_tree):
    return SectionPage.objects.get(slug="finance")


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks, monkeypatch):
    """A publish's old files go once it commits: the test's own transaction
    never does, so each publish here runs its commit callbacks itself."""
    from wagtail.models import Revision

    publish = Revision.publish

    def publish_and_commit(self, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(self, *args, **kwargs)

    monkeypatch.setattr(Revision, "publish", publish_and_commit)


def public_files():
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def client_for(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def republish(article, **changes):
    article = ArticlePage.objects.get(pk=article.pk)
    for field, value in changes.items():
        setattr(article, field, value)
    article.save_revision().publish()
    return ArticlePage.objects.get(pk=article.pk)


def test_a_picture_only_in_a_gated_part_lives_in_private_storage(finance):
    picture = make_image("Chart of the secret")
    public_name = picture.file.name
    make_article(finance, body=gated_body(picture), access_level="subscribers")
    picture.refresh_from_db()
    assert picture.is_private and picture.file.name == "gated/" + public_name
    assert storages["private"].exists(picture.file.name)
    assert public_name not in public_files()
    assert client_for().get(f"/media/{public_name}").status_code == 404
    # Its renditions, whoever makes them, are private too.
    rendition = picture.get_rendition("width-300")
    assert rendition.file.name.startswith("gated/images/")
    assert storages["private"].exists(rendition.file.name)
    assert not any(name.startswith("images/") for name in public_files())


def test_the_private_file_view_asks_the_rule(finance, django_user_model):
    picture = make_image("Chart of the secret")
    article = make_article(finance, body=gated_body(picture), access_level="subscribers")
    picture.refresh_from_db()
    rendition = picture.get_rendition("width-300")
    assert rendition.url.startswith("/gated-images/files/gated/images/")
    for url in (picture.file.url, rendition.url):
        refused = client_for().get(url)
        assert refused.status_code == 403 and "private" in refused["Cache-Control"]
        assert article.title in refused.content.decode()
    subscriber = make_reader("active", SimpleNamespace(plans=ensure_plans()))
    response = client_for(subscriber).get(rendition.url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert body_of(response) == storages["private"].open(rendition.file.name).read()
    editor = django_user_model.objects.create_user("desk@example.org", is_staff=True)
    assert client_for(editor).get(picture.file.url).status_code == 200
    assert client_for().get("/gated-images/files/gated/images/nothing.jpg").status_code == 404


@pytest.mark.parametrize(
    "public_use",
    ["lead image", "teaser of a gated article", "public article", "author photo"],
)
def test_any_public_use_makes_a_picture_public(public_use, finance):
    from tests.factories import make_author

    picture = make_image("Shared")
    make_article(finance, body=gated_body(picture), access_level="subscribers")
    picture.refresh_from_db()
    assert picture.is_private
    if public_use == "lead image":
        republish(make_article(finance), lead_image=picture)
    elif public_use == "teaser of a gated article":
        make_article(
            finance, body=[figure(picture), *gated_body(make_image())], access_level="subscribers"
        )
    elif public_use == "public article":
        make_article(finance, body=gated_body(picture), access_level="public")
    else:
        make_author(photo=picture)
        republish(make_article(finance, body=gated_body(picture), access_level="members"))
    picture.refresh_from_db()
    assert not picture.is_private and picture.file.name in public_files()
    assert client_for().get(f"/media/{picture.file.name}").status_code == 200


def test_changing_an_articles_level_moves_its_pictures(finance):
    ensure_plans()
    picture = make_image("Level change")
    stem = Path(picture.file.name).stem
    article = make_article(finance, body=gated_body(picture), access_level="public")
    picture.refresh_from_db()
    assert not picture.is_private
    picture.get_rendition("width-300")
    article = republish(article, access_level="subscribers")
    picture.refresh_from_db()
    assert picture.is_private
    assert not any(Path(name).name.startswith(stem + ".") for name in public_files())
    assert not picture.renditions.exists()  # made anew, in private storage
    republish(article, access_level="public")
    picture.refresh_from_db()
    assert not picture.is_private and picture.file.name in public_files()


def test_a_section_level_change_moves_the_pictures_of_its_articles(finance):
    picture = make_image("Inherited level")
    make_article(finance, body=gated_body(picture))  # the section's level: public
    picture.refresh_from_db()
    assert not picture.is_private
    finance.default_access_level = "subscribers"
    finance.save_revision().publish()
    picture.refresh_from_db()
    assert picture.is_private


def test_moving_the_figure_out_of_the_teaser_makes_it_private(finance):
    picture = make_image("Was free")
    article = make_article(
        finance, body=[figure(picture), *gated_body(make_image())], access_level="subscribers"
    )
    picture.refresh_from_db()
    assert not picture.is_private
    article = republish(article, body=gated_body(picture))
    picture.refresh_from_db()
    assert picture.is_private


def test_editions_make_private_renditions_of_gated_pictures(finance):
    from masthead.editions.content import gather
    from tests.factories import make_issue

    picture = make_image("In the edition")
    stem = Path(picture.file.name).stem
    article = make_article(finance, body=gated_body(picture), access_level="subscribers")
    issue = make_issue([article])
    content = gather(issue).load_pictures()
    assert content.pictures[f"image-{picture.pk}"].data
    picture.refresh_from_db()
    [rendition] = picture.renditions.all()
    assert rendition.file.name.startswith("gated/images/")
    assert storages["private"].exists(rendition.file.name)
    assert not any(Path(name).name.startswith(stem + ".") for name in public_files())


def test_a_private_picture_no_live_page_shows_is_for_editors_only(finance, django_user_model):
    picture = make_image("Pulled story")
    article = make_article(finance, body=gated_body(picture), access_level="subscribers")
    ArticlePage.objects.get(pk=article.pk).unpublish()
    picture.refresh_from_db()
    assert picture.is_private  # used nowhere now: it stays where it was
    subscriber = make_reader("active", SimpleNamespace(plans=ensure_plans()))
    assert client_for().get(picture.file.url).status_code == 404
    assert client_for(subscriber).get(picture.file.url).status_code == 404
    editor = django_user_model.objects.create_user("desk@example.org", is_staff=True)
    assert client_for(editor).get(picture.file.url).status_code == 200


def test_a_public_rendition_is_kept_a_year_and_a_gated_one_stays_private(finance):
    """A rendition's name never changes its content, so browsers keep public
    ones for a year; a gated picture's files are still refused to anyone the
    rule refuses, and never cached by anyone but the reader let in."""
    public = make_image("Harbour at dawn")
    republish(make_article(finance), lead_image=public)
    rendition = public.get_rendition("fill-480x300|format-webp")
    assert rendition.url.startswith("/media/images/")
    for client in (
        client_for(),
        client_for(make_reader("active", SimpleNamespace(plans=ensure_plans()))),
    ):
        response = client.get(rendition.url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    # The original keeps the short policy: its name may be reused.
    assert "immutable" not in client_for().get(public.file.url).get("Cache-Control", "")

    secret = make_image("Chart of the secret")
    make_article(finance, body=gated_body(secret), access_level="subscribers")
    secret.refresh_from_db()
    gated = secret.get_rendition("width-300|format-webp")
    refused = client_for().get(gated.url)
    assert refused.status_code == 403 and "immutable" not in refused["Cache-Control"]
    assert client_for().get("/media/" + gated.file.name).status_code == 404
