"""From an article to MP3 bytes, re-synthesising only what changed.

1. `plan_article` turns an article (as of a revision) into parts (headline,
   dek, byline, each body element, closing line) of normalised sentences,
   with the lexicon applied. Each sentence is a segment keyed by
   sha256(engine and voice + text).
2. Segments not in the cache (`Segment` rows, PCM files in private storage)
   are synthesised, by this process or by a pool of workers.
3. `render` builds each part: its segments joined with short pauses, a
   longer pause after it, mastered (-16 LUFS, true peak under -1 dBTP) and
   encoded as 64 kbps mono MP3. Encoded parts are cached too, keyed by their
   segments and pauses, so after an edit only the changed paragraph is
   mastered and encoded again; the narration is the parts' frames joined.
   Part boundaries, counted in MP3 frames, are the paragraph timings.
4. Where the engine said when each word starts (Piper's alignments, kept
   with each segment), a body paragraph's timing also carries when each of
   its displayed words is spoken (see words.py).
"""

import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from . import mastering
from .lexicon import Lexicon
from .models import Segment
from .script import LEAD_IN, SENTENCE_PAUSE, article_parts
from .words import compact, display_word_starts, sentence_word_starts, spoken_words

# Bump to re-master every cached part (the segment cache is kept).
MASTERING_VERSION = "3"
# Each part is encoded on its own, and a player hears LAME's encoder delay
# (576 samples) and the decoder's (529) before its first sample.
CODEC_DELAY_SAMPLES = 576 + 529


def private_storage():
    return storages["private"]


def magazine_name(page):
    from masthead.core.models import MagazineSettings

    site = page.get_site() if page.pk else None
    if site is not None:
        return MagazineSettings.for_site(site).name
    return MagazineSettings._meta.get_field("name").default


@dataclass
class PlannedPart:
    kind: str
    paragraph: int | None
    sentences: list
    keys: list
    pause_after: float
    text: str = ""


@dataclass
class Plan:
    """What one article's narration (full and teaser) needs."""

    full: list
    teaser: list
    texts: dict = field(default_factory=dict)  # segment key -> text

    @property
    def keys(self):
        return list(self.texts)


def plan_article(article, engine, lexicon=None, name=None):
    if lexicon is None:
        lexicon = Lexicon.from_database(supports_ipa=engine.supports_ipa)
    name = name or magazine_name(article)
    texts = {}

    def planned(parts):
        result = []
        for part in parts:
            keys = [Segment.key_for(sentence, engine.identity) for sentence in part.sentences]
            texts.update(zip(keys, part.sentences, strict=True))
            result.append(
                PlannedPart(
                    part.kind,
                    part.paragraph,
                    part.sentences,
                    keys,
                    part.pause_after,
                    part.shown or part.text,
                )
            )
        return result

    full = planned(article_parts(article, name, rewrite=lexicon.speakable))
    teaser = planned(article_parts(article, name, teaser=True, rewrite=lexicon.speakable))
    return Plan(full, teaser, texts)


# --- Segment cache -------------------------------------------------------


class SegmentCache:
    """Synthesised sentences: a `Segment` row each, PCM in private storage."""

    def __init__(self, storage=None):
        self.storage = storage or private_storage()
        self.fresh = {}  # key -> samples synthesised in this process
        # Keys synthesised again over a cached segment, and the parts encoded
        # since (see `render`).
        self.replaced: set[str] = set()
        self.encoded_parts: set[str] = set()

    def missing(self, texts, with_words=False):
        """{key: text} of the segments not cached yet (or, `with_words`,
        cached without word timings)."""
        known = Segment.objects.filter(key__in=list(texts))
        if with_words:
            known = known.filter(words__isnull=False)
        known = set(known.values_list("key", flat=True))
        return {key: text for key, text in texts.items() if key not in known}

    def store(self, key, text, samples, engine, words=None):
        pcm = np.clip(np.asarray(samples) * 32767.0, -32768, 32767).astype("<i2")
        name = f"audio/segments/{key[:2]}/{key}.pcm"
        if self.storage.exists(name):  # left by a run that stopped before its row
            self.storage.delete(name)
        name = self.storage.save(name, ContentFile(pcm.tobytes()))
        _, created = Segment.objects.update_or_create(
            key=key,
            defaults={
                "engine": engine.identity,
                "text": text,
                "sample_rate": engine.sample_rate,
                "samples": len(pcm),
                "file": name,
                "words": None if words is None else [round(s * 1000) for s in words],
            },
        )
        self.fresh[key] = pcm.astype(np.float32) / 32767.0
        if not created:
            self.replaced.add(key)

    def load(self, keys):
        """{key: float32 samples} for cached segments."""
        result = {key: self.fresh[key] for key in keys if key in self.fresh}
        wanted = [key for key in keys if key not in result]
        rows = {
            key: (name, samples)
            for key, name, samples in Segment.objects.filter(key__in=wanted).values_list(
                "key", "file", "samples"
            )
        }
        for key in wanted:
            if key not in rows:
                raise LookupError(f"segment {key} is not cached")
            name, samples = rows[key]
            try:
                with self.storage.open(name, "rb") as handle:
                    pcm = np.frombuffer(handle.read(), dtype="<i2")
            except FileNotFoundError:
                pcm = None
            if pcm is None or len(pcm) != samples:
                # Lost or damaged: forget it, so the next attempt synthesises it again.
                Segment.objects.filter(key=key).delete()
                raise LookupError(f"segment {key} is damaged or missing; it will be redone")
            result[key] = pcm.astype(np.float32) / 32767.0
        return result

    def touch(self, keys):
        Segment.objects.filter(key__in=list(keys)).update(last_used_at=timezone.now())


