"""Pictures for the demo magazine, drawn with Pillow: no downloads, no assets.

Each picture is an abstract editorial illustration: a sky gradient in the
section's palette, a sun or moon, a motif picked from words in the picture's
description (water, a skyline, hills, a chart, a network, a crowd, arches, a
globe), a horizon line and a little grain. The same seed always draws the same
picture, so a reloaded demo looks the same.
"""

import functools
import hashlib
import io
import math
import random
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

LEAD_SIZE = (1600, 900)
FIGURE_SIZE = (1200, 800)
COVER_SIZE = (1200, 1600)
PORTRAIT_SIZE = (600, 600)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SUPERSAMPLE = 2  # shapes are drawn at twice the size, then scaled down smoothly

# Per section: deep, mid, light, accent, second accent.
PALETTES = {
    "politics": [(26, 36, 58), (88, 101, 128), (236, 224, 204), (176, 52, 46), (205, 156, 82)],
    "finance": [(15, 50, 44), (72, 112, 92), (238, 232, 214), (200, 161, 74), (44, 44, 48)],
    "foreign-affairs": [
        (34, 64, 84),
        (118, 150, 152),
        (242, 228, 202),
        (206, 134, 64),
        (156, 70, 50),
    ],
    "environment": [(28, 58, 48), (96, 140, 96), (214, 226, 196), (62, 112, 144), (226, 208, 146)],
    "culture": [(64, 28, 58), (140, 80, 128), (246, 228, 214), (224, 112, 92), (238, 182, 80)],
    "technology": [(18, 22, 40), (78, 88, 122), (218, 228, 240), (62, 196, 208), (132, 102, 222)],
}
DEFAULT_PALETTE = PALETTES["politics"]

MOTIFS = {
    "water": "water river sea ocean coast flood rain harbour harbor lake dam "
    "delta wave waves tide shore reservoir irrigation fishing boat boats lighthouse",
    "skyline": "city skyline building buildings tower towers street office capitol parliament "
    "bank court factory downtown apartment housing senate congress ministry financial "
    "district glass",
    "hills": "mountain mountains hill hills hillside valley forest forests tree trees field "
    "fields farm farms land desert wheat crop crops vineyard orchard prairie ridge "
    "ridgelines glacier peak volcanic lettuce",
    "chart": "chart charts graph stock stocks currency coins money dollar dollars bond "
    "bonds rates ledger",
    "network": "circuit chip chips server servers data network screen screens phone code "
    "robot algorithm ai satellite cable cables software computer digital laptop wafer "
    "silicon",
    "crowd": "crowd crowds people protest protesters voters audience workers march queue "
    "rally union strike commuters students",
    "arches": "book books library theatre theater stage painting gallery music film "
    "museum novel poem opera concert cinema sculpture arena stadium vitrines",
    "globe": "map maps border borders globe flag flags wall embassy summit diplomat "
    "diplomats treaty world",
    "bridge": "bridge bridges viaduct train trains rail railway locomotive locomotives "
    "freight tracks",
    "port": "port container containers crane cranes terminal cargo battery batteries "
    "shipping warehouse",
    "clocks": "clock clocks watch watches clockmaker",
}
# A tie goes to the motif that suits the section.
SECTION_MOTIFS = {
    "politics": "skyline",
    "finance": "chart",
    "foreign-affairs": "globe",
    "environment": "hills",
    "culture": "arches",
    "technology": "network",
}
CHART_PHRASES = ("bar chart", "line chart", "a chart of", "a graph of")


def seed_for(*parts):
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return int(digest[:16], 16)


def choose_motif(description, section=None):
    """The motif whose words the description uses most; charts win outright."""
    lowered = description.lower()
    if any(phrase in lowered for phrase in CHART_PHRASES):
        return "chart"
    words = {w.strip(".,;:'\"()") for w in lowered.replace("-", " ").split()}
    scores = {
        motif: len(words & set(vocabulary.split())) + 0.5 * (SECTION_MOTIFS.get(section) == motif)
        for motif, vocabulary in MOTIFS.items()
    }
    best = max(scores, key=scores.get)
    return best if scores[best] >= 1 else SECTION_MOTIFS.get(section, "hills")


def mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def vertical_gradient(size, top, bottom):
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def font(size, bold=False, serif=True):
    name = ("DejaVuSerif" if serif else "DejaVuSans") + ("-Bold" if bold else "")
    try:
        return ImageFont.truetype(str(FONT_DIR / f"{name}.ttf"), size)
    except OSError:
        return ImageFont.load_default(size=size)


class _Painter:
    """Draws one scene on an RGBA canvas at SUPERSAMPLE times the final size."""

    def __init__(self, size, seed, palette):
        self.size = size
        self.w, self.h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
        self.rng = random.Random(seed)
        self.palette = palette
        self.layer = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.layer)
        self.horizon = self.h * self.rng.uniform(0.55, 0.7)

    def colour(self, index, alpha=255, towards=None, t=0.0):
        base = self.palette[index]
        if towards is not None:
            base = mix(base, self.palette[towards], t)
        return (*base, alpha)

    def ridge(self, base_y, amplitude, roughness):
        """Points of a wavy line across the canvas (sum of a few sine waves)."""
        waves = [
            (self.rng.uniform(0.5, 3.0) * (i + 1), self.rng.uniform(0, math.tau), 1 / (i + 1))
            for i in range(roughness)
        ]
        points = []
        steps = 80
        for step in range(steps + 1):
            x = self.w * step / steps
            y = base_y + amplitude * sum(
                weight * math.sin(freq * math.tau * step / steps + phase)
                for freq, phase, weight in waves
            )
            points.append((x, y))
        return points

    def band(self, points, fill):
        self.draw.polygon([*points, (self.w, self.h), (0, self.h)], fill=fill)

    # Motifs ------------------------------------------------------------------

    def hills(self):
        layers = self.rng.randint(3, 5)
        for i in range(layers):
            t = i / max(layers - 1, 1)
            y = self.horizon - self.h * 0.12 + t * self.h * 0.3
            fill = self.colour(1, 255, towards=0, t=0.25 + 0.75 * t)
            self.band(self.ridge(y, self.h * (0.06 - 0.03 * t), 3), fill)

    def water(self):
        self.hills_far()
        top = self.horizon
        rows = 9
        for i in range(rows):
            t = i / rows
            y = top + (self.h - top) * t
            fill = self.colour(3, 255, towards=0, t=0.15 + 0.7 * t)
            self.band(self.ridge(y, self.h * 0.012 * (1 + t * 2), 2), fill)
            for _ in range(3):
                x = self.rng.uniform(0, self.w)
                length = self.rng.uniform(0.03, 0.1) * self.w
                self.draw.line(
                    [(x, y + 6), (x + length, y + 6)],
                    fill=self.colour(2, 90),
                    width=SUPERSAMPLE * 2,
                )

    def hills_far(self):
        fill = self.colour(1, 200, towards=2, t=0.35)
        self.band(self.ridge(self.horizon - self.h * 0.05, self.h * 0.03, 3), fill)

    def skyline(self):
        self.hills_far()
        x = -self.rng.uniform(0, 60)
        while x < self.w:
            width = self.rng.uniform(0.04, 0.11) * self.w
            height = self.rng.uniform(0.12, 0.45) * self.h
            top = self.horizon + self.h * 0.08 - height
            shade = self.rng.uniform(0.3, 0.9)
            self.draw.rectangle(
                [x, top, x + width, self.h], fill=self.colour(0, 255, towards=1, t=shade * 0.5)
            )
            window = self.colour(4, 170)
            for wy in range(int(top + 20), int(self.horizon + self.h * 0.06), 34):
                for wx in range(int(x + 14), int(x + width - 14), 28):
                    if self.rng.random() < 0.35:
                        self.draw.rectangle([wx, wy, wx + 10, wy + 14], fill=window)
            if self.rng.random() < 0.25:  # a dome or a spire
                cx = x + width / 2
                self.draw.pieslice(
                    [cx - width / 3, top - width / 3, cx + width / 3, top + width / 3],
                    180,
                    360,
                    fill=self.colour(0, 255, towards=1, t=shade * 0.5),
                )
            x += width + self.rng.uniform(4, 30)
        self.band(self.ridge(self.horizon + self.h * 0.08, 2, 1), self.colour(0, 255))

    def chart(self):
        self.hills()
        bars = self.rng.randint(9, 16)
        left, right = self.w * 0.08, self.w * 0.92
        step = (right - left) / bars
        base = self.horizon + self.h * 0.05
        value = self.rng.uniform(0.3, 0.6)
        points = []
        for i in range(bars):
            value = min(max(value + self.rng.uniform(-0.12, 0.14), 0.1), 0.95)
            top = base - value * self.h * 0.45
            x = left + i * step
            self.draw.rectangle(
                [x + step * 0.15, top, x + step * 0.85, base], fill=self.colour(2, 70)
            )
            points.append((x + step / 2, top - self.h * 0.05))
        self.draw.line(points, fill=self.colour(3, 255), width=SUPERSAMPLE * 5, joint="curve")
        for px, py in points:
            r = SUPERSAMPLE * 7
            self.draw.ellipse([px - r, py - r, px + r, py + r], fill=self.colour(3, 255))

    def network(self):
        self.band(self.ridge(self.horizon, 4, 1), self.colour(0, 230))
        cols, rows = self.rng.randint(7, 11), self.rng.randint(4, 6)
        nodes = []
        for r in range(rows):
            for c in range(cols):
                x = self.w * (c + 0.5 + self.rng.uniform(-0.3, 0.3)) / cols
                y = self.h * 0.12 + (self.h * 0.76) * (r + 0.5 + self.rng.uniform(-0.3, 0.3)) / rows
                nodes.append((x, y))
        for i, (x, y) in enumerate(nodes):
            for j in (i + 1, i + cols):
                if j < len(nodes) and self.rng.random() < 0.6:
                    nx, ny = nodes[j]
                    self.draw.line(
                        [(x, y), (nx, y), (nx, ny)], fill=self.colour(3, 110), width=SUPERSAMPLE * 2
                    )
        for x, y in nodes:
            r = self.rng.choice([5, 7, 10]) * SUPERSAMPLE
            accent = 3 if self.rng.random() < 0.8 else 4
            self.draw.ellipse([x - r, y - r, x + r, y + r], fill=self.colour(accent, 230))

    def crowd(self):
        self.hills_far()
        rows = 5
        for row in range(rows):
            t = row / (rows - 1)
            y = self.horizon + (self.h - self.horizon) * (0.05 + 0.9 * t)
            r = self.h * (0.025 + 0.035 * t)
            x = -self.rng.uniform(0, r)
            while x < self.w + r:
                fill = self.colour(
                    0,
                    255,
                    towards=self.rng.choice([1, 3, 4]),
                    t=self.rng.uniform(0.1, 0.6) * (1 - t),
                )
                self.draw.pieslice([x - r * 1.6, y, x + r * 1.6, y + r * 3.4], 180, 360, fill=fill)
                self.draw.ellipse([x - r * 0.75, y - r * 1.5, x + r * 0.75, y], fill=fill)
                x += r * self.rng.uniform(2.3, 3.2)

    def arches(self):
        """A colonnade: solid arches with lit openings, like a gallery or a stage."""
        self.hills_far()
        count = self.rng.randint(3, 6)
        width = self.w / count
        top = self.horizon - self.h * self.rng.uniform(0.2, 0.3)
        body = self.colour(self.rng.choice([1, 3]), 255, towards=0, t=0.35)
        self.draw.rectangle([0, top - width * 0.1, self.w, self.h], fill=body)
        for i in range(count):
            x = i * width + width * 0.18
            inner = width * 0.64
            opening = self.colour(4, 255, towards=2, t=self.rng.uniform(0.2, 0.7))
            self.draw.rectangle([x, top + inner / 2, x + inner, self.h * 0.92], fill=opening)
            self.draw.pieslice([x, top, x + inner, top + inner], 180, 360, fill=opening)
            shadow = self.colour(0, 90)
            self.draw.rectangle([x, self.h * 0.8, x + inner, self.h * 0.92], fill=shadow)
        self.draw.rectangle([0, self.h * 0.92, self.w, self.h], fill=self.colour(0, 255))

    def globe(self):
        self.water()
        r = self.h * self.rng.uniform(0.22, 0.3)
        cx = self.w * self.rng.uniform(0.3, 0.7)
        cy = self.horizon - r * 0.35
        outline = self.colour(2, 200)
        width = SUPERSAMPLE * 3
        self.draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r],
            fill=self.colour(3, 120, towards=0, t=0.4),
            outline=outline,
            width=width,
        )
        for k in range(1, 4):
            rx = r * k / 4
            self.draw.ellipse([cx - rx, cy - r, cx + rx, cy + r], outline=outline, width=width)
            ry = r * math.sin(math.pi * k / 8)
            for sign in (-1, 1):
                y = cy + sign * ry
                half = math.sqrt(max(r * r - (y - cy) ** 2, 0))
                self.draw.line([(cx - half, y), (cx + half, y)], fill=outline, width=width)
        self.draw.line([(cx - r, cy), (cx + r, cy)], fill=outline, width=width)

    def bridge(self):
        """A bridge over water: a truss span or a stone viaduct, with a train on it."""
        self.water()
        deck = self.horizon - self.h * self.rng.uniform(0.08, 0.16)
        thickness = self.h * 0.025
        body = self.colour(0, 255, towards=1, t=0.25)
        self.draw.rectangle([0, deck, self.w, deck + thickness], fill=body)
        spans = self.rng.randint(3, 6)
        span = self.w / spans
        if self.rng.random() < 0.5:  # viaduct: arches below the deck
            for i in range(spans):
                x = i * span
                self.draw.rectangle([x, deck, x + span, self.h], fill=body)
                pad = span * 0.12
                self.draw.rectangle(
                    [x + pad, deck + span * 0.45, x + span - pad, self.h],
                    fill=self.colour(3, 255, towards=0, t=0.3),
                )
                self.draw.pieslice(
                    [x + pad, deck + thickness * 1.5, x + span - pad, deck + span * 0.9],
                    180,
                    360,
                    fill=self.colour(3, 255, towards=0, t=0.3),
                )
        else:  # truss: piers below, a zigzag of girders above
            height = self.h * 0.1
            line = SUPERSAMPLE * 4
            for i in range(spans + 1):
                x = i * span
                self.draw.rectangle([x - span * 0.04, deck, x + span * 0.04, self.h], fill=body)
            self.draw.line([(0, deck - height), (self.w, deck - height)], fill=body, width=line)
            bays = spans * 4
            for b in range(bays):
                x0, x1 = self.w * b / bays, self.w * (b + 1) / bays
                top, bottom = (deck - height, deck) if b % 2 else (deck, deck - height)
                self.draw.line([(x0, top), (x1, bottom)], fill=body, width=line)
                self.draw.line([(x0, deck), (x0, deck - height)], fill=body, width=line // 2)
        cars = self.rng.randint(3, 7)
        x = self.rng.uniform(0.05, 0.4) * self.w
        car = self.w * 0.07
        for _ in range(cars):
            fill = self.colour(self.rng.choice([3, 4]), 255, towards=0, t=self.rng.uniform(0, 0.3))
            self.draw.rectangle([x, deck - self.h * 0.045, x + car, deck - 2], fill=fill)
            x += car * 1.08

    def port(self):
        """Stacked containers under gantry cranes."""
        self.hills_far()
        ground = self.horizon + self.h * 0.12
        self.draw.rectangle([0, ground, self.w, self.h], fill=self.colour(0, 255, towards=1, t=0.2))
        box_w, box_h = self.w * 0.06, self.h * 0.045
        for row in range(2):
            base = ground + row * self.h * 0.16
            x = -self.rng.uniform(0, box_w)
            while x < self.w:
                for level in range(self.rng.randint(1, 4)):
                    fill = self.colour(
                        self.rng.choice([1, 2, 3, 4]), 255, towards=0, t=self.rng.uniform(0, 0.35)
                    )
                    top = base - (level + 1) * box_h
                    self.draw.rectangle([x, top, x + box_w - 6, top + box_h - 5], fill=fill)
                x += box_w
        line = SUPERSAMPLE * 6
        for _ in range(self.rng.randint(2, 4)):
            cx = self.rng.uniform(0.05, 0.95) * self.w
            top = self.h * self.rng.uniform(0.15, 0.3)
            leg = self.w * 0.05
            crane = self.colour(2, 255)
            self.draw.line([(cx - leg, ground), (cx - leg * 0.6, top)], fill=crane, width=line)
            self.draw.line([(cx + leg, ground), (cx + leg * 0.6, top)], fill=crane, width=line)
            self.draw.line([(cx - leg * 2.5, top), (cx + leg * 3.5, top)], fill=crane, width=line)
            self.draw.line(
                [(cx - leg, top + (ground - top) * 0.45), (cx + leg, top + (ground - top) * 0.45)],
                fill=crane,
                width=line // 2,
            )

    def clocks(self):
        """A wall of clocks, each telling a different time."""
        self.draw.rectangle([0, 0, self.w, self.h], fill=self.colour(0, 140))
        x_count = self.rng.randint(5, 8)
        cell = self.w / x_count
        for row in range(int(self.h / cell) + 1):
            for col in range(x_count):
                cx = cell * (col + 0.5) + self.rng.uniform(-0.1, 0.1) * cell
                cy = cell * (row + 0.5) + self.rng.uniform(-0.1, 0.1) * cell
                r = cell * self.rng.uniform(0.25, 0.42)
                face = self.colour(2, 255, towards=4, t=self.rng.uniform(0, 0.4))
                rim = self.colour(self.rng.choice([1, 3, 4]), 255, towards=0, t=0.3)
                self.draw.ellipse(
                    [cx - r, cy - r, cx + r, cy + r], fill=face, outline=rim, width=int(r * 0.12)
                )
                hand = self.colour(0, 255)
                for length, angle, width in (
                    (0.5, self.rng.uniform(0, math.tau), 0.07),
                    (0.75, self.rng.uniform(0, math.tau), 0.04),
                ):
                    self.draw.line(
                        [
                            (cx, cy),
                            (cx + r * length * math.sin(angle), cy - r * length * math.cos(angle)),
                        ],
                        fill=hand,
                        width=max(2, int(r * width)),
                    )

    def accents(self):
        """A few thin lines and rings that make it read as an illustration."""
        for _ in range(self.rng.randint(1, 3)):
            r = self.rng.uniform(0.05, 0.2) * self.h
            x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, self.horizon)
            self.draw.ellipse(
                [x - r, y - r, x + r, y + r], outline=self.colour(2, 70), width=SUPERSAMPLE * 2
            )
        y = self.horizon + self.rng.uniform(-0.02, 0.02) * self.h
        self.draw.line([(0, y), (self.w, y)], fill=self.colour(2, 110), width=SUPERSAMPLE * 2)

    def render(self):
        return self.layer.reduce(SUPERSAMPLE)


