"""Narrating articles: what is read, the segment cache, files and retries.

These use the fast tone engine (tests/audio/fakes.py) to count what is
synthesised; test_piper.py narrates with the real voice.
"""

import pytest
from django.core.files.storage import storages

from masthead.audio import mastering
from masthead.audio.actions import (
    MAX_ATTEMPTS,
    narrate_revision,
    regenerate_narration,
    request_narration,
)
from masthead.audio.lexicon import Entry, Lexicon
from masthead.audio.models import Narration, NarrationStatus, Pronunciation, Segment
from masthead.audio.script import article_parts, body_elements, html_elements
from masthead.newsroom.models import SectionPage
from tests.audio.articles import long_body, make_long_article, paragraph_text
from tests.factories import make_article, paragraph

pytestmark = pytest.mark.django_db


@pytest.fixture
def politics(site_tree):
    return SectionPage.objects.get(slug="politics")


def narrate(article):
    article.refresh_from_db()
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    return Narration.objects.get(article=article)


def republish_with(article, body):
    article.refresh_from_db()
    article.body = body
    article.save_revision().publish()
    article.refresh_from_db()
    return article


# --- What is read --------------------------------------------------------


def test_parts_in_reading_order_without_captions_or_pull_quotes(politics):
    article = make_long_article(politics, dek="A deal, at last?")
    parts = article_parts(article, "The Meridian Review")
    kinds = [part.kind for part in parts]
    assert kinds[:3] == ["headline", "dek", "byline"]
    assert kinds[-1] == "closing"
    assert parts[0].sentences == ["The long road to a river deal."]
    assert parts[1].sentences == ["A deal, at last?"]
    assert parts[2].text.startswith("By Writer ")
    assert parts[-1].sentences == [
        "You have been listening to an article from The Meridian Review."
    ]
    spoken = " ".join(" ".join(part.sentences) for part in parts)
    assert "A caption never read" not in spoken  # figure captions are skipped
    assert "A pulled line" not in spoken  # pull quotes repeat the body
    assert "We have waited long enough. A farmer in Iowa." in spoken  # block quote read
    assert "What happens next." in spoken  # headings read
    assert "First, the money." in spoken and "Second, the timetable." in spoken  # lists
    # Body paragraphs are numbered like the page's readable elements.
    body = [part for part in parts if part.paragraph is not None]
    assert [part.paragraph for part in body] == list(range(len(body)))
    assert sum(1 for part in body if part.kind == "paragraph") == 14 + 2  # two list items


def test_body_elements_number_rich_text_like_the_player():
    html = (
        "<p>One.</p><ul><li>Two<ul><li>Three</li></ul></li><li>Four</li></ul>"
        "<h3>Five</h3><p></p><p>Six <b>bold</b><br/>and a line.</p>"
    )
    assert html_elements(html) == [
        ("p", "One."),
        ("li", "Two"),
        ("li", "Three"),
        ("li", "Four"),
        ("h3", "Five"),
        ("p", "Six bold\nand a line."),
    ]


def test_teaser_narration_reads_the_teaser_blocks_only(politics):
    body = [
        paragraph("<p>Free one.</p>"),
        paragraph("<p>Free two.</p>"),
        ("teaser_break", None),
        paragraph("<p>Gated three.</p>"),
    ]
    article = make_article(politics, body=body, access_level="subscribers")
    teaser = article_parts(article, "The Meridian Review", teaser=True)
    spoken = [s for part in teaser for s in part.sentences]
    assert "Free two." in spoken and "Gated three." not in spoken
    assert (
        teaser[-1].sentences[-1] == "The full narration is for subscribers of The Meridian Review."
    )
    full = [s for part in article_parts(article, "M") for s in part.sentences]
    assert "Gated three." in full


def test_a_thousand_word_article(politics):
    long_body()
    words = sum(len(paragraph_text(n).split()) for n in range(14))
    assert words >= 900
    assert len(body_elements(make_long_article(politics).body)) == 14 + 1 + 1 + 2


# --- The narration -------------------------------------------------------


def test_narration_files_timings_and_mp3(politics, tone_engine):
    article = make_long_article(politics)
    narration = narrate(article)
    assert narration.status == NarrationStatus.READY
    assert narration.narrated_revision_id == article.live_revision_id
    assert narration.engine == "tone" and narration.voice == "test-tone"
    storage = storages["private"]
    data = storage.open(narration.audio_file).read()
    assert narration.audio_file.startswith(f"audio/narrations/{article.pk}/")
    assert narration.audio_size == len(data)
    assert data[:3] == b"ID3"
    frames = list(mastering.frames(data))
    assert {(f.bitrate, f.channels, f.sample_rate) for f in frames} == {(64000, 1, 22050)}
    assert narration.duration == pytest.approx(mastering.duration(data), abs=0.01)
    # Parts cover the audio end to end, in order.
    parts = narration.timings["parts"]
    assert parts[0][2] == 0
    for before, after in zip(parts, parts[1:], strict=False):
        assert before[3] == pytest.approx(after[2], abs=0.002)
        assert after[3] > after[2]
    assert parts[-1][3] == pytest.approx(narration.duration, abs=0.01)
    paragraphs = narration.timings["paragraphs"]
    assert [p[0] for p in paragraphs] == list(range(len(paragraphs)))
    # The teaser is shorter and ends with its own closing line.
    assert 0 < narration.teaser_duration < narration.duration / 3
    assert storage.exists(narration.teaser_file)
    assert len(narration.teaser_timings["paragraphs"]) == 2
    assert narration.segment_count == narration.synthesised_count == len(set(tone_engine))


