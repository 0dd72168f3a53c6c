"""The player and the podcast page in Chromium: numbering, read-along,
seeking, speed, resume, the keyboard, the docked player, the native
fallback without JavaScript, copying a feed address. Pages and audio come
from the Django test client through Playwright's request routing, so no
server is started."""

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
def browser_page(responses, origin="http://testserver", permissions=(), **context_options):
    """A page whose requests to `origin` are answered from `responses`; each
    request is logged in `page.served` as (path, status)."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (make setup installs it)")
    served = []

    def serve(route):
        path = urlparse(route.request.url).path
        if path not in responses:
            served.append((path, 404))
            route.fulfill(status=404, body=b"")
            return
        status, headers, body = responses[path]
        byte_range = parse_range(route.request.headers.get("range"), len(body))
        if status == 200 and isinstance(byte_range, tuple):
            start, end = byte_range
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{len(body)}",
                       "Content-Length": str(end - start + 1)}  # fmt: skip
            status, body = 206, body[start : end + 1]
        served.append((path, status))
        route.fulfill(status=status, body=body, headers=headers)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            context = browser.new_context(base_url=origin, **context_options)
            if permissions:
                context.grant_permissions(list(permissions), origin=origin)
            page = context.new_page()
            page.route(f"{origin}/**", serve)
            page.served = served
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


# --- Without JavaScript ----------------------------------------------------

GATED_BODY = [
    paragraph("<p>The opening, which anyone may hear.</p>"),
    paragraph("<p>The opening's second paragraph.</p>"),
    ("teaser_break", None),
    paragraph("<p>The part for subscribers only.</p>"),
]


@pytest.mark.parametrize("who", ["anonymous", "member", "subscriber"])
def test_without_javascript_the_browser_plays_what_the_reader_may_hear(
    client, site_tree, tone_engine, who, request
):
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        title="Heard without scripts",
        body=GATED_BODY,
        access_level="subscribers",
    )
    narrate_revision(article.pk, article.live_revision_id)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    full = reverse("audio:full", args=[article.pk])
    teaser = reverse("audio:teaser", args=[article.pk])
    allowed, refused = (full, None) if who == "subscriber" else (teaser, full)
    responses = fetched(client, [article.url, full, teaser])

    with browser_page(responses, java_script_enabled=False) as page:
        page.goto(article.url)
        audio = page.locator("[data-narration-player] audio")
        assert audio.get_attribute("controls") is not None
        assert audio.get_attribute("src") == allowed
        assert audio.is_visible() and audio.bounding_box()["height"] > 20
        # The script's controls and paragraph buttons need the script.
        assert page.locator("[data-role='controls']").is_hidden()
        assert page.locator(".narration-from").count() == 0
        assert page.locator("[data-role='hint']").is_hidden()

        # The browser's own play button fetches the narration and plays it.
        box = audio.bounding_box()
        with page.expect_response(lambda r: urlparse(r.url).path in (full, teaser)) as heard:
            page.mouse.click(box["x"] + 24, box["y"] + box["height"] / 2)
        assert urlparse(heard.value.url).path == allowed
        assert heard.value.status in (200, 206)
        assert full not in [path for path, _ in page.served] or who == "subscriber"

        if refused:
            # Asked for directly, the full narration stays closed to this reader.
            assert page.goto(refused).status == 403


# --- The keyboard ------------------------------------------------------------


def test_every_paragraph_starts_the_narration_from_the_keyboard(client, site_tree, tone_engine):
    article = make_article(
        image=False, section=SectionPage.objects.get(slug="politics"), title="By keys", body=BODY
    )
    narrate_revision(article.pk, article.live_revision_id)
    timings = Narration.objects.get(article=article).timings["paragraphs"]
    responses = fetched(client, [article.url, reverse("audio:full", args=[article.pk])])

    with browser_page(responses) as page:
        page.goto(article.url)
        page.wait_for_function(
            "() => document.querySelector('[data-narration-player][data-ready]')"
        )
        assert page.locator("[data-narration-player] audio").get_attribute("controls") is None
        assert page.locator("[data-role='controls']").is_visible()

        # One button per narrated paragraph, named after where it starts.
        assert page.locator(".narration-from").count() == len(timings) == 6
        names = page.eval_on_selector_all(
            ".narration-from", "els => els.map(e => e.getAttribute('aria-label'))"
        )
        assert names[0] == "Listen from here: The first paragraph, read first."
        assert names[1] == "Listen from here: A heading"
        assert names[5] == "Listen from here: The last paragraph is long enough\u2026"
        assert page.get_by_role("button", name="Listen from here: An item.").count() == 1

        # Tab goes from the player's last control through the paragraphs in
        # reading order.
        page.focus("[data-role='speed']")
        reached = []
        for _ in range(6):
            page.keyboard.press("Tab")
            reached.append(
                page.evaluate(
                    "document.activeElement.matches('.narration-from') && "
                    "document.activeElement.parentElement.dataset.paragraph"
                )
            )
        assert reached == ["0", "1", "2", "3", "4", "5"]

        # Shift+Tab back to the list item; its button shows while it has focus.
        for _ in range(2):
            page.keyboard.press("Shift+Tab")
        focused = "document.activeElement"
        assert page.evaluate(f"{focused}.parentElement.dataset.paragraph") == "3"
        assert page.evaluate(f"getComputedStyle({focused}).opacity") == "1"

        # Enter plays from that paragraph and highlights it.
        page.keyboard.press("Enter")
        page.wait_for_function("() => !document.querySelector('audio').paused")
        page.wait_for_selector("[data-paragraph='3'].narration-reading")
        position = page.evaluate("document.querySelector('audio').currentTime")
        assert timings[3][1] - 0.1 <= position < timings[3][2]

        # Space on the next paragraph's button moves the narration there.
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.wait_for_selector("[data-paragraph='4'].narration-reading")
        assert page.locator(".narration-reading").count() == 1
        position = page.evaluate("document.querySelector('audio').currentTime")
        assert timings[4][1] - 0.1 <= position < timings[4][2]


# --- The docked player and following the narration ---------------------------

LONG_BODY = BODY + [
    paragraph(f"<p>Filler paragraph {n}. " + "Several more words to read aloud. " * 12 + "</p>")
    for n in range(10)
]

NEXT_FRAMES = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
BAR = "document.querySelector('[data-role=bar]')"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_player_stays_on_screen_while_the_narration_plays(
    client, site_tree, tone_engine, width
):
    article = make_article(
        image=False, section=SectionPage.objects.get(slug="politics"), title="Long", body=LONG_BODY
    )
    narrate_revision(article.pk, article.live_revision_id)
    timings = Narration.objects.get(article=article).timings["paragraphs"]
    responses = fetched(client, [article.url, reverse("audio:full", args=[article.pk])])

    with browser_page(responses, viewport={"width": width, "height": 700}) as page:
        page.goto(article.url)
        page.wait_for_function(
            "() => document.querySelector('[data-narration-player][data-ready]')"
        )

        # Before anyone listens, the player scrolls away with the text.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.evaluate(NEXT_FRAMES)
        assert page.evaluate(f"getComputedStyle({BAR}).position") == "static"

        # Having listened from the first paragraph (and paused, so that nothing
        # moves the page but the test), scrolling down: the bar docks at the
        # foot of the window, whole and not covered by anything.
        page.evaluate("window.scrollTo(0, 0)")
        page.click("[data-paragraph='0']")
        page.wait_for_function("() => !document.querySelector('audio').paused")
        page.evaluate("document.querySelector('audio').pause()")
        page.wait_for_function("() => document.querySelector('audio').paused")
        top_before = page.evaluate(
            "document.querySelector('[data-paragraph=\"5\"]').getBoundingClientRect().top"
        )
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_selector(".narration-player.is-docked")
        assert page.evaluate(f"getComputedStyle({BAR}).position") == "fixed"
        bar = page.locator("[data-role='bar']").bounding_box()
        assert bar["y"] >= 0 and bar["y"] + bar["height"] <= 700 + 0.5
        assert bar["width"] == width
        assert bar["height"] < 120
        play = page.locator("[data-action='play']").bounding_box()
        centre = (play["x"] + play["width"] / 2, play["y"] + play["height"] / 2)
        assert page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('[data-action=play]') !== null",
            list(centre),
        )
        # The page kept the player's place: nothing in the text moved.
        page.evaluate("window.scrollTo(0, 0)")
        page.evaluate(NEXT_FRAMES)
        assert page.evaluate(
            "document.querySelector('[data-paragraph=\"5\"]').getBoundingClientRect().top"
        ) == pytest.approx(top_before, abs=1)
        page.wait_for_selector(".narration-player:not(.is-docked)")

        # A reader who has scrolled away is left there when the narration
        # reaches the next paragraph.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_selector(".narration-player.is-docked")
        scrolled = page.evaluate("window.scrollY")
        page.evaluate(
            "(() => { const a = document.querySelector('audio');"
            f" a.currentTime = {timings[2][1] + 0.05}; a.play(); }})()"
        )
        page.wait_for_function("() => !document.querySelector('audio').paused")
        page.wait_for_selector("[data-paragraph='2'].narration-reading")
        page.evaluate(NEXT_FRAMES)
        assert page.evaluate("window.scrollY") == scrolled

        # A reader following along is taken down the page with the narration.
        page.evaluate("document.querySelector('[data-paragraph=\"2\"]').scrollIntoView()")
        last = timings[-1]
        page.evaluate(f"document.querySelector('audio').currentTime = {last[1] + 0.05}")
        page.wait_for_selector(f"[data-paragraph='{last[0]}'].narration-reading")
        page.wait_for_function(
            f"""() => {{
                const box = document.querySelector('[data-paragraph="{last[0]}"]')
                    .getBoundingClientRect();
                return box.top >= 0 && box.bottom <= window.innerHeight - {BAR}.offsetHeight;
            }}"""
        )

        # Paused, the bar stays, to resume from; pressed on the docked bar.
        page.click("[data-action='play']")
        page.wait_for_function("() => document.querySelector('audio').paused")
        assert page.locator(".narration-player.is-docked").count() == 1

        # At the end of the narration the bar goes back to its place.
        page.evaluate(
            "(() => { const a = document.querySelector('audio');"
            " a.currentTime = a.duration - 0.3; a.play(); })()"
        )
        page.wait_for_function("() => document.querySelector('audio').ended")
        page.wait_for_selector(".narration-player:not(.is-docked)")
        assert page.evaluate(f"getComputedStyle({BAR}).position") == "static"


# --- The podcast page ------------------------------------------------------


def podcast_page(client, user):
    """The page as it is just after asking for a new private feed address."""
    client.force_login(user)
    html = client.post(reverse("audio:podcast_feed")).content
    responses = fetched(client, [])
    responses[reverse("audio:podcast_feed")] = (200, {"Content-Type": "text/html"}, html)
    start = html.index(b"http://testserver/audio/podcast/feed/")
    return responses, html[start : html.index(b".xml", start) + 4].decode()


@pytest.mark.parametrize("width", [1280, 390])
def test_podcast_page_shows_the_whole_address_and_copies_it(client, subscriber, width):
    responses, feed_url = podcast_page(client, subscriber)
    with browser_page(
        responses,
        origin="http://localhost",  # a secure context, where the clipboard API lives
        permissions=["clipboard-read", "clipboard-write"],
        viewport={"width": width, "height": 800},
    ) as page:
        page.goto(reverse("audio:podcast_feed"))
        field = page.get_by_label("Private feed address")
        assert field.input_value() == feed_url
        # All of it in sight: the field grew to fit it, nothing scrolled away.
        assert page.evaluate(
            "(() => { const f = document.getElementById('private-feed');"
            " return f.scrollHeight <= f.clientHeight && f.scrollWidth <= f.clientWidth; })()"
        )
        page.get_by_role("button", name="Copy the address").first.click()
        page.wait_for_function(
            "() => document.querySelector('#private-feed ~ p [data-copy-status]').textContent"
            " === 'Copied.'"
        )
        assert page.evaluate("navigator.clipboard.readText()") == feed_url

        # The apps' links are reached from the keyboard after the copy button.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Apple Podcasts"
        assert page.evaluate("document.activeElement.href") == "pcast://" + feed_url.removeprefix(
            "http://"
        )


def test_podcast_page_without_javascript_is_a_field_to_select(client, subscriber):
    responses, feed_url = podcast_page(client, subscriber)
    with browser_page(responses, java_script_enabled=False) as page:
        page.goto(reverse("audio:podcast_feed"))
        field = page.get_by_label("Private feed address")
        assert field.input_value() == feed_url
        assert field.get_attribute("readonly") is not None
        # No copy button that could not work; select and copy by hand.
        assert page.get_by_role("button", name="Copy the address").count() == 0
        field.focus()
        page.keyboard.press("Control+a")
        assert field.evaluate("f => f.value.slice(f.selectionStart, f.selectionEnd)") == feed_url
        hrefs = page.locator("#private-feed ~ ul a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert hrefs[0] == "pcast://" + feed_url.removeprefix("http://")
        assert len(hrefs) == 4


# --- Word by word ------------------------------------------------------------

WORDS_BODY = [
    paragraph("<p>The first paragraph, read first.</p>"),
    paragraph(
        '<p>Officials found $200 million in <a href="/report">the <em>annual</em> report</a>, '
        "said Sec. Blinken.</p>"
    ),
    ("block_quote", {"text": "We waited.\nLong enough.", "attribution": "A farmer"}),
]
SPOKEN = "document.querySelector('.narration-word.is-spoken')"
# A word split by markup ("report</a>,") is wrapped in one span per piece.
SPOKEN_TEXT = (
    "Array.from(document.querySelectorAll('.narration-word.is-spoken'))"
    ".map(s => s.textContent).join('')"
)


def word_starts(timing):
    _, start, _, steps = timing
    starts, at = [], start
    for step in steps:
        at += step / 100
        starts.append(at)
    return starts


def test_the_word_being_read_is_highlighted_and_advances(client, site_tree, tone_engine):
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        title="Words",
        body=WORDS_BODY,
    )
    narrate_revision(article.pk, article.live_revision_id)
    timings = Narration.objects.get(article=article).timings["paragraphs"]
    shown = [
        "Officials",
        "found",
        "$200",
        "million",
        "in",
        "the",
        "annual",
        "report,",
        "said",
        "Sec.",
        "Blinken.",
    ]
    assert len(timings[1][3]) == len(shown)
    starts = word_starts(timings[1])
    responses = fetched(client, [article.url, reverse("audio:full", args=[article.pk])])

    with browser_page(responses) as page:
        page.goto(article.url)
        page.wait_for_function(
            "() => document.querySelector('[data-narration-player][data-ready]')"
        )
        # Nothing is wrapped before the narration reaches a paragraph.
        assert page.locator(".narration-word").count() == 0

        # Listen from the second paragraph (it has a link in the middle).
        page.focus("[data-paragraph='1'] .narration-from")
        page.keyboard.press("Enter")
        page.wait_for_function("() => !document.querySelector('audio').paused")
        page.evaluate("document.querySelector('audio').pause()")
        page.wait_for_function("() => document.querySelector('audio').paused")
        # Only the paragraph being read has its words wrapped.
        assert page.locator("[data-paragraph='0'] .narration-word").count() == 0
        wrapped = page.eval_on_selector_all(
            "[data-paragraph='1'] .narration-word", "spans => spans.map(s => s.textContent)"
        )
        assert wrapped == shown[:7] + ["report", ","] + shown[8:]

        # Moving the narration along moves the highlight, one word at a time.
        seen = []
        for index in range(len(shown)):
            later = starts[index + 1] if index + 1 < len(starts) else timings[1][2]
            if later - starts[index] < 0.02:
                continue  # a word said with the next one
            at = (starts[index] + later) / 2
            page.evaluate(f"document.querySelector('audio').currentTime = {at}")
            page.wait_for_function(f"() => {SPOKEN_TEXT} === {shown[index]!r}")
            seen.append(index)
        assert len(seen) >= len(shown) - 2 and seen == sorted(seen)

        # The link and its emphasis are still there, around their words.
        link = page.locator("[data-paragraph='1'] a[href='/report']")
        assert link.inner_text() == "the annual report"
        assert link.locator("em .narration-word").inner_text() == "annual"
        assert page.evaluate(
            "document.querySelector('[data-paragraph=\"1\"]').textContent.trim()"
        ) == " ".join(shown)

        # No word is announced on its own: no live region in the text.
        assert page.locator("[data-paragraph] [aria-live]").count() == 0
        # The spoken word stands out from its paragraph's highlight.
        colours = page.evaluate(
            f"[getComputedStyle({SPOKEN}).backgroundColor,"
            " getComputedStyle(document.querySelector('.narration-reading')).backgroundColor]"
        )
        assert colours[0] != colours[1]

        # Into the first paragraph: its words are wrapped, the second's stay.
        page.evaluate(f"document.querySelector('audio').currentTime = {timings[0][1] + 0.01}")
        page.wait_for_selector("[data-paragraph='0'].narration-reading")
        first = word_starts(timings[0])
        page.evaluate(f"document.querySelector('audio').currentTime = {first[2] + 0.01}")
        page.wait_for_function(f"() => {SPOKEN} && {SPOKEN}.textContent === 'paragraph,'")
        assert page.locator(".narration-word.is-spoken").count() == 1

        # A block quote: its line break and its attribution's dash, as shown.
        quote = word_starts(timings[2])
        assert len(quote) == len(["We", "waited.", "Long", "enough.", "—", "A", "farmer"])
        page.evaluate(f"document.querySelector('audio').currentTime = {quote[2] + 0.01}")
        page.wait_for_function(f"() => {SPOKEN_TEXT} === 'Long'")
        page.evaluate(f"document.querySelector('audio').currentTime = {quote[6] + 0.01}")
        page.wait_for_function(f"() => {SPOKEN_TEXT} === 'farmer'")
        assert page.locator("blockquote cite .narration-word").count() == 2


def test_a_paragraph_whose_words_differ_is_highlighted_whole(client, site_tree, tone_engine):
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        title="Words",
        body=WORDS_BODY,
    )
    narrate_revision(article.pk, article.live_revision_id)
    narration = Narration.objects.get(article=article)
    # As if the page had been edited since: one word more than the timings.
    narration.timings["paragraphs"][1][3].pop()
    narration.save()
    responses = fetched(client, [article.url, reverse("audio:full", args=[article.pk])])

    with browser_page(responses) as page:
        page.goto(article.url)
        page.wait_for_function(
            "() => document.querySelector('[data-narration-player][data-ready]')"
        )
        page.focus("[data-paragraph='1'] .narration-from")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-paragraph='1'].narration-reading")
        page.evaluate("document.querySelector('audio').pause()")
        assert page.locator(".narration-word").count() == 0
        page.click("[data-paragraph='0']")
        page.wait_for_selector("[data-paragraph='0'] .narration-word.is-spoken")
