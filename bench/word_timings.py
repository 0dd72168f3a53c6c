"""Bench: what Piper's word alignments cost the narration.

Synthesises the same sentences with the Piper voice as the narration loads
it (one thread) with the alignment output and without, alternating rounds so
that both see the same machine, and prints the ratio of their times:

    .venv/bin/python bench/word_timings.py [--rounds N]

Needs the `onnx` package (requirements.txt) for the aligned model.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from masthead.audio.engines import PiperEngine

SENTENCES = [
    "Secretary Blinken arrived in Saint Louis on December twenty-eighth, with two "
    "hundred million dollars in new aid.",
    "The talks, the first since the nineteen nineties, lasted until nine thirty p m.",
    "Doctor Peña, who holds a P h D, said the plan was a start, not an end.",
    "Nobody expects a deal.",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    aligned, plain = PiperEngine(), PiperEngine(alignments=False)
    aligned.load()
    plain.load()
    if not aligned.aligned:
        sys.exit("The onnx package is missing: no alignments to measure.")
    times = {"with word timings": 0.0, "without": 0.0}
    words = 0
    for engine in (aligned, plain):
        engine.synthesize_words("Warm up.")
    for _ in range(args.rounds):
        for name, engine in (("with word timings", aligned), ("without", plain)):
            started = time.process_time()
            for sentence in SENTENCES:
                _, starts = engine.synthesize_words(sentence)
                words += len(starts or ())
            times[name] += time.process_time() - started
    for name, seconds in times.items():
        print(f"{name:>18}: {seconds:6.2f} s CPU")
    print(f"ratio (with / without): {times['with word timings'] / times['without']:.3f}")
    print(f"word starts returned: {words}")


if __name__ == "__main__":
    main()
