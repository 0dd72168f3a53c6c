"""Narrating many articles at once with one worker process per core.

Each worker loads its own engine once, with one intra-op thread; the main
process plans articles, keeps the cache and masters and encodes each article
as soon as its last sentence is back. Sentences are handed out a few at a
time, so every worker stays busy until the end. Articles already narrated
for their live revision are skipped, so a stopped run resumes where it left
off (sentences synthesised before the stop are in the cache).
"""

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from django.db import close_old_connections, connections

from . import workers
from .actions import fail_narration, finish_narration, start_narration
from .engines import engine_class
from .models import Narration, NarrationStatus
from .pipeline import SegmentCache


@dataclass
class Stats:
    articles: int = 0
    narrated: int = 0
    skipped: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    segments_synthesised: int = 0
    synthesis_cpu_seconds: float = 0.0  # in the workers
    main_cpu_seconds: float = 0.0  # planning, caching, mastering, encoding
    wall_seconds: float = 0.0
    errors: list = field(default_factory=list)

    @property
    def real_time_factor(self):
        """Seconds of narration per second of wall-clock time."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0

    def cpu_bound_factor(self, cores):
        """What the run would give with `cores` cores to itself: seconds of
        narration per second of its CPU time spread over the cores."""
        cpu = self.synthesis_cpu_seconds + self.main_cpu_seconds
        return self.audio_seconds / (cpu / cores) if cpu else 0.0


def needs_narration(article, force=False):
    if force:
        return True
    narration = Narration.objects.filter(article=article).first()
    return not (
        narration
        and narration.status == NarrationStatus.READY
        and narration.has_audio
        and narration.narrated_revision_id == article.live_revision_id
    )


def narrate_all(articles, workers_count=None, engine_name=None, force=False, progress=None):
    """Narrate `articles` (live pages); returns Stats. `progress(stats)` after each."""
    from django.conf import settings

    engine_name = engine_name or settings.NARRATION_ENGINE
    workers_count = max(1, workers_count or os.cpu_count() or 1)
    engine = engine_class(engine_name)()
    stats = Stats()
    todo = deque()
    for article in articles:
        stats.articles += 1
        if article.live_revision_id and needs_narration(article, force):
            todo.append(article)
        else:
            stats.skipped += 1
    if progress:
        progress(stats)
    if not todo:
        return stats

    started, cpu_started = time.monotonic(), time.process_time()
    cache = SegmentCache()
    connections.close_all()
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers_count,
        mp_context=context,
        initializer=workers.start,
        initargs=(engine_name, 1),
    )
    queue = deque()  # (key, text) waiting for a worker
    waiting = {}  # key -> [jobs]
    in_flight = {}  # future -> key
    remaining = {}  # id(job) -> set of keys
    jobs = []
    done = set()  # keys stored this run

    def finish(job):
        try:
            finish_narration(job, engine, cache)
        except Exception as error:  # recorded on the narration, the run goes on
            stats.failed += 1
            stats.errors.append(f"{job.page.title}: {error}")
            fail_narration(job.narration.pk, job.revision.pk, str(error))
        else:
            stats.narrated += 1
            stats.audio_seconds += Narration.objects.get(pk=job.narration.pk).duration
        jobs.remove(job)
        if progress:
            stats.wall_seconds = time.monotonic() - started
            progress(stats)

    def start_next():
        article = todo.popleft()
        try:
            job = start_narration(article.pk, article.live_revision_id, engine, force=force)
        except Exception as error:
            stats.failed += 1
            stats.errors.append(f"{article.title}: {error}")
            return
        if job is None:
            stats.skipped += 1
            return
        jobs.append(job)
        keys = {key for key in job.missing if key not in done}
        remaining[id(job)] = keys
        if not keys:
            finish(job)
            return
        for key in keys:
            if key not in waiting:
                waiting[key] = []
                queue.append((key, job.plan.texts[key]))
            waiting[key].append(job)

    try:
        while todo or queue or in_flight:
            while len(in_flight) < workers_count * 3 and (queue or todo):
                if not queue:
                    start_next()
                    continue
                key, text = queue.popleft()
                in_flight[pool.submit(workers.synthesise, key, text)] = key
            if not in_flight:
                continue
            finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in finished:
                key = in_flight.pop(future)
                owners = waiting.pop(key, [])
                try:
                    _, samples, rate, cpu, words = future.result()
                    engine.sample_rate = rate
                    cache.store(key, owners[0].plan.texts[key], samples, engine, words)
                except Exception as error:
                    for job in owners:
                        if job in jobs:
                            jobs.remove(job)
                            stats.failed += 1
                            stats.errors.append(f"{job.page.title}: {error}")
                            fail_narration(job.narration.pk, job.revision.pk, str(error))
                    continue
                done.add(key)
                stats.segments_synthesised += 1
                stats.synthesis_cpu_seconds += cpu
                for job in owners:
                    keys = remaining.get(id(job))
                    if keys is None or job not in jobs:
                        continue
                    keys.discard(key)
                    if not keys:
                        finish(job)
                close_old_connections()
    except BaseException:
        # Stopped: put unfinished narrations back in the queue state.
        for job in jobs:
            Narration.objects.filter(pk=job.narration.pk, status=NarrationStatus.RUNNING).update(
                status=NarrationStatus.QUEUED
            )
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    stats.wall_seconds = time.monotonic() - started
    stats.main_cpu_seconds = time.process_time() - cpu_started
    return stats
