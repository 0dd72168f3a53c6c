"""Narration with the real Piper voice: duration, loudness, true peak, a valid
64 kbps mono MP3 (decoded back in Chromium when it is installed) and
paragraph timings that cover the audio."""

import base64
import shutil

import numpy as np
import pyloudnorm
import pytest
from django.core.files.storage import storages
from scipy import signal

from masthead.audio import engines, mastering
from masthead.audio.actions import narrate_revision
from masthead.audio.models import Narration, NarrationStatus, Pronunciation
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BODY = [
    paragraph(
        "<p>Sec. Blinken arrived in St. Louis on Dec. 28, 2023, with $200 million in "
        "new aid. The talks, the first since the 1990s, lasted until 9:30 p.m.</p>"
    ),
    paragraph("<p>Dr. Peña, who holds a Ph.D., said the plan for 2023–24 was a start.</p>"),
    ("pull_quote", {"text": "A start, not an end.", "attribution": ""}),
    paragraph("<p>NATO and the EU will meet again in March. Nobody expects a deal.</p>"),
]


@pytest.fixture
def piper(settings):
    settings.NARRATION_ENGINE = "piper"
    return engines.get_engine("piper")


def true_peak_dbtp(samples):
    """Independent of the pipeline: 4x polyphase oversampling with scipy."""
    return 20 * np.log10(np.abs(signal.resample_poly(samples, 4, 1)).max())


def decode_in_chromium(data):
    """(sample rate, float32 samples) decoded by the browser's MP3 decoder."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (make setup installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            decoded = browser.new_page().evaluate(
                """async (b64) => {
                  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                  const context = new OfflineAudioContext(1, 1, 22050);
                  const audio = await context.decodeAudioData(bytes.buffer);
                  const raw = new Uint8Array(audio.getChannelData(0).buffer);
                  let text = "";
                  for (let i = 0; i < raw.length; i += 32768) {
                    text += String.fromCharCode.apply(null, raw.subarray(i, i + 32768));
                  }
                  return {rate: audio.sampleRate, channels: audio.numberOfChannels,
                          samples: btoa(text)};
                }""",
                base64.b64encode(data).decode(),
            )
        finally:
            browser.close()
    assert decoded["channels"] == 1
    samples = np.frombuffer(base64.b64decode(decoded["samples"]), dtype=np.float32)
    return decoded["rate"], samples


def test_piper_narration_of_a_short_article(site_tree, piper):
    Pronunciation.objects.create(phrase="Peña", respelling="Penya", ipa="pˈeɪnjə")
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="politics"),
        title="Talks resume in St. Louis",
        dek="A first meeting in years.",
        body=BODY,
    )
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    narration = Narration.objects.get(article=article)
    assert narration.status == NarrationStatus.READY, narration.error
    assert (narration.engine, narration.voice) == ("piper", "en_US-joe-medium")

    data = storages["private"].open(narration.audio_file).read()
    frames = list(mastering.frames(data))
    assert frames and all(
        (f.bitrate, f.channels, f.sample_rate) == (64000, 1, 22050) for f in frames
    )
    # About 75 words at a news-reading pace, plus pauses.
    assert 20 < narration.duration < 60
    assert narration.duration == pytest.approx(mastering.duration(data), abs=0.01)
    # 64 kbps constant bitrate: the size follows from the duration.
    assert len(data) == pytest.approx(narration.duration * 8000, rel=0.02)

    parts = narration.timings["parts"]
    assert [p[0] for p in parts] == [
        "headline", "dek", "byline", "paragraph", "paragraph", "paragraph", "closing",
    ]  # fmt: skip
    assert parts[0][2] == 0 and parts[-1][3] == pytest.approx(narration.duration, abs=0.01)
    for before, after in zip(parts, parts[1:], strict=False):
        assert after[2] == pytest.approx(before[3], abs=0.002) and after[3] > after[2]
    assert [p[0] for p in narration.timings["paragraphs"]] == [0, 1, 2]
    # Each paragraph lasts about as long as its words take to say.
    lengths = [end - start for _, start, end, *_ in narration.timings["paragraphs"]]
    assert lengths[0] > lengths[1] > 2 and lengths[2] > 2
    # And each displayed word has its start, from the voice's alignments.
    shown = [
        len(text.split())
        for text in (
            "Sec. Blinken arrived in St. Louis on Dec. 28, 2023, with $200 million in new aid. "
            "The talks, the first since the 1990s, lasted until 9:30 p.m.",
            "Dr. Peña, who holds a Ph.D., said the plan for 2023–24 was a start.",
            "NATO and the EU will meet again in March. Nobody expects a deal.",
        )
    ]
    for (_, start, end, steps), count in zip(narration.timings["paragraphs"], shown, strict=True):
        assert len(steps) == count
        assert start + sum(steps) / 100 < end

    rate, decoded = decode_in_chromium(data)
    assert rate == 22050
    assert len(decoded) / rate == pytest.approx(narration.duration, abs=0.1)
    loudness = pyloudnorm.Meter(rate).integrated_loudness(decoded.astype(np.float64))
    assert loudness == pytest.approx(-16, abs=1)
    assert true_peak_dbtp(decoded) <= -1.0

    # The teaser narration exists too (all of this short article is free).
    teaser = storages["private"].open(narration.teaser_file).read()
    assert mastering.duration(teaser) == pytest.approx(narration.teaser_duration, abs=0.01)


def test_piper_says_when_each_word_starts(piper):
    samples, starts = piper.synthesize_words("Nobody expects a deal, said Win.")
    assert len(starts) == 6
    assert starts == sorted(starts) and len(set(starts)) == 6
    # The first word starts as the trimmed audio does; the last well before its end.
    assert 0 <= starts[0] < 0.1
    assert starts[-1] < len(samples) / piper.sample_rate - 0.1
    # Each word starts where the voice is quiet or just rising, not mid-vowel:
    # the first 10 ms after a start are quieter than the loudest 10 ms.
    window = int(0.01 * piper.sample_rate)
    loudest = max(
        np.abs(samples[i : i + window]).mean() for i in range(0, len(samples) - window, window)
    )
    quiet_starts = sum(
        np.abs(samples[int(s * piper.sample_rate) :][:window]).mean() < loudest / 2 for s in starts
    )
    assert quiet_starts >= 4


def test_piper_reads_lexicon_ipa(piper):
    plain = piper.synthesize("Nguyen.")
    ipa = piper.synthesize("[[ wˈɪn ]].")
    assert len(plain) > 0 and len(ipa) > 0
    assert piper.load().phonemize("[[ wˈɪn ]] spoke")[0][:4] == ["w", "ˈ", "ɪ", "n"]


def test_piper_session_uses_one_thread(piper):
    voice = piper.load()
    options = voice.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
