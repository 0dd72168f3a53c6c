"""The publisher's brand without code: the logo, the accent colour, the font
pairing and the footer text are settings in the admin; pages link a small
versioned stylesheet with the accent and the fonts, served from the site
itself; a change in the admin makes cached pages stale."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from wagtail.models import Site

from masthead.core import brand
from masthead.core.models import MagazineSettings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_URL = "/admin/settings/core/magazinesettings/"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def brand_url(html: str) -> str:
    found = re.search(r'<link rel="stylesheet" href="(/brand\.css\?v=[0-9a-f]+)">', html)
    assert found, "the page links no brand stylesheet"
    return found.group(1)


def settings_form(admin_client, **changes):
    page = admin_client.get(SETTINGS_URL, follow=True)
    assert page.status_code == 200
    form = page.content.decode()
    assert "Brand" in form and 'name="accent_colour"' in form and 'type="color"' in form
    assert 'name="font_pairing"' in form and 'name="footer_text"' in form
    magazine = MagazineSettings.for_site(Site.objects.get(is_default_site=True))
    data = {
        "name": magazine.name,
        "publisher": magazine.publisher,
        "description": magazine.description,
        "language": magazine.language,
        "twitter_handle": "",
        "email_sender_name": "",
        "email_sender_address": "",
        "logo": "",
        "accent_colour": magazine.accent_colour,
        "font_pairing": magazine.font_pairing,
        "footer_text": magazine.footer_text,
        **changes,
    }
    return page.redirect_chain[-1][0], data


def test_the_demo_look_is_the_default(client, site_tree):
    html = client.get("/").content.decode()
    css = client.get(brand_url(html))
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    text = css.content.decode()
    assert "--accent: #9b1c1c;" in text
    assert "font-family: 'Source Serif 4'" in text and "font-family: 'Inter'" in text


def test_the_publisher_changes_the_brand_in_the_admin_and_cached_pages_follow(
    admin_client, magazine, django_capture_on_commit_callbacks
):
    reader = Client()
    article = magazine["free"].url
    old_stylesheet = brand_url(reader.get(article).content.decode())

    url, data = settings_form(
        admin_client,
        accent_colour="#1d4e89",
        font_pairing=brand.FontPairing.SANS,
        footer_text="Meridian Press, 1 Harbour Lane.\nLetters: letters@example.com",
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    # Until the change is committed, readers get the cached page.
    assert brand_url(reader.get(article).content.decode()) == old_stylesheet
    for callback in callbacks:
        callback()

    html = reader.get(article).content.decode()
    assert "<p>Meridian Press, 1 Harbour Lane.<br>Letters: letters@example.com</p>" in html
    new_stylesheet = brand_url(html)
    assert new_stylesheet != old_stylesheet
    css = reader.get(new_stylesheet)
    text = css.content.decode()
    assert "--accent: #1d4e89;" in text
    assert "--serif: Inter," in text and "Source Serif 4" not in text
    assert "max-age=31536000" in css["Cache-Control"] and "immutable" in css["Cache-Control"]
    # A signed-in reader's browser keeps it too.
    signed_in = admin_client.get(new_stylesheet)
    assert signed_in.content == css.content
    assert signed_in["Cache-Control"] == "private, max-age=31536000, immutable"
    # The old address still answers, with the new look, but briefly.
    stale = reader.get(old_stylesheet)
    assert stale.content == css.content and "max-age=300" in stale["Cache-Control"]


@pytest.mark.parametrize(
    "colour, message",
    [
        ("red", "Enter the colour as # and six hexadecimal digits, for example #9b1c1c."),
        ("#9b1c1", "Enter the colour as # and six hexadecimal digits, for example #9b1c1c."),
        ("#ffd700", "This colour is too light to read on white: its contrast is 1.4:1"),
    ],
)
def test_an_accent_that_is_not_a_readable_colour_is_refused(
    admin_client, site_tree, colour, message
):
    url, data = settings_form(admin_client, accent_colour=colour)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert MagazineSettings.objects.get().accent_colour == brand.DEFAULT_ACCENT


def test_dark_mode_lightens_the_accent_until_it_reads_on_the_dark_paper():
    for accent in ("#9b1c1c", "#1d4e89", "#000000", "#595959"):
        night = brand.dark_accent(accent)
        assert brand.contrast(night, brand.DARK_PAPER) >= 4.5, accent
        assert brand.contrast(night, brand.DARK_TINT) >= 4.5, accent
        hover = brand.mix(night, brand.PAPER, 0.2)
        assert brand.contrast(brand.DARK_PAPER, hover) >= 4.5, accent  # button labels
    css = brand.stylesheet("#1d4e89", brand.FontPairing.SERIF_AND_SANS)
    assert f"--accent: {brand.dark_accent('#1d4e89')};" in css.split("prefers-color-scheme")[1]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_stays_readable_in_light_and_dark_mode(scheme):
    css = (ROOT / "static/css/masthead.css").read_text()
    assert f"--paper: {brand.DARK_PAPER};" in css and f"--tint: {brand.DARK_TINT};" in css
    light, dark = css.split("@media (prefers-color-scheme: dark)")[:2]
    block = light.split(":root {")[1] if scheme == "light" else dark.split("}")[0]
    colours = dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{3,6})\b", block))
    colours = {name: re.sub(r"^#(.)(.)(.)$", r"#\1\1\2\2\3\3", c) for name, c in colours.items()}
    for text, ground in [
        ("ink", "paper"),
        ("ink", "tint"),
        ("ink", "notice"),
        ("muted", "paper"),
        ("muted", "tint"),
        ("accent", "paper"),
        ("accent", "tint"),
        ("error", "paper"),
        ("accent-ink", "accent"),
        ("accent-ink", "accent-hover"),
    ]:
        ratio = brand.contrast(colours[text], colours[ground])
        assert ratio >= 4.5, (text, ground, round(ratio, 2))


@pytest.mark.parametrize("pairing", brand.FontPairing.values)
def test_every_font_is_a_file_of_this_site(pairing):
    css = brand.stylesheet(brand.DEFAULT_ACCENT, pairing)
    urls = re.findall(r'url\("([^"]+)"\)', css)
    if pairing == brand.FontPairing.SYSTEM:
        assert urls == []
    for url in urls:
        assert url.startswith(django_settings.STATIC_URL + "fonts/") and url.endswith(".woff2")
        folder = ROOT / "static" / url.removeprefix(django_settings.STATIC_URL)
        assert folder.is_file(), url
        assert (folder.parent / "OFL.txt").is_file()
    assert css.count("font-display: swap") == len(urls)


def test_no_page_asks_another_host_for_anything(client, magazine):
    for url in ("/", magazine["free"].url, magazine["issue"].url):
        html = client.get(url).content.decode()
        for host in ("fonts.googleapis", "fonts.gstatic", "use.typekit", "cdn."):
            assert host not in html, (url, host)
        # What the browser fetches to draw the page (a canonical or a feed
        # link names the site's public address, and is not fetched).
        fetched = re.findall(
            r'<link rel="(?:stylesheet|icon|apple-touch-icon|preload)"[^>]* href="([^"]+)"', html
        )
        fetched += re.findall(r'<script[^>]* src="([^"]+)"', html)
        assert any("/brand.css" in address for address in fetched)
        for address in fetched:
            assert address.startswith("/"), address


def test_the_logo_replaces_the_name_in_the_header(client, site_tree):
    from tests.factories import make_image

    magazine = MagazineSettings.for_site(Site.objects.get(is_default_site=True))
    magazine.logo = make_image(title="Our logo", size=(400, 120))
    magazine.save()
    html = client.get("/").content.decode()
    header = html.split('<a class="site-title" href="/">')[1].split("</a>")[0]
    assert 'class="site-logo"' in header and f'alt="{magazine.name}"' in header


def test_a_template_put_in_the_theme_folder_replaces_the_bundled_one(
    client, site_tree, settings, tmp_path
):
    """THEME_DIR/templates comes first (the real settings, and the
    subprocess test in test_settings.py); here, a theme folder made now."""
    assert settings.TEMPLATES[0]["DIRS"][0] == settings.THEME_DIR / "templates"
    folder = tmp_path / "templates" / "core" / "includes"
    folder.mkdir(parents=True)
    (folder / "footer.html").write_text("<footer>Printed on recycled paper.</footer>")
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [tmp_path / "templates", *engine["DIRS"][1:]]}]
    html = client.get("/").content.decode()
    assert "<footer>Printed on recycled paper.</footer>" in html
    assert 'class="site-header"' in html  # the rest of the bundled base template


def test_an_article_weighs_at_most_60_kb_before_pictures_and_fonts(client, magazine):
    """The page, its stylesheets and scripts; fonts are separate files, fetched
    once and kept."""
    from django.contrib.staticfiles import finders

    response = client.get(magazine["free"].url)
    html = response.content.decode()
    total = len(response.content)
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    links += re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert links
    for address in links:
        if address.startswith(django_settings.STATIC_URL):
            found = finders.find(address.removeprefix(django_settings.STATIC_URL))
            total += Path(found).stat().st_size
        else:
            total += len(client.get(address).content)
    assert total <= 60 * 1024, total


# Running English text: how often each letter and the space come up, to
# weigh glyph widths into the width of a line.
LETTER_SHARES = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz ",
        (8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4, 6.7, 7.5, 1.9)
        + (0.1, 6.0, 6.3, 9.1, 2.8, 1.0, 2.4, 0.15, 2.0, 0.07, 18.0),
        strict=True,
    )
)
# Debian's fonts-liberation (make setup-test installs it).
LIBERATION = Path("/usr/share/fonts/truetype/liberation")
STAND_IN_FILES = {
    ("Source Serif 4 Fallback", 400, "normal"): "LiberationSerif-Regular.ttf",
    ("Source Serif 4 Fallback", 400, "italic"): "LiberationSerif-Italic.ttf",
    ("Source Serif 4 Fallback", 700, "normal"): "LiberationSerif-Bold.ttf",
    ("Inter Fallback", 400, "normal"): "LiberationSans-Regular.ttf",
    ("Inter Fallback", 600, "normal"): "LiberationSans-Bold.ttf",
    ("Inter Fallback", 700, "normal"): "LiberationSans-Bold.ttf",
}


def line_width(path):
    """(average advance of running text, ascent, descent), in ems."""
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    em = font["head"].unitsPerEm
    glyphs, advances = font.getBestCmap(), font["hmtx"]
    total = sum(LETTER_SHARES.values())
    width = sum(advances[glyphs[ord(c)]][0] * share for c, share in LETTER_SHARES.items())
    return width / total / em, font["hhea"].ascent / em, -font["hhea"].descent / em


@pytest.mark.parametrize("pairing", [brand.FontPairing.SERIF_AND_SANS, brand.FontPairing.SANS])
def test_a_web_fonts_stand_in_sets_text_to_the_same_measure(pairing):
    """Text set before the web font arrives takes the lines it will take
    after, so the swap shifts nothing (CLS)."""
    fonts = brand.PAIRINGS[pairing]
    css = brand.stylesheet(brand.DEFAULT_ACCENT, pairing)
    assert fonts.fallbacks
    for stand_in in fonts.fallbacks:
        assert stand_in.rule() in css
        web_family = stand_in.family.removesuffix(" Fallback")
        # Named in the stack right after its web font.
        assert f"{web_family}', '{stand_in.family}'" in css or (
            f"{web_family}, '{stand_in.family}'" in css
        )
        face = next(
            face
            for face in fonts.faces
            if face.family == web_family
            and face.weight == stand_in.weight
            and face.style == stand_in.style
        )
        web = ROOT / "static" / "fonts" / face.folder
        web_width, ascent, descent = line_width(
            web / f"{face.folder}-latin-{face.weight}-{face.style}.woff2"
        )
        local = STAND_IN_FILES[(stand_in.family, stand_in.weight, stand_in.style)]
        local_width, _, _ = line_width(LIBERATION / local)
        scale = web_width / local_width
        assert stand_in.size_adjust == pytest.approx(scale * 100, abs=0.1)
        assert stand_in.ascent == pytest.approx(ascent / scale * 100, abs=0.1)
        assert stand_in.descent == pytest.approx(descent / scale * 100, abs=0.1)
