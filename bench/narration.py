"""Bench: narration throughput for the archive, and the cost of an edit.

Creates a throwaway magazine in a temporary SQLite database (MASTHEAD_VAR_DIR
points at a temporary folder unless set), loads the demo magazine (24
articles of about 1,000 words; a corpus built from the demo article files, or
generated text, if the loader is unavailable) and narrates it with the Piper
voice, one worker process per core:

    .venv/bin/python bench/narration.py [--workers N] [--articles N] [--keep]

Prints the archive throughput, in seconds of audio per second of wall-clock
compute (target: at least 30x real time), and the cost of re-narrating one
article after a one-paragraph edit, as a fraction of narrating it from
scratch in the same single process (target: at most 10%). Two edits are
measured: one sentence of a paragraph changed, and the whole paragraph
rewritten. Model loading is outside the single-article timings and inside
the archive's.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
parser.add_argument("--articles", type=int, default=0, help="Only the first N (default: all).")
parser.add_argument("--engine", default="piper")
parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
ARGS = parser.parse_args()

VAR_DIR = os.environ.setdefault("MASTHEAD_VAR_DIR", tempfile.mkdtemp(prefix="masthead-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
os.environ.setdefault("TASKS_BACKEND", "database")  # publishing queues narration; no worker runs it
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("MASTHEAD_TESTING", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from masthead.newsroom.models import ArticlePage  # noqa: E402


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_articles():
    """The demo magazine, else a corpus from its article files, else generated text."""
    call_command("migrate", verbosity=0)
    try:
        from masthead.demo.loader import DEFAULT_ARTICLES_DIR, load_demo

        load_demo(DEFAULT_ARTICLES_DIR)
        source = "demo magazine (load_demo_magazine)"
    except Exception as error:  # the loader is being written alongside
        log(f"Demo loader unavailable ({error.__class__.__name__}: {error}); building a corpus.")
        source = build_corpus()
    articles = list(ArticlePage.objects.live().order_by("pk"))
    if ARGS.articles:
        articles = articles[: ARGS.articles]
    return articles, source


def build_corpus():
    from masthead.newsroom.models import ArticleByline, Author, SectionPage
    from masthead.newsroom.site_tree import ensure_site_tree

    ensure_site_tree()
    sections = list(SectionPage.objects.all())
    author = Author.objects.create(name="Bench Writer")
    files = sorted((ROOT / "masthead/demo/articles").glob("*.txt"))
    texts = [parse_demo_file(path) for path in files] or [generated(n) for n in range(24)]
    for n, (title, dek, body) in enumerate(texts):
        article = ArticlePage(title=title, slug=f"bench-{n}", dek=dek, body=body, live=False)
        article.bylines.add(ArticleByline(author=author))
        sections[n % len(sections)].add_child(instance=article)
        article.save_revision().publish()
    return f"corpus of {len(texts)} articles" + (" from the demo files" if files else "")


def parse_demo_file(path):
    header, _, text = path.read_text().partition("\n---\n")
    fields = dict(line.split(": ", 1) for line in header.splitlines() if ": " in line)
    body = []
    for block in re.split(r"\n\s*\n", text.strip()):
        block = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', block.strip())
        if block.startswith("## "):
            body.append(("heading", block[3:]))
        elif block.startswith(">> "):
            quote, _, who = block[3:].partition(" | ")
            body.append(("pull_quote", {"text": quote, "attribution": who}))
        elif block.startswith("> "):
            quote, _, who = block[2:].partition(" | ")
            body.append(("block_quote", {"text": quote, "attribution": who}))
        elif block.startswith("- "):
            items = "".join(f"<li>{line[2:]}</li>" for line in block.splitlines())
            body.append(("paragraph", f"<ul>{items}</ul>"))
        elif block == "[teaser-break]":
            body.append(("teaser_break", None))
        elif not block.startswith("[figure"):
            body.append(("paragraph", f"<p>{block}</p>"))
    return fields.get("title", path.stem), fields.get("dek", ""), body


def generated(n):
    sentence = (
        "The council voted on Tuesday to spend $12 million on the river, "
        "and officials said work would start by March 3, 2027."
    )
    body = [("paragraph", f"<p>{' '.join([sentence] * 5)} Part {n}.{k}.</p>") for k in range(14)]
    return f"Generated article {n}", "A generated dek.", body


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process). Single-article
    narration runs entirely in this process, so its CPU time is its cost,
    whatever else the machine is doing."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    from masthead.audio.actions import narrate_revision
    from masthead.audio.archive import narrate_all
    from masthead.audio.engines import get_engine
    from masthead.audio.models import Narration, Segment
    from masthead.audio.pipeline import part_key, plan_article, private_storage
    from masthead.audio.script import LEAD_IN

    articles, source = load_articles()
    log(f"Narrating {len(articles)} articles from the {source} with {ARGS.workers} worker(s)...")

    def progress(stats):
        log(
            f"  {stats.narrated + stats.skipped + stats.failed}/{stats.articles} articles, "
            f"{stats.audio_seconds / 60:.1f} min of audio, {stats.real_time_factor:.1f}x"
        )

    stats = narrate_all(articles, ARGS.workers, ARGS.engine, force=True, progress=progress)
    words = sum(len(" ".join(p for p in a.plain_paragraphs()).split()) for a in articles)

    # One article, re-narrated after edits, in this process (model already loaded).
    engine = get_engine(ARGS.engine)
    engine.synthesize("Warm up.")
    narrations = {n.article_id: n for n in Narration.objects.filter(article__in=articles)}
    ranked = sorted(articles, key=lambda a: narrations[a.pk].duration)
    article = ranked[len(ranked) // 2]  # the median length
    original_body = list(article.body.raw_data)
    from masthead.audio.normalise import split_sentences

    paragraphs = [
        (position, block, split_sentences(block["value"][3:-4]))
        for position, block in enumerate(original_body)
        if block["type"] == "paragraph"
        and block["value"].startswith("<p>")
        and block["value"].endswith("</p>")
        and block["value"].count("<p>") == 1
    ]
    paragraphs.sort(key=lambda item: (len(item[2]), len(item[1]["value"])))
    position, block, sentences = paragraphs[len(paragraphs) // 2]  # a typical paragraph

    def publish(value):
        page = ArticlePage.objects.get(pk=article.pk)
        body = [dict(b) for b in original_body]
        body[position] = {**body[position], "value": value}
        page.body = ArticlePage.body.field.to_python(json.dumps(body))
        with transaction.atomic():
            revision = page.save_revision()
            revision.publish()
        return revision.pk

    def edit_cost(value):
        revision_id = publish(value)
        outcome, wall, cpu = timed(narrate_revision, article.pk, revision_id, engine=engine)
        assert outcome == "ready", outcome
        narration = Narration.objects.get(article=article)
        return cpu, wall, narration.synthesised_count, narration.segment_count

    def reworded(sentence):
        return re.sub(r"([.!?])([\"'”’)]*)$", r", it seems\1\2", sentence)

    one_sentence = "<p>" + " ".join([reworded(sentences[0]), *sentences[1:]]) + "</p>"
    rewritten = "<p>" + " ".join(reworded(sentence) for sentence in sentences) + "</p>"
    sentence_seconds, sentence_wall, sentence_count, total = edit_cost(one_sentence)
    paragraph_seconds, paragraph_wall, paragraph_count, _ = edit_cost(rewritten)

    # The same article from scratch: its sentences and encoded parts dropped.
    page = ArticlePage.objects.get(pk=article.pk)
    plan = plan_article(page, engine)
    storage = private_storage()
    for number, part in enumerate(plan.full + plan.teaser):
        key = part_key(part, engine, LEAD_IN if number in (0, len(plan.full)) else 0.0)
        storage.delete(f"audio/parts/{key[:2]}/{key}.mp3")
    for segment in Segment.objects.filter(key__in=plan.keys):
        storage.delete(segment.file)
        segment.delete()
    outcome, full_wall, full_seconds = timed(
        narrate_revision, article.pk, page.live_revision_id, force=True, engine=engine
    )
    assert outcome == "ready", outcome
    full = Narration.objects.get(article=article)

    cores = os.cpu_count() or 1
    results = {
        "source": source,
        "articles": stats.narrated,
        "failed": stats.failed,
        "words": words,
        "workers": ARGS.workers,
        "cores": cores,
        "audio_minutes": round(stats.audio_seconds / 60, 1),
        "wall_seconds": round(stats.wall_seconds, 1),
        "throughput_x_real_time": round(stats.real_time_factor, 1),
        "synthesis_cpu_share": round(stats.synthesis_cpu_seconds / (stats.wall_seconds * cores), 2),
        "synthesis_cpu_seconds": round(stats.synthesis_cpu_seconds, 1),
        "main_cpu_seconds": round(stats.main_cpu_seconds, 1),
        "cpu_bound_x_real_time": round(stats.cpu_bound_factor(min(cores, ARGS.workers)), 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "edit_article": article.title,
        "edit_article_audio_seconds": round(full.duration, 1),
        "full_narration_cpu_seconds": round(full_seconds, 2),
        "full_narration_wall_seconds": round(full_wall, 2),
        "full_single_process_x_real_time": round(full.duration / full_seconds, 1),
        "edit_one_sentence_cpu_seconds": round(sentence_seconds, 2),
        "edit_one_sentence_wall_fraction": round(sentence_wall / full_wall, 3),
        "edit_one_sentence_segments": f"{sentence_count} of {total}",
        "edit_one_sentence_fraction": round(sentence_seconds / full_seconds, 3),
        "edit_paragraph_cpu_seconds": round(paragraph_seconds, 2),
        "edit_paragraph_wall_fraction": round(paragraph_wall / full_wall, 3),
        "edit_paragraph_segments": f"{paragraph_count} of {total}",
        "edit_paragraph_fraction": round(paragraph_seconds / full_seconds, 3),
    }
    print(
        f"Archive: {results['articles']} articles ({words} words), "
        f"{results['audio_minutes']} min of audio in {results['wall_seconds']}s with "
        f"{ARGS.workers} worker(s) on {cores} core(s): "
        f"{results['throughput_x_real_time']}x real time (target >= 30x); "
        f"{results['cpu_bound_x_real_time']}x from its CPU time alone, as on idle cores "
        f"(load average {os.getloadavg()[0]:.1f})."
    )
    print(
        f"Edit: '{article.title}' ({results['edit_article_audio_seconds']}s of audio) "
        f"narrated from scratch in {full_seconds:.1f}s of CPU; after one sentence changed "
        f"{sentence_seconds:.2f}s ({results['edit_one_sentence_fraction']:.1%}, "
        f"{results['edit_one_sentence_segments']} sentences synthesised); after the whole "
        f"paragraph rewritten {paragraph_seconds:.2f}s ({results['edit_paragraph_fraction']:.1%}, "
        f"{results['edit_paragraph_segments']}) (target <= 10%)."
    )
    print(json.dumps(results))
    if ARGS.keep:
        print(f"Files kept in {VAR_DIR}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if not ARGS.keep and VAR_DIR.startswith(tempfile.gettempdir()):
            import shutil

            shutil.rmtree(VAR_DIR, ignore_errors=True)
