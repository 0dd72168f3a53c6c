"""`make screenshots` (scripts/screenshots.py) builds the demo magazine in a
throwaway database, serves it and saves each page type it is asked for at
both widths, for each kind of reader. Run as `make` runs it: a separate
process, so it touches neither this test's database nor var/."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots.py"


def test_screenshots_of_the_page_types_asked_for(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), "--only", "home,article-gated,account"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "account--free-member--1280.png",
        "account--free-member--390.png",
        "account--subscriber--1280.png",
        "account--subscriber--390.png",
        "article-gated--anonymous--1280.png",
        "article-gated--anonymous--390.png",
        "article-gated--free-member--1280.png",
        "article-gated--free-member--390.png",
        "article-gated--subscriber--1280.png",
        "article-gated--subscriber--390.png",
        "home--anonymous--1280.png",
        "home--anonymous--390.png",
        "home--free-member--1280.png",
        "home--free-member--390.png",
        "home--subscriber--1280.png",
        "home--subscriber--390.png",
    ]
    # Full pages, at the width asked for.
    for width in (1280, 390):
        with Image.open(tmp_path / f"home--anonymous--{width}.png") as image:
            assert image.width == width and image.height > 1500
