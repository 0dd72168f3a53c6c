"""Loudness, true peak, MP3 encoding and MP3/ID3 bytes.

Narrations are mastered to -16 LUFS integrated (the podcast norm) with true
peak at or below -1 dBTP, and encoded as 64 kbps mono MP3 with LAME.
Loudness is measured as ITU-R BS.1770-4 with pyloudnorm's K-weighting
filters (its gating loop is vectorised here). True peak is estimated by 4x
oversampling, as BS.1770 annex 2 describes.

MP3 streams with the same format can be joined frame by frame: LAME starts
each stream without borrowing from a previous frame (no bit reservoir across
the join), so a narration is the concatenation of its parts' encodings.
"""

import struct

import numpy as np

# pyloudnorm and scipy are imported where they are used: together they take
# over a second to import, which every process (web, worker, each command)
# would pay at start-up for the narrations only the worker masters.

TARGET_LUFS = -16.0
# 64 kbps LAME encoding measures about this much quieter once decoded; parts
# are mastered this much louder so the MP3 lands on the target.
MP3_LOUDNESS_LOSS_DB = 0.45
# Ceiling before encoding, below the -1 dBTP limit: MP3 coding adds overshoot.
PEAK_CEILING_DBTP = -2.0
BITRATE_KBPS = 64
LAME_QUALITY = 7
OVERSAMPLING = 4

_BLOCK_SECONDS = 0.4
_BLOCK_STEP = 0.1


_K_FILTERS: dict[object, object] = {}


def _k_weighted(samples, rate):
    """Samples through pyloudnorm's K-weighting filters (one second-order
    section each), run as a single float32 `sosfilt`."""
    import pyloudnorm
    from scipy import signal

    sos = _K_FILTERS.get(rate)
    if sos is None:
        stages = pyloudnorm.Meter(rate)._filters.values()
        sos = np.array(
            [np.concatenate([s.passband_gain * s.b / s.a[0], s.a / s.a[0]]) for s in stages]
        )
        _K_FILTERS[rate] = sos
    return signal.sosfilt(sos.astype(np.float32), np.asarray(samples, dtype=np.float32))


def integrated_loudness(samples, rate):
    """Gated loudness in LUFS of mono samples (BS.1770-4), -inf for silence."""
    samples = np.asarray(samples, dtype=np.float32)
    block = int(round(_BLOCK_SECONDS * rate))
    if len(samples) < block:
        # Shorter than one gating block: repeat it (the mean square is kept).
        samples = np.resize(samples, block) if len(samples) else np.zeros(block)
    weighted = _k_weighted(samples, rate)
    energy = np.concatenate([[0.0], np.cumsum(np.square(weighted, dtype=np.float64))])
    count = int(np.round((len(samples) / rate - _BLOCK_SECONDS) / _BLOCK_STEP)) + 1
    starts = (np.arange(count) * _BLOCK_STEP * rate).astype(np.int64)
    ends = np.minimum(starts + block, len(samples))
    z = (energy[ends] - energy[starts]) / block
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(z)
    gated = z[loudness >= -70.0]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10.0
    gated = z[(loudness > relative) & (loudness > -70.0)]
    if not len(gated):
        return float("-inf")
    return float(-0.691 + 10 * np.log10(gated.mean()))


_PHASES = None
# Interpolation can lift a peak above the highest sample by a few dB at most;
# only samples within this many dB of the loudest one are oversampled.
_SEARCH_DB = 4.0


def _polyphase():
    """(offsets, coefficients) per 4x phase, as in BS.1770-4 annex 2 (48 taps)."""
    global _PHASES
    if _PHASES is None:
        from scipy import signal

        taps = 12 * OVERSAMPLING
        fir = signal.firwin(taps, 0.98 / OVERSAMPLING) * OVERSAMPLING
        delay = (taps - 1) // 2
        phases = []
        for phase in range(OVERSAMPLING):
            ahead, first = divmod(phase + delay, OVERSAMPLING)
            coefficients = fir[first::OVERSAMPLING]
            offsets = ahead - np.arange(len(coefficients))
            phases.append((offsets, coefficients))
        _PHASES = phases
    return _PHASES


