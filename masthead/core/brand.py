"""The publisher's brand, set in the admin without code: the accent colour
and the font pairing become one small stylesheet, /brand.css, linked from
every reader page after masthead.css.

A stylesheet rather than an inline <style>: the stylesheet's address carries
a digest of what it says (`?v=`), so a browser keeps it for a year and a
change in the settings changes the address (the pages that link it are made
stale by serving's invalidation table, as for any MagazineSettings change).

The fonts are the magazine's own static files (woff2, latin subset, only the
weights the stylesheet uses, under the SIL Open Font License): no font CDN.
"""

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_safe

DEFAULT_ACCENT = "#9b1c1c"
# The paper colours of masthead.css, light and dark, and the dark tint (boxes
# such as the paywall's), the lighter of the dark grounds.
PAPER = "#ffffff"
DARK_PAPER = "#121212"
DARK_TINT = "#1f1d1b"
# WCAG AA for body-size text: links and button labels are text.
AA_CONTRAST = 4.5
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
ONE_YEAR = 365 * 24 * 60 * 60
# An old or missing ?v= gets the current stylesheet, kept briefly.
UNVERSIONED_SECONDS = 300

SERIF_FALLBACK = 'Georgia, "Times New Roman", serif'
SANS_FALLBACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


class FontPairing(models.TextChoices):
    SERIF_AND_SANS = "serif-and-sans", "Source Serif 4 for reading, Inter for labels"
    SANS = "sans", "Inter throughout"
    SYSTEM = "system", "The reader's own system fonts (nothing to download)"


@dataclass(frozen=True)
class Face:
    family: str
    folder: str
    weight: int
    style: str = "normal"

    def rule(self) -> str:
        slug = f"{self.folder}-latin-{self.weight}-{self.style}"
        url = static(f"fonts/{self.folder}/{slug}.woff2")
        return (
            f"@font-face {{ font-family: '{self.family}'; font-style: {self.style}; "
            f"font-weight: {self.weight}; font-display: swap; "
            f'src: url("{url}") format("woff2"); }}'
        )


@dataclass(frozen=True)
class Fallback:
    """A local font stretched to a web font's measure, named in the stack
    right after it: text set in it before the web font arrives takes the
    same lines, so the swap moves nothing on the page (layout shift). The
    figures come from the fonts' own metrics (average width of running
    text, ascent, descent), against the Times New Roman and Arial metrics
    that Liberation Serif and Liberation Sans share with them."""

    family: str
    locals: tuple[str, ...]
    weight: int
    size_adjust: float
    ascent: float
    descent: float
    style: str = "normal"

    def rule(self) -> str:
        sources = ", ".join(f'local("{name}")' for name in self.locals)
        return (
            f"@font-face {{ font-family: '{self.family}'; font-style: {self.style}; "
            f"font-weight: {self.weight}; src: {sources}; size-adjust: {self.size_adjust}%; "
            f"ascent-override: {self.ascent}%; descent-override: {self.descent}%; "
            "line-gap-override: 0%; }"
        )


TIMES = ("Times New Roman", "TimesNewRomanPSMT", "Liberation Serif")
TIMES_BOLD = ("Times New Roman Bold", "TimesNewRomanPS-BoldMT", "Liberation Serif Bold")
TIMES_ITALIC = ("Times New Roman Italic", "TimesNewRomanPS-ItalicMT", "Liberation Serif Italic")
ARIAL = ("Arial", "ArialMT", "Liberation Sans")
ARIAL_BOLD = ("Arial Bold", "Arial-BoldMT", "Liberation Sans Bold")
SERIF_STAND_IN = "Source Serif 4 Fallback"
SANS_STAND_IN = "Inter Fallback"

SOURCE_SERIF_FALLBACKS = (
    Fallback(SERIF_STAND_IN, TIMES, 400, 119.5, 86.7, 28.0),
    Fallback(SERIF_STAND_IN, TIMES_ITALIC, 400, 108.8, 95.3, 30.8, "italic"),
    Fallback(SERIF_STAND_IN, TIMES_BOLD, 700, 115.7, 89.6, 29.0),
)
INTER_FALLBACKS = (
    Fallback(SANS_STAND_IN, ARIAL, 400, 107.5, 90.1, 22.4),
    Fallback(SANS_STAND_IN, ARIAL_BOLD, 600, 101.3, 95.6, 23.8),
    Fallback(SANS_STAND_IN, ARIAL_BOLD, 700, 102.3, 94.7, 23.6),
)

SOURCE_SERIF = [
    Face("Source Serif 4", "source-serif-4", 400),
    Face("Source Serif 4", "source-serif-4", 400, "italic"),
    Face("Source Serif 4", "source-serif-4", 700),
]
INTER = [Face("Inter", "inter", 400), Face("Inter", "inter", 600)]


