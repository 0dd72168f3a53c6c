"""Loudness, true peak, the limiter, MP3 frames and ID3 chapters."""

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from masthead.audio import mastering

RATE = 22050


def speechlike(seconds=12.0, seed=1):
    """Noise shaped like speech: bursts of syllables with pauses and plosive peaks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = signal.lfilter([1.0], [1.0, -0.92], rng.standard_normal(n))
    t = np.arange(n) / RATE
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    words = (np.sin(2 * np.pi * 0.4 * t) > -0.3).astype(float)
    audio = 0.02 * noise * syllables * words
    for position in rng.integers(0, n - 100, 20):  # plosives
        audio[position : position + 40] += 0.2 * np.hanning(40)
    return audio.astype(np.float32)


@pytest.mark.parametrize("seconds", [0.2, 0.45, 3.0, 12.0])
def test_loudness_matches_pyloudnorm(seconds):
    audio = speechlike(seconds)
    ours = mastering.integrated_loudness(audio, RATE)
    if seconds >= 0.4:
        reference = pyloudnorm.Meter(RATE).integrated_loudness(audio.astype(np.float64))
        assert ours == pytest.approx(reference, abs=0.01)
    else:  # shorter than a gating block: measured as if repeated
        repeated = np.resize(audio, int(0.4 * RATE)).astype(np.float64)
        assert ours == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(repeated), abs=0.01)


def test_loudness_of_silence():
    assert mastering.integrated_loudness(np.zeros(RATE, dtype=np.float32), RATE) == float("-inf")


def test_true_peak_finds_peaks_between_samples():
    n = np.arange(4000)
    # A quarter-rate sine sampled 45 degrees off its crest: samples miss the peak by 3 dB.
    sine = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)
    assert 20 * np.log10(np.abs(sine).max()) == pytest.approx(-9.03, abs=0.01)
    assert mastering.true_peak(sine) == pytest.approx(-6.02, abs=0.1)
    audio = speechlike()
    reference = 20 * np.log10(np.abs(signal.resample_poly(audio, 4, 1)).max())
    assert mastering.true_peak(audio) == pytest.approx(reference, abs=0.15)
    assert mastering.true_peak(np.zeros(10)) == float("-inf")


def test_limiter_holds_the_ceiling_and_only_turns_down():
    audio = speechlike() * 8  # far too loud
    limited = mastering.limit(audio, RATE, -2.0)
    assert mastering.true_peak(limited) <= -1.9
    assert np.all(np.abs(limited) <= np.abs(audio) + 1e-6)
    quiet = speechlike() * 0.1
    assert mastering.limit(quiet, RATE, -2.0) is quiet


@pytest.mark.parametrize("scale", [0.05, 1.0, 6.0])
def test_master_reaches_target_loudness_under_the_ceiling(scale):
    audio = speechlike() * scale
    mastered = mastering.master(audio, RATE)
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(mastered.astype(np.float64))
    assert loudness == pytest.approx(-16, abs=0.3)
    peak = 20 * np.log10(np.abs(signal.resample_poly(mastered, 4, 1)).max())
    assert peak <= mastering.PEAK_CEILING_DBTP + 0.2 <= -1.0


def test_master_leaves_silence_alone():
    silence = np.zeros(RATE, dtype=np.float32)
    assert not np.any(mastering.master(silence, RATE))


def test_mp3_is_64kbps_mono_cbr_without_tag_frames():
    audio = mastering.master(speechlike(5), RATE)
    data = mastering.encode_mp3(audio, RATE)
    frames = list(mastering.frames(data))
    assert {(f.bitrate, f.sample_rate, f.channels) for f in frames} == {(64000, RATE, 1)}
    assert not any(f.is_tag for f in frames)
    assert frames[0].offset == 0 and sum(f.length for f in frames) == len(data)
    # LAME adds a little delay and padding, never much.
    assert 5.0 < mastering.duration(data) < 5.0 + 0.2


def test_joined_streams_are_one_valid_stream():
    first = mastering.encode_mp3(mastering.master(speechlike(2, 1), RATE), RATE)
    second = mastering.encode_mp3(mastering.master(speechlike(3, 2), RATE), RATE)
    joined = first + second
    assert mastering.duration(joined) == pytest.approx(
        mastering.duration(first) + mastering.duration(second)
    )


def test_frames_reject_junk_and_truncation():
    data = mastering.encode_mp3(speechlike(1), RATE)
    with pytest.raises(ValueError, match="truncated"):
        list(mastering.frames(data[:-50]))
    with pytest.raises(ValueError, match="no MP3 frame"):
        list(mastering.frames(b"not an mp3 at all"))


def test_id3_tag_is_skipped_and_stripped():
    data = mastering.encode_mp3(speechlike(1), RATE)
    tagged = mastering.id3_tag(title="Título", artist="Ana Peña", album="The Review") + data
    assert tagged[:3] == b"ID3"
    assert mastering.duration(tagged) == pytest.approx(mastering.duration(data))
    assert mastering.strip_tags(tagged) == data


def test_id3_chapters():
    from tests.audio.test_feeds import read_id3_chapters

    tag = mastering.id3_tag(
        title="Issue 22",
        album="The Review",
        chapters=[(0, 61.5, "The first article"), (61.5, 130.25, "José's piece")],
    )
    assert read_id3_chapters(tag) == [
        (0, 61500, "The first article"),
        (61500, 130250, "José's piece"),
    ]
