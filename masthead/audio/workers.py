"""Synthesis in worker processes: one engine per process, loaded once.

This module imports no Django models, so `spawn`ed workers start without
setting up the ORM; they only turn sentences into samples.
"""

import os
import time

_engine = None


def start(engine_name, threads=1):
    """Pool initializer: load this process's engine (one intra-op thread)."""
    global _engine
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    from .engines import engine_class

    engine = engine_class(engine_name)()
    if hasattr(engine, "threads"):
        engine.threads = threads
    engine.load()
    _engine = engine


def synthesise(key, text):
    """(key, float32 samples, sample rate, seconds of compute, word starts or None)."""
    started = time.process_time()
    samples, words = _engine.synthesize_words(text)
    return key, samples, _engine.sample_rate, time.process_time() - started, words
