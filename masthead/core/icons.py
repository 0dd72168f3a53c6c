"""The site's favicon and touch icons, made from the logo in the magazine's
settings (or, without one, the first letter of its name on the brand's accent
colour), so a browser's first request for /favicon.ico finds one.

Each icon is drawn once per logo and name and kept in the cache; browsers
keep it for a day."""

import hashlib
import io
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from PIL import Image, ImageDraw, ImageFont

from .models import MagazineSettings

PAPER = "#ffffff"
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
)
ONE_DAY = 24 * 60 * 60


@dataclass(frozen=True)
class Icon:
    size: int
    format: str
    content_type: str
    # The sizes packed into one .ico file.
    ico_sizes: tuple[int, ...] = ()


FAVICON = Icon(48, "ICO", "image/x-icon", ico_sizes=(16, 32, 48))
TOUCH_ICON = Icon(180, "PNG", "image/png")
APP_ICON = Icon(512, "PNG", "image/png")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def monogram(name: str, size: int, accent: str) -> Image.Image:
    """The first letter of the magazine's name (past a leading "The"), white
    on the accent colour."""
    words = [word for word in name.split() if word.lower() != "the"] or ["M"]
    letter = words[0][0].upper()
    image = Image.new("RGB", (size, size), accent)
    draw = ImageDraw.Draw(image)
    draw.text((size / 2, size / 2), letter, fill=PAPER, font=_font(int(size * 0.7)), anchor="mm")
    return image


def from_logo(logo: Image.Image, size: int) -> Image.Image:
    """The logo fitted, with a margin, on an opaque square: a home screen
    draws a transparent icon on black."""
    logo = logo.convert("RGBA")
    inner = int(size * 0.84)
    logo.thumbnail((inner, inner), Image.Resampling.LANCZOS)
    square = Image.new("RGBA", (size, size), PAPER)
    square.alpha_composite(logo, ((size - logo.width) // 2, (size - logo.height) // 2))
    return square.convert("RGB")


def draw_icon(icon: Icon, magazine: MagazineSettings) -> bytes:
    logo = magazine.logo
    if logo is not None:
        with logo.file.open("rb") as handle:
            image = from_logo(Image.open(handle), icon.size)
    else:
        image = monogram(magazine.name, icon.size, magazine.accent_colour)
    out = io.BytesIO()
    if icon.ico_sizes:
        image.save(out, format=icon.format, sizes=[(s, s) for s in icon.ico_sizes])
    else:
        image.save(out, format=icon.format, optimize=True)
    return out.getvalue()


def _cache_key(icon: Icon, magazine: MagazineSettings) -> str:
    """A key that changes with the logo's file, or the name and the accent
    without one."""
    logo = magazine.logo
    source = (
        f"logo:{logo.pk}:{logo.file.name}"
        if logo is not None
        else f"name:{magazine.name}:{magazine.accent_colour}"
    )
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    return f"core:icon:{icon.format}:{icon.size}:{digest}"


def icon_view(icon: Icon):
    @require_safe
    @cache_control(public=True, max_age=ONE_DAY)
    def view(request):
        magazine = MagazineSettings.for_request(request)
        key = _cache_key(icon, magazine)
        content = cache.get(key)
        if content is None:
            content = draw_icon(icon, magazine)
            cache.set(key, content, None)
        return HttpResponse(content, content_type=icon.content_type)

    return view


favicon = icon_view(FAVICON)
touch_icon = icon_view(TOUCH_ICON)
app_icon = icon_view(APP_ICON)
