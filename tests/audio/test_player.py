"""The player on the article page, and who gets which audio URL.

Subscribers are made by patching billing's `current_entitlement` (see the
`subscriber` fixture) until billing lands.
"""

import json
import re

import pytest
from django.urls import reverse

from masthead.audio.actions import narrate_revision
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

pytestmark = pytest.mark.django_db

BODY = [
    paragraph("<p>The first paragraph is free.</p>"),
    ("figure_placeholder", None),
    ("pull_quote", {"text": "Pulled, not read.", "attribution": ""}),
    paragraph("<p>The second paragraph is free too.</p><ul><li>A list item.</li></ul>"),
    ("teaser_break", None),
    ("heading", "Behind the paywall"),
    ("block_quote", {"text": "A quoted source.", "attribution": "Someone"}),
    paragraph("<p>The gated paragraph.</p>"),
]


@pytest.fixture
def articles(site_tree, tone_engine):
    section = SectionPage.objects.get(slug="politics")
    body = [block for block in BODY if block[0] != "figure_placeholder"]
    free = make_article(image=False, section=section, title="A free article", body=body)
    gated = make_article(
        image=False, section=section, title="A gated article", body=body, access_level="subscribers"
    )
    for article in (free, gated):
        assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    return {"free": free, "gated": gated}


def full_url(article):
    return reverse("audio:full", args=[article.pk])


def teaser_url(article):
    return reverse("audio:teaser", args=[article.pk])


def player_html(client, article):
    response = client.get(article.url)
    assert response.status_code == 200
    html = response.content.decode()
    match = re.search(r"<section class=\"narration-player\".*?</section>", html, re.S)
    return html, match.group(0) if match else ""


def test_player_markup_is_keyboard_accessible(client, articles):
    html, player = player_html(client, articles["free"])
    assert "data-narration-player" in player
    # The browser's own controls until the script takes over (and without it).
    url = full_url(articles["free"])
    assert (
        f'<audio controls preload="none" src="{url}">'
        f'<a href="{url}">Download the narration (MP3)</a></audio>'
    ) in player
    assert '<div class="narration-player__controls" data-role="controls" hidden>' in player
    for label in ("Play the narration", "Back 15 seconds", "Forward 15 seconds", "Seek"):
        assert f'aria-label="{label}"' in player
    assert '<input type="range"' in player and 'data-role="seek"' in player
    assert player.count('<button type="button"') == 3
    speeds = re.findall(r'<option value="([\d.]+)"', player)
    assert speeds == ["0.75", "1", "1.25", "1.5", "1.75", "2"]
    assert "/static/audio/player.js" in html
    # The player sits right after the article header.
    assert (
        html.index("</header>", html.index("article__header"))
        < html.index("data-narration-player")
        < html.index("article__body")
    )


def test_player_timings_match_the_readable_elements(client, articles):
    _, player = player_html(client, articles["free"])
    timings_id = re.search(r'data-timings="([^"]+)"', player).group(1)
    timings = json.loads(
        re.search(
            rf'<script id="{timings_id}" type="application/json">(.*?)</script>', player, re.S
        ).group(1)
    )
    # Paragraph one, paragraph two, its list item, heading, block quote, gated paragraph.
    assert [t[0] for t in timings] == [0, 1, 2, 3, 4, 5]
    starts = [t[1] for t in timings]
    assert starts == sorted(starts)
    duration = float(re.search(r'data-duration="([\d.]+)"', player).group(1))
    assert timings[-1][2] < duration


ACCESS_CASES = [
    ("anonymous", "gated", "teaser"),
    ("member", "gated", "teaser"),
    ("subscriber", "gated", "full"),
    ("staff", "gated", "full"),
    ("anonymous", "free", "full"),
    ("member", "free", "full"),
]


@pytest.mark.parametrize(("who", "which", "audio"), ACCESS_CASES)
def test_page_gets_the_audio_its_reader_may_hear(client, articles, who, which, audio, request):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    article = articles[which]
    html, player = player_html(client, article)
    if audio == "full":
        assert f'src="{full_url(article)}"' in player
        assert teaser_url(article) not in html
    else:
        assert f'src="{teaser_url(article)}"' in player
        # The full narration's address is never sent to a reader without access.
        assert full_url(article) not in html
        assert "The full narration is for subscribers." in player
        timings_id = re.search(r'data-timings="([^"]+)"', player).group(1)
        teaser_timings = json.loads(
            re.search(
                rf'id="{timings_id}" type="application/json">(.*?)</script>', player, re.S
            ).group(1)
        )
        assert [t[0] for t in teaser_timings] == [0, 1, 2]


def test_no_player_without_a_narration(client, site_tree):
    article = make_article(image=False, section=SectionPage.objects.get(slug="politics"))
    html = client.get(article.url).content.decode()
    assert "data-narration-player" not in html
    assert "player.js" not in html


def test_player_script_numbers_paragraphs_like_the_narration():
    from pathlib import Path

    from masthead.audio import script

    source = (Path(__file__).resolve().parents[2] / "static/audio/player.js").read_text()
    readable = re.search(r'var READABLE = "([^"]+)"', source).group(1)
    skipped = re.search(r'var SKIPPED = "([^"]+)"', source).group(1)
    assert {tag.strip() for tag in readable.split(",")} == script.READABLE_TAGS
    assert {tag.strip() for tag in skipped.split(",")} - {
        "[data-narration-skip]",
        "[data-paywall]",
    } == (script.SKIPPED_CONTAINERS)
    for feature in ("localStorage", "playbackRate", "scrollIntoView", "data-paragraph"):
        assert feature in source
