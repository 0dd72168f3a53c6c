"""The engine interface: chosen by setting, espeak-ng as the fallback."""

import shutil

import numpy as np
import pytest

from masthead.audio import engines
from masthead.audio.engines import EngineUnavailable, EspeakEngine, get_engine, trim_silence

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make setup adds it)"
)


def test_engine_is_chosen_by_setting(settings):
    settings.NARRATION_ENGINE = "tests.audio.fakes.ToneEngine"
    engines._loaded.pop(settings.NARRATION_ENGINE, None)
    assert get_engine().name == "tone"
    assert get_engine() is get_engine()  # loaded once per process


def test_unknown_engine_says_so():
    with pytest.raises(EngineUnavailable, match="Unknown narration engine"):
        engines.engine_class("festival voice")


def test_missing_espeak_binary_is_explained(monkeypatch):
    engine = EspeakEngine()
    monkeypatch.setattr(engine, "binary", "espeak-ng-not-installed")
    with pytest.raises(EngineUnavailable, match="espeak-ng"):
        engine.load()


@needs_espeak
def test_espeak_engine_speaks():
    engine = EspeakEngine()
    engine.load()
    samples = engine.synthesize("Secretary Blinken arrived in Saint Louis.")
    assert samples.dtype == np.float32 and engine.sample_rate == 22050
    assert 1.0 < len(samples) / engine.sample_rate < 6.0
    assert np.abs(samples).max() > 0.05


@needs_espeak
@pytest.mark.django_db
def test_espeak_narrates_an_article(settings, site_tree):
    from masthead.audio.actions import narrate_revision
    from masthead.audio.models import Narration
    from masthead.newsroom.models import SectionPage
    from tests.factories import make_article, paragraph

    settings.NARRATION_ENGINE = "espeak"
    article = make_article(
        image=False,
        section=SectionPage.objects.get(slug="technology"),
        body=[paragraph("<p>Short and plain.</p>")],
    )
    assert narrate_revision(article.pk, article.live_revision_id) == "ready"
    narration = Narration.objects.get(article=article)
    assert (narration.engine, narration.voice) == ("espeak", "en-us")
    assert narration.duration > 2


def test_trim_silence_keeps_a_margin():
    rate = 1000
    samples = np.concatenate([np.zeros(500), np.ones(100) * 0.5, np.zeros(500)]).astype(np.float32)
    trimmed = trim_silence(samples, rate, keep=0.04)
    assert len(trimmed) == 100 + 2 * 40
    assert len(trim_silence(np.zeros(100, dtype=np.float32), rate)) == 0
