"""Word timings: matching what the voice said to the words on the page, and
carrying them to the player only for readers who may hear the narration."""

import json
import re

import pytest

from masthead.audio.actions import narrate_revision
from masthead.audio.models import Narration, Segment
from masthead.audio.normalise import speakable
from masthead.audio.script import html_elements
from masthead.audio.words import compact, display_word_starts, sentence_word_starts, spoken_words
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph


def starts_for(text):
    """Each displayed word's start when the voice says one word a second."""
    spoken = [w for sentence in speakable(text) for w in spoken_words(sentence)]
    times = [float(n) for n in range(len(spoken))]
    return spoken, display_word_starts(text, spoken, times, float(len(spoken)))


def test_words_said_as_shown_start_with_themselves():
    spoken, starts = starts_for("Nobody expected the vote to be close.")
    assert spoken == ["Nobody", "expected", "the", "vote", "to", "be", "close."]
    assert starts == [0, 1, 2, 3, 4, 5, 6]


def test_a_number_starts_with_its_first_spoken_word():
    spoken, starts = starts_for("They found $200 million in new aid.")
    assert spoken[:6] == ["They", "found", "two", "hundred", "million", "dollars"]
    # "$200" is "two hundred"; "million" is matched; "dollars" belongs to it.
    assert starts == [0, 1, 2, 4, 6, 7, 8]


def test_abbreviations_and_dates():
    text = "Sec. Blinken arrived in St. Louis on Dec. 28, 2023."
    spoken, starts = starts_for(text)
    shown = text.split()
    assert len(starts) == len(shown)
    said = dict(zip(shown, [spoken[int(s)] for s in starts], strict=True))
    assert said["Sec."] == "Secretary" and said["St."] == "Saint"
    assert said["Louis"] == "Louis" and said["Dec."] == "December"
    assert starts == sorted(starts)


def test_a_dash_shown_but_not_said_starts_with_the_next_word():
    shown = "A start \u2014 not an end."
    spoken = ["A", "start,", "not", "an", "end."]
    assert display_word_starts(shown, spoken, [0, 1, 2, 3, 4], 5) == [0, 1, 2, 2, 3, 4]


def test_punctuation_and_case_do_not_stop_a_match():
    shown = "\u201cA start,\u201d she said; \u201cnot an end!\u201d"
    spoken = ["A", "start,", "she", "said;", "not", "an", "end!"]
    assert display_word_starts(shown, spoken, list(range(7)), 7) == list(range(7))


def test_a_link_inside_a_paragraph_counts_its_words_like_the_page():
    html = '<p>Read <a href="/x">the full <em>report</em></a> on the 2023\u201324 budget.</p>'
    [(_, text)] = html_elements(html)
    assert text == "Read the full report on the 2023\u201324 budget."
    spoken, starts = starts_for(text)
    assert len(starts) == 8
    assert [spoken[int(s)] for s in starts[:6]] == ["Read", "the", "full", "report", "on", "the"]
    assert spoken[int(starts[7])] == "budget."


def test_a_paragraph_that_is_not_what_was_said_gets_no_word_timings():
    spoken = ["Something", "else", "entirely", "was", "read."]
    assert display_word_starts("The text on the page.", spoken, list(range(5)), 5) is None
    assert display_word_starts("", spoken, list(range(5)), 5) is None


def test_engine_words_joined_or_split_are_spread_in_order():
    assert sentence_word_starts("At nine thirty p.m.", [0.0, 0.2, 0.5, 0.9]) == [0, 0.2, 0.5, 0.9]
    # espeak read "p m" as one word: five words, four starts.
    assert sentence_word_starts("At nine thirty p m.", [0.0, 0.2, 0.5, 0.9]) == [
        0, 0.0, 0.2, 0.5, 0.9,
    ]  # fmt: skip
    assert spoken_words("Said by [[ wˈɪn ]] today.") == ["Said", "by", "\ue000", "today."]


def test_compact_steps_add_up_to_the_starts():
    starts = [10.004, 10.25, 10.25, 11.996]
    steps = compact(starts, 10.0)
    assert steps == [0, 25, 0, 175]
    total = 10.0
    for step, start in zip(steps, starts, strict=True):
        total += step / 100
        assert total == pytest.approx(start, abs=0.006)


# --- Narrations ---------------------------------------------------------------

