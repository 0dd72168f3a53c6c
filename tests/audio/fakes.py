"""A fast stand-in speech engine, for counting what gets synthesised.

It makes a tone whose length follows the text, so timings and loudness
still mean something. The real Piper voice is exercised in test_piper.py.
No Django imports: worker processes load it too.
"""

import re

import numpy as np

from masthead.audio.engines import Engine


class ToneEngine(Engine):
    name = "tone"
    voice = "test-tone"
    sample_rate = 22050
    supports_ipa = True
    word_timings = True
    calls = []  # every text synthesised, in this process

    def synthesize(self, text):
        return self.synthesize_words(text)[0]

    def synthesize_words(self, text):
        """The tone, and word starts spaced like the words' letters."""
        type(self).calls.append(text)
        seconds = 0.25 + 0.02 * len(text)
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        pitch = 180 + (sum(map(ord, text)) % 80)
        fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
        samples = (0.1 * fade * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
        starts = [0.02 * m.start() for m in re.finditer(r"\S+", re.sub(r"\[\[.*?\]\]", "x", text))]
        return samples, starts


class BrokenEngine(Engine):
    name = "broken"
    voice = "broken"

    def synthesize(self, text):
        raise RuntimeError("the voice model is corrupt")