def true_peak_envelope(samples, floor=None):
    """|x| per sample, raised to the highest 4x-oversampled value after it.

    Only samples louder than `floor` (default: 4 dB under the sample peak)
    and their neighbours are oversampled: quieter stretches cannot reach it.
    """
    samples = np.asarray(samples, dtype=np.float32)
    envelope = np.abs(samples)
    if not len(samples):
        return envelope
    if floor is None:
        floor = envelope.max() * 10 ** (-_SEARCH_DB / 20)
    loud = envelope >= floor
    loud[:-1] |= loud[1:]  # and the sample before: the peak may lie between them
    candidates = np.flatnonzero(loud)
    if not len(candidates):
        return envelope
    pad = 16
    padded = np.pad(samples, pad)
    windows = padded[candidates[:, None] + np.arange(-pad, pad + 1)[None, :] + pad]
    for offsets, coefficients in _polyphase():
        values = np.abs(windows[:, offsets + pad] @ coefficients.astype(np.float32))
        envelope[candidates] = np.maximum(envelope[candidates], values)
    return envelope


def true_peak(samples):
    """True peak in dBTP (-inf for silence)."""
    if not len(samples) or not np.any(samples):
        return float("-inf")
    return float(20 * np.log10(true_peak_envelope(samples).max()))


