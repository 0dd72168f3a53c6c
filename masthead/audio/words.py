"""Word timings: when each word shown on the page is spoken.

The voice reads normalised sentences ("$200" becomes "two hundred
dollars"), so its words are not the page's. The two lists are matched on the
words they share (a longest common subsequence of lower-cased letters and
digits); the words between two matches are shared out in order, so "$200"
starts with "two", and a word that is shown but not said (a dash) starts
with the next one said, so it is never highlighted alone. A paragraph with
too little in common gets no word timings: the player then highlights the
paragraph only.

The page's words are its text split at white space, which is how
static/audio/player.js counts them (it checks the count before it uses
the timings).
"""

import re

# Lexicon entries reach Piper as "[[ phonemes ]]": one word, however spelt.
_IPA = re.compile(r"\[\[.*?\]\]")
# Fewer shared words than this share of a paragraph's: not the same text.
MIN_SHARED = 1 / 3


def display_words(text):
    return re.findall(r"\S+", text)


def spoken_words(sentence):
    return _IPA.sub("\ue000", sentence).split()


def _key(word):
    return "".join(c for c in word.lower() if c.isalnum())


def sentence_word_starts(sentence, starts):
    """A start (seconds) for each of `sentence`'s spoken words.

    `starts` are the engine's, one per word it spoke; espeak sometimes joins
    or splits words ("p.m."), and then they are spread over the text's words
    in order.
    """
    words = spoken_words(sentence)
    if not words or not starts:
        return None
    if len(starts) == len(words):
        return list(starts)
    return [starts[(n * len(starts)) // len(words)] for n in range(len(words))]


def _shared(shown, spoken):
    """[(shown index, spoken index)] of a longest common subsequence."""
    rows, columns = len(shown), len(spoken)
    table = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(columns - 1, -1, -1):
            if shown[i] and shown[i] == spoken[j]:
                row[j] = below[j + 1] + 1
            else:
                row[j] = max(below[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < rows and j < columns:
        if shown[i] and shown[i] == spoken[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def display_word_starts(text, spoken, times, end):
    """When each of `text`'s displayed words starts, or None.

    `spoken` are the words read (in order), `times` their starts, `end` when
    the reading ends; all times in the same unit.
    """
    shown = display_words(text)
    if not shown or not spoken or len(spoken) != len(times):
        return None
    pairs = _shared([_key(w) for w in shown], [_key(w) for w in spoken])
    if len(pairs) < MIN_SHARED * len(shown):
        return None
    starts = [0.0] * len(shown)
    anchors = [(-1, -1), *pairs, (len(shown), len(spoken))]
    for (i0, j0), (i1, j1) in zip(anchors, anchors[1:], strict=False):
        if i0 >= 0:
            starts[i0] = times[j0]
        between = range(i0 + 1, i1)
        said = range(j0 + 1, j1)
        for position, i in enumerate(between):
            if said:
                starts[i] = times[said[(position * len(said)) // len(between)]]
            else:
                starts[i] = times[j1] if j1 < len(times) else end
    return starts


def compact(starts, origin):
    """Starts as centiseconds, each after the one before (the first after
    `origin`): small numbers for the page to carry."""
    result, previous = [], origin
    for start in starts:
        step = max(0, round((start - previous) * 100))
        result.append(step)
        previous += step / 100
    return result