@dataclass(frozen=True)
class Pairing:
    # --serif: headlines and the reading text; --sans: labels, bylines, menus.
    serif: str
    sans: str
    faces: tuple[Face, ...]
    fallbacks: tuple[Fallback, ...] = ()


PAIRINGS = {
    FontPairing.SERIF_AND_SANS: Pairing(
        f"'Source Serif 4', '{SERIF_STAND_IN}', {SERIF_FALLBACK}",
        f"Inter, '{SANS_STAND_IN}', {SANS_FALLBACK}",
        (*SOURCE_SERIF, *INTER),
        (*SOURCE_SERIF_FALLBACKS, *INTER_FALLBACKS[:2]),
    ),
    FontPairing.SANS: Pairing(
        f"Inter, '{SANS_STAND_IN}', {SANS_FALLBACK}",
        f"Inter, '{SANS_STAND_IN}', {SANS_FALLBACK}",
        (*INTER, Face("Inter", "inter", 700)),
        INTER_FALLBACKS,
    ),
    FontPairing.SYSTEM: Pairing(SERIF_FALLBACK, SANS_FALLBACK, ()),
}


# Colour arithmetic (WCAG 2.x relative luminance) ----------------------------------------


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def mix(colour: str, towards: str, share: float) -> str:
    pairs = zip(_channels(colour), _channels(towards), strict=True)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in pairs)


def validate_accent(value: str) -> None:
    """An accent is text (links) on the paper and the paper's colour on it
    (buttons), so it must read against white at AA."""
    if not HEX_COLOUR.fullmatch(value or ""):
        raise ValidationError(
            "Enter the colour as # and six hexadecimal digits, for example #9b1c1c.",
            code="invalid",
        )
    ratio = contrast(value, PAPER)
    if ratio < AA_CONTRAST:
        raise ValidationError(
            "This colour is too light to read on white: its contrast is "
            f"{ratio:.1f}:1 and links and buttons need at least {AA_CONTRAST}:1. "
            "Choose a darker shade.",
            code="low_contrast",
        )


def dark_accent(accent: str) -> str:
    """The accent lightened just enough to read on the dark paper and tint."""
    share = 0.0
    colour = accent
    while contrast(colour, DARK_TINT) < AA_CONTRAST and share < 1:
        share = round(share + 0.05, 2)
        colour = mix(accent, PAPER, share)
    return colour


# The stylesheet -------------------------------------------------------------------------


# Asked for on every page render (its digest is in the link), and the same
# few settings give the same text for the life of the process.
@lru_cache(maxsize=32)
def stylesheet(accent: str, pairing: str) -> str:
    accent = accent if HEX_COLOUR.fullmatch(accent or "") else DEFAULT_ACCENT
    # A pairing no longer offered falls back to the default's.
    known = pairing in FontPairing.values
    fonts = PAIRINGS[FontPairing(pairing) if known else FontPairing.SERIF_AND_SANS]
    night = dark_accent(accent)
    lines = [face.rule() for face in fonts.faces]
    lines += [stand_in.rule() for stand_in in fonts.fallbacks]
    lines.append(
        f":root {{ --accent: {accent}; --accent-hover: {mix(accent, '#000000', 0.2)}; "
        f"--accent-ink: {PAPER}; --serif: {fonts.serif}; --sans: {fonts.sans}; }}"
    )
    lines.append(
        "@media (prefers-color-scheme: dark) { "
        f":root {{ --accent: {night}; --accent-hover: {mix(night, PAPER, 0.2)}; "
        f"--accent-ink: {DARK_PAPER}; }} }}"
    )
    return "\n".join(lines) + "\n"


def _for(magazine) -> str:
    return stylesheet(magazine.accent_colour, magazine.font_pairing)


@lru_cache(maxsize=32)
def version(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[:16]


def stylesheet_url(magazine) -> str:
    """/brand.css?v=<digest of its text>: a new address for each new look."""
    return f"/brand.css?v={version(_for(magazine))}"


@require_safe
def brand_stylesheet(request):
    # Imported here: models imports this module (the choices, the validator).
    from .models import MagazineSettings

    css = _for(MagazineSettings.for_request(request))
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    # Private: the same for every reader, but a public response to a signed-in
    # reader is made uncacheable (serving.middleware.SharedPagesMiddleware);
    # each browser keeps its copy, and 1 KB needs no shared cache.
    seconds = ONE_YEAR if request.GET.get("v") == version(css) else UNVERSIONED_SECONDS
    response["Cache-Control"] = f"private, max-age={seconds}"
    if seconds == ONE_YEAR:
        response["Cache-Control"] += ", immutable"
    return response