def test_editing_one_paragraph_resynthesises_only_its_sentences(politics, tone_engine):
    article = make_long_article(politics)
    first = narrate(article)
    total = first.segment_count
    assert total > 60
    old_file = first.audio_file

    tone_engine.clear()
    body = long_body(image=None)
    edited = next(i for i, (kind, value) in enumerate(body) if "Paragraph 9 " in str(value))
    body[edited] = paragraph(
        "<p>This paragraph was rewritten. It now has three sentences. Nothing else changed.</p>"
    )
    republish_with(article, body)
    second = narrate(article)

    assert second.synthesised_count == 3
    assert tone_engine == [
        "This paragraph was rewritten.",
        "It now has three sentences.",
        "Nothing else changed.",
    ]
    assert second.narrated_revision_id == article.live_revision_id
    assert second.audio_file != old_file
    # Narrating the same revision again synthesises nothing.
    tone_engine.clear()
    assert narrate_revision(article.pk, article.live_revision_id, force=True) == "ready"
    assert tone_engine == []


def test_request_narration_is_idempotent_by_revision(
    politics, tone_engine, django_capture_on_commit_callbacks
):
    article = make_article(politics)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_narration(article)
        request_narration(article)
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        request_narration(article, force=True)
    narration = Narration.objects.get(article=article)
    assert narration.status == NarrationStatus.READY
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_narration(article)
    assert callbacks == []


def test_publishing_enqueues_narration_on_commit(
    politics, tone_engine, settings, django_capture_on_commit_callbacks
):
    settings.NARRATE_ON_PUBLISH = True
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article(politics)
    narration = Narration.objects.get(article=article)
    assert narration.status == NarrationStatus.READY
    assert narration.narrated_revision_id == article.live_revision_id
    assert tone_engine  # it was synthesised


def test_publishing_does_not_narrate_in_tests_by_default(politics, tone_engine):
    article = make_article(politics)
    assert not Narration.objects.filter(article=article).exists()


def test_failures_are_retried_then_shown_and_old_audio_kept(
    politics, tone_engine, settings, django_capture_on_commit_callbacks
):
    article = make_article(politics)
    good = narrate(article)
    republish_with(article, [paragraph("<p>A changed text that needs a new voice.</p>")])
    settings.NARRATION_ENGINE = "tests.audio.fakes.BrokenEngine"
    with django_capture_on_commit_callbacks(execute=True):
        request_narration(article)
    narration = Narration.objects.get(article=article)
    assert narration.status == NarrationStatus.FAILED
    assert narration.attempts == MAX_ATTEMPTS
    assert "the voice model is corrupt" in narration.error
    # The earlier audio still plays; nothing half-written replaced it.
    assert narration.audio_file == good.audio_file
    assert storages["private"].exists(good.audio_file)
    assert narration.narrated_revision_id == good.narrated_revision_id
    # Regenerating with a working engine recovers.
    settings.NARRATION_ENGINE = "tests.audio.fakes.ToneEngine"
    with django_capture_on_commit_callbacks(execute=True):
        regenerate_narration(article)
    narration.refresh_from_db()
    assert narration.status == NarrationStatus.READY and narration.error == ""
    assert narration.audio_file != good.audio_file
    assert not storages["private"].exists(good.audio_file)  # removed after the swap


def test_an_older_revision_does_not_overwrite_a_newer_request(politics, tone_engine):
    article = make_article(politics)
    old_revision = article.live_revision_id
    republish_with(article, [paragraph("<p>Newer words.</p>")])
    request_narration(article)
    assert narrate_revision(article.pk, old_revision) == "skipped"
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"


# --- The lexicon ---------------------------------------------------------


def test_lexicon_ipa_for_piper_and_respelling_elsewhere():
    entries = [
        Entry("Nguyen", respelling="Win", ipa="wˈɪn"),
        Entry("Siobhan", respelling="Shiv-awn"),
        Entry("NATO", respelling="Nay-toe", match_case=True),
    ]
    piper = Lexicon(entries, supports_ipa=True)
    assert piper.speakable("Dr. Nguyen met Siobhan at 9 a.m.") == [
        "Doctor [[ wˈɪn ]] met Shiv-awn at nine A-M."
    ]
    espeak = Lexicon(entries, supports_ipa=False)
    assert espeak.speakable("nguyen and Nato; NATO.") == ["Win and Nato; Nay-toe."]


def test_lexicon_entries_change_only_the_sentences_that_use_them(politics, tone_engine):
    article = make_article(
        politics,
        body=[paragraph("<p>Siobhan spoke first. Nobody else did.</p>")],
    )
    narrate(article)
    Pronunciation.objects.create(phrase="Siobhan", respelling="Shiv-awn")
    tone_engine.clear()
    narration = regenerate_and_run(article)
    assert tone_engine == ["Shiv-awn spoke first."]
    assert narration.synthesised_count == 1
    assert Segment.objects.filter(text="Shiv-awn spoke first.").exists()


def regenerate_and_run(article):
    """The regenerate button, then the queued task (run here, outside the test's
    transaction, where on-commit callbacks never fire)."""
    narration = regenerate_narration(article)
    assert narration.status == NarrationStatus.QUEUED
    narrate_revision(article.pk, narration.revision_id, force=True)
    narration.refresh_from_db()
    return narration
