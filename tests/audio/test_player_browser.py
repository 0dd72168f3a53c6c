"""The player's script in Chromium: numbering, read-along, seeking, speed,
resume. The page and its audio come from the Django test client through
Playwright's request routing, so no server is started."""

import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from masthead.audio.actions import narrate_revision
from masthead.audio.models import Narration
from masthead.core.storage import parse_range
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

pytestmark = [pytest.mark.django_db, pytest.mark.e2e, pytest.mark.slow]

STATIC = Path(__file__).resolve().parents[2] / "static"
BODY = [
    paragraph("<p>The first paragraph, read first.</p>"),
    ("pull_quote", {"text": "A pulled line, not read.", "attribution": ""}),
    ("heading", "A heading"),
    paragraph("<p>The second paragraph. It has two sentences.</p><ul><li>An item.</li></ul>"),
    ("block_quote", {"text": "A quotation.", "attribution": "A source"}),
    paragraph(
        "<p>The last paragraph is long enough to take a while to read aloud. It goes on, "
        "and on, with a second sentence and then a third one, so that the whole narration "
        "lasts longer than the fifteen seconds a reader can skip.</p>"
    ),
]


def fetched(client, paths):
    """Responses fetched before the browser starts: Playwright's sync API runs
    an event loop, and Django would open another connection from inside it."""
    responses = {}
    for path in paths:
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        responses[path] = (response.status_code, dict(response.items()), body)
    for file in (STATIC / "audio").iterdir():
        kind = "text/css" if file.suffix == ".css" else "text/javascript"
        responses[f"/static/audio/{file.name}"] = (200, {"Content-Type": kind}, file.read_bytes())
    return responses


@contextmanager
def browser_page(responses):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (make setup installs it)")

    def serve(route):
        path = urlparse(route.request.url).path
        if path not in responses:
            route.fulfill(status=404, body=b"")
            return
        status, headers, body = responses[path]
        byte_range = parse_range(route.request.headers.get("range"), len(body))
        if status == 200 and isinstance(byte_range, tuple):
            start, end = byte_range
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{len(body)}",
                       "Content-Length": str(end - start + 1)}  # fmt: skip
            status, body = 206, body[start : end + 1]
        route.fulfill(status=status, body=body, headers=headers)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = browser.new_page()
            page.route("http://testserver/**", serve)
            yield page
        finally:
            browser.close()


def test_player_reads_along_seeks_and_resumes(client, site_tree, tone_engine):
    article = make_article(
        image=False, section=SectionPage.objects.get(slug="politics"), title="Read along", body=BODY
    )
    narrate_revision(article.pk, article.live_revision_id)
    narration = Narration.objects.get(article=article)
    timings = narration.timings["paragraphs"]
    assert narration.duration > 16  # room to skip 15 s
    responses = fetched(client, [article.url, reverse("audio:full", args=[article.pk])])
    with browser_page(responses) as page:
        check_player(page, article, timings)


def check_player(page, article, timings):
    page.goto(f"http://testserver{article.url}")
    page.wait_for_function("document.querySelector('[data-narration-player][data-ready]')")

    # The script numbered the same elements the narration read.
    numbered = page.eval_on_selector_all(
        "[data-paragraph]", "els => els.map(e => [e.tagName, e.dataset.paragraph])"
    )
    assert numbered == [
        ["P", "0"], ["H2", "1"], ["P", "2"], ["LI", "3"], ["BLOCKQUOTE", "4"], ["P", "5"],
    ]  # fmt: skip
    assert len(timings) == len(numbered)
    assert page.locator(".pull-quote [data-paragraph]").count() == 0

    # Clicking a paragraph plays from its start and highlights it.
    page.click("[data-paragraph='2']")
    page.wait_for_function("!document.querySelector('audio').paused")
    page.wait_for_selector("[data-paragraph='2'].narration-reading")
    position = page.evaluate("document.querySelector('audio').currentTime")
    assert timings[2][1] - 0.1 <= position < timings[2][2]
    assert page.get_attribute("[data-action='play']", "aria-label") == "Pause the narration"

    # Speed, remembered for next time.
    page.select_option("[data-role='speed']", "1.5")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5
    assert page.evaluate("localStorage.getItem('masthead-narration:rate')") == "1.5"

    # Skip back 15 s (to the start) and forward again.
    page.click("[data-action='back']")
    assert page.evaluate("document.querySelector('audio').currentTime") < 1
    page.click("[data-action='forward']")
    assert page.evaluate("document.querySelector('audio').currentTime") >= 14.9

    # Keyboard: the controls are buttons, reached with Tab and pressed with Enter.
    page.focus("[data-action='play']")
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('audio').paused")
    paused_at = page.evaluate("document.querySelector('audio').currentTime")
    assert paused_at > 10

    # Coming back resumes where the reader left off.
    page.reload()
    page.wait_for_function("document.querySelector('[data-narration-player][data-ready]')")
    assert abs(float(page.input_value("[data-role='seek']")) - paused_at) <= 1
    assert page.input_value("[data-role='speed']") == "1.5"