BODY = [
    paragraph('<p>The opening costs $200 million, says <a href="/r">the report</a>.</p>'),
    ("teaser_break", None),
    paragraph("<p>The gated paragraph, by Dr. Peña.</p>"),
]


@pytest.fixture
def gated(site_tree, tone_engine):
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        title="Words",
        body=BODY,
        access_level="subscribers",
    )
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    return article


def player_timings(client, article):
    html = client.get(article.url).content.decode()
    timings_id = re.search(r'data-timings="([^"]+)"', html).group(1)
    found = re.search(rf'id="{timings_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_narration_keeps_word_timings_in_the_audio_timeline(gated):
    narration = Narration.objects.get(article=gated)
    first, second = narration.timings["paragraphs"]
    assert len(first[3]) == len(
        ["The", "opening", "costs", "$200", "million,", "says", "the", "report."]
    )
    assert len(second[3]) == 6
    for _, start, end, steps in (first, second):
        words = [start + sum(steps[: n + 1]) / 100 for n in range(len(steps))]
        assert start < words[0] < start + 0.5 and words[-1] < end
        assert words == sorted(words)
    # Every segment keeps its engine's word starts, in milliseconds.
    assert all(isinstance(w, list) and w for w in Segment.objects.values_list("words", flat=True))


@pytest.mark.django_db
def test_segments_made_without_word_timings_until_regenerated(gated, tone_engine):
    Segment.objects.update(words=None)
    revision = gated.save_revision()
    revision.publish()
    tone_engine.clear()
    assert narrate_revision(gated.pk, revision.pk) == "ready"
    assert tone_engine == []  # all from the cache: paragraph highlighting only
    narration = Narration.objects.get(article=gated)
    assert [len(p) for p in narration.timings["paragraphs"]] == [3, 3]
    # The editors' regenerate synthesises them again, with their word timings.
    assert narrate_revision(gated.pk, revision.pk, force=True) == "ready"
    assert tone_engine
    narration = Narration.objects.get(article=gated)
    assert [len(p) for p in narration.timings["paragraphs"]] == [4, 4]


ACCESS = [("anonymous", 1), ("member", 1), ("subscriber", 2)]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "paragraphs"), ACCESS)
def test_word_timings_reach_only_those_who_may_hear(client, gated, who, paragraphs, request):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    timings = player_timings(client, gated)
    assert [t[0] for t in timings] == list(range(paragraphs))
    assert all(len(t) == 4 for t in timings)
    narration = Narration.objects.get(article=gated)
    expected = narration.timings if paragraphs == 2 else narration.teaser_timings
    assert timings == expected["paragraphs"]


@pytest.mark.django_db
def test_a_narrated_article_with_word_timings_weighs_at_most_60_kb(client, site_tree, tone_engine):
    """About 1,000 words read aloud: the page with its timings, stylesheets and
    scripts (pictures and fonts apart) stays within the article budget."""
    from pathlib import Path

    from django.conf import settings
    from django.contrib.staticfiles import finders

    from tests.audio.articles import make_long_article

    article = make_long_article(SectionPage.objects.get(slug="politics"))
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    timings = Narration.objects.get(article=article).timings["paragraphs"]
    assert sum(len(t) == 4 for t in timings) >= 14
    response = client.get(article.url)
    total = len(response.content)
    html = response.content.decode()
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    links += re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert any("audio/player.js" in link for link in links)
    for address in links:
        if address.startswith(settings.STATIC_URL):
            found = finders.find(address.removeprefix(settings.STATIC_URL).split("?")[0])
            total += Path(found).stat().st_size
        else:
            total += len(client.get(address).content)
    assert total <= 60 * 1024, total


@pytest.mark.django_db
def test_a_block_quote_is_matched_as_the_page_shows_it(site_tree):
    from masthead.audio.script import body_elements

    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        body=[("block_quote", {"text": "We waited.\nLong enough.", "attribution": "A farmer"})],
    )
    [(kind, text, shown)] = body_elements(article.body)
    assert (kind, text) == ("quote", "We waited.\nLong enough.\nA farmer.")
    assert shown == "We waited.\nLong enough.\n\u2014 A farmer"  # block_quote.html
    spoken = [w for sentence in speakable(text) for w in spoken_words(sentence)]
    starts = display_word_starts(shown, spoken, list(range(len(spoken))), len(spoken))
    assert starts == [0, 1, 2, 3, 4, 4, 5]  # the dash starts with "A"