def synthesise(engine, texts):
    """(key, samples, word starts or None) for each {key: text}, one after the other."""
    for key, text in texts.items():
        samples, words = engine.synthesize_words(text)
        yield key, samples, words


# --- Rendering -----------------------------------------------------------


@dataclass
class Rendered:
    data: bytes  # MP3 frames, no tag
    duration: float
    # [[kind, paragraph, start, end]] in seconds
    parts: list
    parts_encoded: int = 0
    # {paragraph: [centiseconds from the paragraph's start to its first
    # displayed word, then from each word to the next]}
    words: dict = field(default_factory=dict)

    @property
    def timings(self):
        paragraphs = []
        for _, paragraph, start, end in self.parts:
            if paragraph is not None:
                words = self.words.get(paragraph)
                paragraphs.append([paragraph, start, end] + ([words] if words else []))
        return {"parts": self.parts, "paragraphs": paragraphs}


def part_key(part, engine, lead_in):
    material = "\n".join(
        [MASTERING_VERSION, engine.identity, f"{part.pause_after:.3f}", f"{SENTENCE_PAUSE:.3f}"]
        + [f"lead:{lead_in:.3f}"]
        + part.keys
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _silence(seconds, rate):
    return np.zeros(int(round(seconds * rate)), dtype=np.float32)


def encode_part(part, samples_by_key, rate, lead_in=0.0):
    """One part's MP3 frames: sentences, pauses, mastered and encoded."""
    pieces = [_silence(lead_in, rate)] if lead_in else []
    for position, key in enumerate(part.keys):
        if position:
            pieces.append(_silence(SENTENCE_PAUSE, rate))
        pieces.append(samples_by_key[key])
    pieces.append(_silence(part.pause_after, rate))
    audio = mastering.master(
        np.concatenate(pieces), rate, target=mastering.TARGET_LUFS + mastering.MP3_LOUDNESS_LOSS_DB
    )
    return mastering.encode_mp3(audio, rate)


def render(parts, engine, cache, storage=None):
    """Join the parts' cached or fresh encodings into one MP3 stream."""
    storage = storage or private_storage()
    chunks, timeline, position, encoded, words = [], [], 0.0, 0, {}
    segments = _segment_words([p for p in parts if p.paragraph is not None])
    for number, part in enumerate(parts):
        lead_in = LEAD_IN if number == 0 else 0.0
        key = part_key(part, engine, lead_in)
        name = f"audio/parts/{key[:2]}/{key}.mp3"
        # A sentence synthesised again (regenerated, or its file was lost)
        # need not last as long as before: its part is encoded again, so the
        # word timings count the samples the MP3 holds.
        redone = name not in cache.encoded_parts and not cache.replaced.isdisjoint(part.keys)
        data = None if redone else _cached_part(storage, name)
        if data is None:
            samples = cache.load(part.keys)
            data = encode_part(part, samples, engine.sample_rate, lead_in)
            if storage.exists(name):
                storage.delete(name)
            storage.save(name, ContentFile(data))
            cache.encoded_parts.add(name)
            encoded += 1
        length = mastering.duration(data)
        start = round(position, 3)
        timeline.append([part.kind, part.paragraph, start, round(position + length, 3)])
        if part.paragraph is not None:
            starts = part_word_starts(part, segments, lead_in)
            if starts is not None:
                words[part.paragraph] = compact([start + s for s in starts], start)
        position += length
        chunks.append(data)
    return Rendered(b"".join(chunks), position, timeline, encoded, words)


def _segment_words(parts):
    """{key: (sample rate, samples, word starts in ms or None)} of the parts' segments."""
    keys = {key for part in parts for key in part.keys}
    return {
        key: (rate, samples, words)
        for key, rate, samples, words in Segment.objects.filter(key__in=keys).values_list(
            "key", "sample_rate", "samples", "words"
        )
    }


def part_word_starts(part, segments, lead_in=0.0):
    """Seconds from a part's start to each of its displayed words, or None
    when a sentence has no word timings (synthesised before they were kept,
    or by an engine without them) or the words cannot be matched."""
    spoken, times, rate = [], [], None
    position = lead_in
    for number, (sentence, key) in enumerate(zip(part.sentences, part.keys, strict=True)):
        if key not in segments or segments[key][2] is None:
            return None
        rate, samples, word_ms = segments[key]
        if number:
            position += len(_silence(SENTENCE_PAUSE, rate)) / rate
        starts = sentence_word_starts(sentence, [ms / 1000 for ms in word_ms])
        if starts is None:
            return None
        spoken += spoken_words(sentence)
        times += [position + s for s in starts]
        position += samples / rate
    if rate is None:
        return None
    delay = CODEC_DELAY_SAMPLES / rate
    starts = display_word_starts(part.text, spoken, times, position)
    return None if starts is None else [delay + s for s in starts]


def _cached_part(storage, name):
    """A cached part's frames, or None when absent or damaged (a stopped write)."""
    if not storage.exists(name):
        return None
    with storage.open(name, "rb") as handle:
        data = handle.read()
    try:
        if data and mastering.duration(data) > 0:
            return data
    except ValueError:
        pass
    return None


def tagged(rendered, title, artist, album):
    """MP3 file bytes: an ID3 tag, then the frames."""
    buffer = io.BytesIO()
    buffer.write(mastering.id3_tag(title=title, artist=artist, album=album))
    buffer.write(rendered.data)
    return buffer.getvalue()
