"""The editors' pronunciation lexicon, applied around the normaliser.

Entries are matched in the raw sentence (longest phrase first, whole words)
and swapped for private-use placeholders, so the normaliser leaves them
alone; after normalising, each placeholder becomes the respelling or, for an
engine that reads IPA (Piper), "[[ ipa ]]".
"""

import re
from dataclasses import dataclass

from .normalise import normalise, split_sentences

_PLACEHOLDER_BASE = 0xE000


@dataclass(frozen=True)
class Entry:
    phrase: str
    respelling: str = ""
    ipa: str = ""
    match_case: bool = False

    def spoken(self, supports_ipa):
        if self.ipa and supports_ipa:
            return f"[[ {self.ipa.strip()} ]]"
        return self.respelling or self.phrase


class Lexicon:
    def __init__(self, entries=(), supports_ipa=True):
        self.entries = [e for e in entries if e.phrase.strip()]
        self.supports_ipa = supports_ipa
        self._patterns = []
        for case_sensitive in (True, False):
            chosen = sorted(
                (e for e in self.entries if e.match_case == case_sensitive),
                key=lambda e: len(e.phrase),
                reverse=True,
            )
            if chosen:
                alternation = "|".join(_phrase_pattern(e.phrase) for e in chosen)
                flags = 0 if case_sensitive else re.IGNORECASE
                lookup = {e.phrase if case_sensitive else e.phrase.lower(): e for e in chosen}
                self._patterns.append(
                    (re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", flags), lookup, case_sensitive)
                )

    @classmethod
    def from_database(cls, supports_ipa=True):
        from .models import Pronunciation

        entries = [
            Entry(p.phrase, p.respelling, p.ipa, p.match_case) for p in Pronunciation.objects.all()
        ]
        return cls(entries, supports_ipa)

    def protect(self, text):
        """(text with placeholders, [spoken form per placeholder])."""
        spoken = []

        for pattern, lookup, case_sensitive in self._patterns:

            def swap(match, lookup=lookup, case_sensitive=case_sensitive):
                found = match.group(0)
                entry = lookup.get(found if case_sensitive else found.lower())
                if entry is None:  # whitespace differs from the entry
                    key = re.sub(r"\s+", " ", found)
                    entry = lookup.get(key if case_sensitive else key.lower())
                if entry is None:
                    return found
                spoken.append(entry.spoken(self.supports_ipa))
                return chr(_PLACEHOLDER_BASE + len(spoken) - 1)

            text = pattern.sub(swap, text)
        return text, spoken

    @staticmethod
    def restore(text, spoken):
        for position, words in enumerate(spoken):
            text = text.replace(chr(_PLACEHOLDER_BASE + position), words)
        return text

    def speakable(self, text):
        """Normalised sentences of a paragraph with the lexicon applied."""
        result = []
        for sentence in split_sentences(text):
            protected, spoken = self.protect(sentence)
            words = self.restore(normalise(protected), spoken)
            if not re.search(r"\w|\[\[", words):
                continue
            if not re.search(r"[.!?]['\")\]]*$", words):
                words = words.rstrip(",;:") + "."
            result.append(words)
        return result


def _phrase_pattern(phrase):
    return r"\s+".join(re.escape(word) for word in phrase.split())