def limit(samples, rate, ceiling_dbtp=PEAK_CEILING_DBTP, window=0.01):
    """Smoothly turn down the few peaks above the ceiling.

    The gain wanted at each sample is min-filtered and then averaged over the
    same width, so it is never above what any sample nearby needs and has no
    steps to click.
    """
    from scipy import ndimage

    ceiling = 10 ** (ceiling_dbtp / 20)
    envelope = true_peak_envelope(samples, floor=ceiling * 10 ** (-_SEARCH_DB / 20))
    if envelope.max() <= ceiling:
        return samples
    wanted = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-12))
    # Worked on blocks of 8 samples (a block's gain is at most any of its
    # samples' wanted gain), which is 8 times less work and just as smooth.
    step = 8
    over = np.flatnonzero(wanted < 1.0)
    start = max(0, (over[0] // step - 4) * step - 2 * int(window * rate))
    end = min(len(wanted), over[-1] + 2 * int(window * rate) + 4 * step)
    region = wanted[start:end]
    padded = np.pad(region, (0, -len(region) % step), constant_values=1.0)
    blocks = padded.reshape(-1, step).min(axis=1)
    width = max(3, int(window * rate / step) | 1)
    gain = ndimage.minimum_filter1d(blocks, width, mode="nearest")
    gain = ndimage.uniform_filter1d(gain, width, mode="nearest")
    limited = np.array(samples, dtype=np.float32)
    limited[start:end] *= np.repeat(gain, step)[: end - start].astype(np.float32)
    return limited


def master(samples, rate, target=TARGET_LUFS, ceiling=PEAK_CEILING_DBTP):
    """Samples brought to `target` LUFS with true peak under `ceiling` dBTP.

    Gain, then the limiter; limiting takes a little loudness away, so the
    gain is raised by what is missing and the original limited again.
    """
    original = np.asarray(samples, dtype=np.float32)
    loudness = integrated_loudness(original, rate) if len(original) else float("-inf")
    if not np.isfinite(loudness):
        return original
    gain_db, previous = target - loudness, None
    for _ in range(6):
        samples = limit(original * np.float32(10 ** (gain_db / 20)), rate, ceiling)
        loudness = integrated_loudness(samples, rate)
        if abs(loudness - target) <= 0.15:
            break
        # Secant step: how much loudness the last gain change actually bought.
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-3:
            slope = (loudness - previous[1]) / (gain_db - previous[0])
            slope = min(1.0, max(0.2, slope))
        previous = (gain_db, loudness)
        gain_db += (target - loudness) / slope
    for _ in range(3):
        if true_peak(samples) <= ceiling + 0.01:
            break
        samples = limit(samples, rate, ceiling - 0.3)
    return samples


def encode_mp3(samples, rate, bitrate=BITRATE_KBPS, quality=LAME_QUALITY):
    """64 kbps constant-bitrate mono MP3 frames (no tags) for float samples."""
    import lameenc

    pcm = np.clip(np.asarray(samples) * 32767.0, -32768, 32767).astype("<i2")
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate)
    encoder.set_in_sample_rate(rate)
    encoder.set_out_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(quality)
    data = bytes(encoder.encode(pcm.tobytes())) + bytes(encoder.flush())
    return strip_tags(data)


# --- MP3 frames ----------------------------------------------------------

_BITRATES = {
    1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
_SAMPLE_RATES = {
    3: [44100, 48000, 32000],  # MPEG-1
    2: [22050, 24000, 16000],  # MPEG-2
    0: [11025, 12000, 8000],  # MPEG-2.5
}


class Frame:
    __slots__ = ("offset", "length", "bitrate", "sample_rate", "channels", "samples", "is_tag")

    def __init__(self, offset, length, bitrate, sample_rate, channels, samples, is_tag):
        self.offset = offset
        self.length = length
        self.bitrate = bitrate
        self.sample_rate = sample_rate
        self.channels = channels
        self.samples = samples
        self.is_tag = is_tag


def parse_frame_header(data, offset):
    """The Layer III frame starting at `offset`, or None if there is none."""
    if offset + 4 > len(data):
        return None
    header = int.from_bytes(data[offset : offset + 4], "big")
    if header >> 21 != 0x7FF:
        return None
    version = (header >> 19) & 3
    layer = (header >> 17) & 3
    bitrate_index = (header >> 12) & 15
    rate_index = (header >> 10) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    padding = (header >> 9) & 1
    mono = ((header >> 6) & 3) == 3
    bitrate = _BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    sample_rate = _SAMPLE_RATES[version][rate_index]
    if version == 3:
        length, samples, side = 144 * bitrate // sample_rate + padding, 1152, 17 if mono else 32
    else:
        length, samples, side = 72 * bitrate // sample_rate + padding, 576, 9 if mono else 17
    tag_at = offset + 4 + side
    is_tag = data[tag_at : tag_at + 4] in (b"Xing", b"Info")
    return Frame(offset, length, bitrate, sample_rate, 1 if mono else 2, samples, is_tag)


def id3_size(data):
    """Length of a leading ID3v2 tag (0 when there is none)."""
    if len(data) >= 10 and data[:3] == b"ID3":
        size = data[6:10]
        footer = 10 if data[5] & 0x10 else 0
        return 10 + footer + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    return 0


def frames(data):
    """Every MP3 frame in `data`, after any ID3v2 tag; raises ValueError on junk."""
    offset = id3_size(data)
    end = len(data)
    if data[-128:-125] == b"TAG":
        end -= 128
    while offset < end:
        frame = parse_frame_header(data, offset)
        if frame is None:
            raise ValueError(f"no MP3 frame at byte {offset}")
        if offset + frame.length > end:
            raise ValueError(f"truncated MP3 frame at byte {offset}")
        yield frame
        offset += frame.length


def strip_tags(data):
    """Only the audio frames: ID3 tags and LAME's Xing/Info frame removed."""
    return b"".join(
        bytes(data[f.offset : f.offset + f.length]) for f in frames(data) if not f.is_tag
    )


def duration(data):
    """Seconds of audio in MP3 bytes, counted frame by frame."""
    return sum(f.samples / f.sample_rate for f in frames(data) if not f.is_tag)


# --- ID3v2.3 tags --------------------------------------------------------


def _text_frame(frame_id, text):
    body = b"\x01" + "\ufeff".encode("utf-16-le") + text.encode("utf-16-le") + b"\x00\x00"
    return _frame(frame_id, body)


def _frame(frame_id, body):
    return frame_id.encode("ascii") + struct.pack(">I", len(body)) + b"\x00\x00" + body


def id3_tag(title="", artist="", album="", chapters=()):
    """An ID3v2.3 tag; `chapters` are (start_s, end_s, title) -> CHAP + CTOC."""
    body = b""
    if title:
        body += _text_frame("TIT2", title)
    if artist:
        body += _text_frame("TPE1", artist)
    if album:
        body += _text_frame("TALB", album)
    body += _text_frame("TCON", "Podcast")
    if chapters:
        ids = [f"chp{n}".encode("ascii") for n in range(len(chapters))]
        body += _frame(
            "CTOC",
            b"toc\x00"
            + bytes([0x03, len(ids)])
            + b"".join(i + b"\x00" for i in ids)
            + _text_frame("TIT2", album or title or "Chapters"),
        )
        for element_id, (start, end, chapter_title) in zip(ids, chapters, strict=True):
            body += _frame(
                "CHAP",
                element_id
                + b"\x00"
                + struct.pack(">IIII", int(start * 1000), int(end * 1000), 0xFFFFFFFF, 0xFFFFFFFF)
                + _text_frame("TIT2", chapter_title),
            )
    size = len(body)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + body