def scene(size, seed, section, description):
    """An abstract illustration for `description`, in `section`'s palette."""
    palette = PALETTES.get(section, DEFAULT_PALETTE)
    rng = random.Random(seed)
    motif = choose_motif(description, section)
    top = mix(palette[0], palette[1], rng.uniform(0.0, 0.4))
    bottom = mix(palette[2], palette[rng.choice([3, 4])], rng.uniform(0.15, 0.45))
    if rng.random() < 0.3:  # a night scene now and then
        top, bottom = mix(palette[0], (0, 0, 0), 0.3), mix(palette[0], palette[3], 0.35)
    picture = vertical_gradient(size, top, bottom)

    # A sun or moon with a soft glow.
    w, h = size
    r = h * rng.uniform(0.08, 0.16)
    cx, cy = w * rng.uniform(0.15, 0.85), h * rng.uniform(0.15, 0.45)
    small = (w // 8, h // 8)
    glow = Image.new("L", small, 0)
    ImageDraw.Draw(glow).ellipse(
        [(cx - r * 2) / 8, (cy - r * 2) / 8, (cx + r * 2) / 8, (cy + r * 2) / 8], fill=110
    )
    glow = glow.filter(ImageFilter.GaussianBlur(r / 10)).resize(size, Image.BILINEAR)
    picture = Image.composite(
        Image.new("RGB", size, mix(bottom, (255, 250, 235), 0.6)), picture, glow
    )
    ImageDraw.Draw(picture).ellipse(
        [cx - r, cy - r, cx + r, cy + r], fill=mix(palette[2], palette[4], 0.35)
    )

    painter = _Painter(size, rng.getrandbits(64), palette)
    getattr(painter, motif)()
    painter.accents()
    layer = painter.render()
    picture.paste(layer, (0, 0), layer)
    return add_grain(picture)


def add_grain(picture, strength=10):
    """Film grain: the same noise for every picture of a size, blended in lightly."""
    return ImageChops.blend(
        picture, ImageChops.overlay(picture, _noise(picture.size)), strength / 100
    )


@functools.lru_cache(maxsize=8)
def _noise(size):
    return Image.effect_noise(size, 40).convert("RGB")


def lead_picture(seed, section, description):
    return scene(LEAD_SIZE, seed, section, description)


def figure_picture(seed, section, description):
    return scene(FIGURE_SIZE, seed, section, description)


def portrait_picture(name, colour):
    """An author's portrait stand-in: initials on a coloured disc."""
    size = PORTRAIT_SIZE
    background = mix(colour, (250, 246, 238), 0.85)
    picture = vertical_gradient(size, background, mix(colour, (250, 246, 238), 0.7))
    draw = ImageDraw.Draw(picture)
    w, h = size
    margin = w * 0.12
    draw.ellipse([margin, margin, w - margin, h - margin], fill=colour)
    inner = margin + w * 0.035
    draw.ellipse(
        [inner, inner, w - inner, h - inner], outline=mix(colour, (255, 255, 255), 0.35), width=4
    )
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    draw.text(
        (w / 2, h / 2),
        initials,
        font=font(int(h * 0.3), bold=True),
        fill=(255, 252, 245),
        anchor="mm",
    )
    return picture


def wrap(draw, text, text_font, width):
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=text_font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def fitted_font(draw, text, width, largest, bold=True, serif=True):
    size = largest
    while size > 12:
        candidate = font(size, bold=bold, serif=serif)
        if draw.textlength(text, font=candidate) <= width:
            return candidate
        size -= 4
    return font(size, bold=bold, serif=serif)


def cover_picture(*, seed, section, description, magazine, label, date_text, title, cover_lines):
    """An issue cover: the lead story's art under the masthead, title and cover lines."""
    size = COVER_SIZE
    w, h = size
    palette = PALETTES.get(section, DEFAULT_PALETTE)
    picture = scene(size, seed, section, description)
    # Darken top and bottom so that type reads on any art.
    shade = Image.new("RGB", size, mix(palette[0], (0, 0, 0), 0.4))
    mask = Image.new("L", size, 0)
    mask_draw = ImageDraw.Draw(mask)
    for y in range(h):
        t = y / h
        alpha = max(0.0, 1 - t / 0.3) * 200 + max(0.0, (t - 0.45) / 0.55) * 215
        mask_draw.line([(0, y), (w, y)], fill=int(min(alpha, 230)))
    picture = Image.composite(shade, picture, mask)
    draw = ImageDraw.Draw(picture)
    light = (252, 248, 238)
    accent = max(palette[3], palette[4], key=lambda c: 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2])
    margin = 70

    masthead_font = fitted_font(draw, magazine.upper(), w - 2 * margin, 150)
    draw.text((w / 2, 60), magazine.upper(), font=masthead_font, fill=light, anchor="mt")
    bbox = draw.textbbox((w / 2, 60), magazine.upper(), font=masthead_font, anchor="mt")
    rule_y = bbox[3] + 28
    draw.line([(margin, rule_y), (w - margin, rule_y)], fill=accent, width=4)
    small = font(30, serif=False)
    draw.text((margin, rule_y + 18), label, font=small, fill=light)
    draw.text((w - margin, rule_y + 18), date_text, font=small, fill=light, anchor="ra")

    title_font = font(104, bold=True)
    title_lines = wrap(draw, title, title_font, w - 2 * margin)
    if len(title_lines) > 3:
        title_font = font(80, bold=True)
        title_lines = wrap(draw, title, title_font, w - 2 * margin)
    line_font = font(36, bold=True, serif=False)
    wrapped_cover_lines = [wrap(draw, line, line_font, w - 2 * margin - 30) for line in cover_lines]
    lines_height = sum(len(lines) * 46 + 28 for lines in wrapped_cover_lines)
    y = h - margin - lines_height - len(title_lines) * 118 - 40
    for line in title_lines:
        draw.text((margin, y), line, font=title_font, fill=light)
        y += title_font.size + 14
    y += 26
    draw.line([(margin, y), (margin + 160, y)], fill=accent, width=6)
    y += 30
    for lines in wrapped_cover_lines:
        draw.rectangle([margin, y + 8, margin + 10, y + 8 + 28], fill=accent)
        for line in lines:
            draw.text((margin + 30, y), line, font=line_font, fill=light)
            y += 46
        y += 28
    return picture


def jpeg_bytes(picture, quality=86):
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, "JPEG", quality=quality, progressive=True)
    return buffer.getvalue()
