"""The favicon and touch icons come from the publisher's logo; a missing page
is the magazine's own 404; a server error is a static page that needs no
database."""

import io

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import path
from PIL import Image
from wagtail.models import Site

from masthead.core.models import MagazineSettings
from tests.factories import make_image

pytestmark = pytest.mark.django_db

ACCENT = (155, 28, 28)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_every_page_links_the_icons_and_they_are_served(client, site_tree):
    html = client.get("/").content.decode()
    for link in (
        '<link rel="icon" href="/favicon.ico" sizes="48x48">',
        '<link rel="apple-touch-icon" href="/apple-touch-icon.png">',
    ):
        assert link in html
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in favicon["Cache-Control"]
    ico = Image.open(io.BytesIO(favicon.content))
    assert ico.format == "ICO" and ico.info["sizes"] == {(16, 16), (32, 32), (48, 48)}
    touch = Image.open(io.BytesIO(client.get("/apple-touch-icon.png").content))
    assert (touch.format, touch.size) == ("PNG", (180, 180))
    assert Image.open(io.BytesIO(client.get("/icon-512.png").content)).size == (512, 512)


def test_without_a_logo_the_icon_is_the_names_letter_on_the_accent(client, site_tree):
    touch = Image.open(io.BytesIO(client.get("/apple-touch-icon.png").content)).convert("RGB")
    assert touch.getpixel((2, 2)) == ACCENT
    # "The Meridian Review": an M, drawn in white across the middle.
    assert (255, 255, 255) in {touch.getpixel((x, 90)) for x in range(40, 140)}


def test_the_icon_follows_the_accent_chosen_in_the_admin(client, site_tree):
    magazine = MagazineSettings.for_site(Site.objects.get(is_default_site=True))
    client.get("/apple-touch-icon.png")
    magazine.accent_colour = "#1d4e89"
    magazine.save()
    touch = Image.open(io.BytesIO(client.get("/apple-touch-icon.png").content)).convert("RGB")
    assert touch.getpixel((2, 2)) == (0x1D, 0x4E, 0x89)


def test_the_icons_are_made_from_the_logo_set_in_the_admin(client, site_tree):
    magazine = MagazineSettings.for_site(Site.objects.get(is_default_site=True))
    magazine.logo = make_image("Logo", size=(300, 100))  # a brown (120, 90, 60) band
    magazine.save()
    touch = Image.open(io.BytesIO(client.get("/apple-touch-icon.png").content)).convert("RGB")
    # The logo, fitted in the middle of a white square.
    assert touch.getpixel((2, 2)) == (255, 255, 255)
    assert all(
        abs(a - b) <= 4 for a, b in zip(touch.getpixel((90, 90)), (120, 90, 60), strict=True)
    )
    favicon = Image.open(io.BytesIO(client.get("/favicon.ico").content)).convert("RGB")
    assert favicon.getpixel((2, 2)) == (255, 255, 255)


def test_a_missing_page_is_the_magazines_404(client, site_tree):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>We can't find that page</h1>" in html
    assert "<title>Page not found · The Meridian Review</title>" in html
    assert 'action="/search/"' in html


def _broken(request):
    raise RuntimeError("the database is down")


urlpatterns = [path("broken/", _broken)]
handler500 = "masthead.core.errors.server_error"


def test_a_server_error_is_a_static_page_that_needs_no_database(
    settings, django_assert_num_queries
):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    with django_assert_num_queries(0):
        response = client.get("/broken/")
    assert response.status_code == 500
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<h1>Something went wrong on our side</h1>" in html
    assert "{%" not in html and "{{" not in html


def test_the_projects_urls_use_the_static_500_page():
    from masthead import urls

    assert urls.handler500 == "masthead.core.errors.server_error"
