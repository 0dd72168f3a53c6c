"""Bench: build the EPUB and PDF editions of a 12-article issue.

Creates a throwaway magazine in a temporary SQLite database (MASTHEAD_VAR_DIR
points at a temporary folder unless set), with twelve ~900-word articles in
four sections, each with a lead image and an in-body figure, a block quote
and a pull quote, then times the builds:

    .venv/bin/python bench/editions.py [--keep]

Prints wall and CPU seconds for the EPUB, the A4 PDF and the US Letter PDF,
for a first build (image renditions made on the way, in threads) and a
second, warm one, with the machine's load average: on a shared machine the
wall time depends on what else runs. Target:
EPUB + PDF within 15 seconds on the 2-core machine. --keep leaves the files
and prints where they are.
"""

import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEEP = "--keep" in sys.argv
OWN_VAR_DIR = "MASTHEAD_VAR_DIR" not in os.environ
VAR_DIR = os.environ.setdefault(
    "MASTHEAD_VAR_DIR", tempfile.mkdtemp(prefix="masthead-editions-bench-")
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
os.environ.setdefault("TASKS_BACKEND", "database")  # queued, never run: no narration
os.environ.setdefault("LOG_LEVEL", "WARNING")

WORDS = [
    "the",
    "council",
    "vote",
    "budget",
    "river",
    "water",
    "farmers",
    "city",
    "minister",
    "policy",
    "report",
    "market",
    "bond",
    "rates",
    "inflation",
    "drought",
    "summer",
    "coast",
    "harbour",
    "trade",
    "talks",
    "border",
    "officials",
    "said",
    "would",
    "could",
    "after",
    "before",
    "during",
    "between",
    "government",
    "parliament",
    "committee",
    "inquiry",
    "evidence",
    "witnesses",
    "documents",
    "letters",
    "archive",
    "history",
    "economy",
    "workers",
    "union",
    "strike",
    "wages",
    "prices",
    "housing",
    "rent",
    "tenants",
    "landlords",
    "court",
    "judge",
    "ruling",
    "appeal",
    "election",
    "campaign",
    "voters",
    "district",
    "turnout",
    "survey",
    "analysts",
    "researchers",
    "data",
    "climate",
    "heat",
    "forest",
    "fire",
    "insurance",
    "claims",
    "premiums",
    "banks",
    "lenders",
    "loans",
    "interest",
    "savings",
    "pension",
]


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def paragraph_text(rng, sentences=4):
    return " ".join(sentence(rng) for _ in range(sentences))


def photo(rng, name, size=(2400, 1600)):
    """A JPEG with a photo's byte size: a colour gradient under fine noise."""
    import io

    from django.core.files.images import ImageFile
    from PIL import Image, ImageChops

    from masthead.newsroom.models import CreditedImage

    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    base = Image.merge(
        "RGB",
        (
            ImageChops.add(gradient, noise, scale=2.0),
            ImageChops.add(gradient.rotate(90).resize(size), noise, scale=2.2),
            noise.point(lambda v: min(255, v + rng.randint(0, 60))),
        ),
    )
    buffer = io.BytesIO()
    base.save(buffer, "JPEG", quality=85)
    return CreditedImage.objects.create(
        title=name,
        caption=f"{name.capitalize()}, photographed for this issue.",
        credit="Meridian Review / Staff",
        file=ImageFile(buffer, name=f"{name.replace(' ', '-')}.jpg"),
    )


def build_issue():
    from datetime import date

    from django.core.management import call_command

    from masthead.issues.models import IssueArticle, IssueIndexPage, IssuePage
    from masthead.newsroom.models import ArticleByline, ArticlePage, Author, SectionPage
    from masthead.newsroom.site_tree import ensure_site_tree

    call_command("migrate", verbosity=0)
    ensure_site_tree()
    rng = random.Random(22)
    sections = list(SectionPage.objects.order_by("path"))[:4]
    authors = [
        Author.objects.create(name=name)
        for name in ("Ana Peña", "José Álvarez", "Margaret Okafor", "Priya Raman")
    ]
    articles = []
    for n in range(12):
        body = [("paragraph", f"<p>{paragraph_text(rng)}</p>") for _ in range(3)]
        body.append(("heading", f"What happens next in part {n + 1}"))
        body += [("paragraph", f"<p>{paragraph_text(rng)}</p>") for _ in range(3)]
        body.append(("block_quote", {"text": sentence(rng), "attribution": "A council member"}))
        body.append(
            ("figure", {"image": photo(rng, f"figure {n + 1}"), "caption": "", "credit": ""})
        )
        body += [("paragraph", f"<p>{paragraph_text(rng)}</p>") for _ in range(3)]
        body.append(("pull_quote", {"text": sentence(rng), "attribution": ""}))
        body += [("paragraph", f"<p>{paragraph_text(rng)}</p>") for _ in range(3)]
        article = ArticlePage(
            title=f"Story {n + 1}: {sentence(rng)[:60].rstrip('.')}",
            slug=f"story-{n + 1}",
            dek=sentence(rng),
            body=body,
            lead_image=photo(rng, f"lead picture {n + 1}"),
            live=False,
        )
        article.bylines.add(ArticleByline(author=authors[n % len(authors)]))
        sections[n % len(sections)].add_child(instance=article)
        article.save_revision().publish()
        articles.append(ArticlePage.objects.get(pk=article.pk))
    issue = IssuePage(
        title="The bench issue",
        slug="bench-issue",
        volume=12,
        number=22,
        cover_date=date(2026, 6, 1),
        cover_image=photo(rng, "cover", size=(2480, 3508)),
        cover_lines="The first cover line\nThe second cover line",
        live=False,
    )
    for position, article in enumerate(articles):
        issue.contents.add(IssueArticle(article=article, sort_order=position))
    IssueIndexPage.objects.get().add_child(instance=issue)
    issue.save_revision().publish()
    words = sum(article.word_count() for article in articles)
    return IssuePage.objects.get(pk=issue.pk), words


def main():
    import django

    django.setup()
    from django.core.files.storage import storages

    from masthead.editions import actions
    from masthead.editions.models import Edition

    issue, words = build_issue()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Machine: {os.cpu_count()} cores, load average {load} (others' work inflates wall time)")
    print(f"Issue: 12 articles, {words} words ({words // 12} a story), 25 photos; var in {VAR_DIR}")
    for label in ("first build (renditions made)", "warm build (renditions cached)"):
        Edition.objects.filter(issue=issue).delete()
        timings, cpu = {}, {}
        for edition_format in ("epub", "pdf-a4", "pdf-letter"):
            started, cpu_started = time.perf_counter(), time.process_time()
            actions.build_editions(issue, formats=[edition_format])
            timings[edition_format] = time.perf_counter() - started
            cpu[edition_format] = time.process_time() - cpu_started
        sizes = {e.format: e.size for e in Edition.objects.filter(issue=issue)}
        print(f"\n{label}:")
        for edition_format, seconds in timings.items():
            print(
                f"  {edition_format:<11} {seconds:6.2f} s  (CPU {cpu[edition_format]:5.2f} s)"
                f"  {sizes[edition_format] / 1e6:6.2f} MB"
            )
        together = timings["epub"] + timings["pdf-a4"]
        verdict = "within" if together <= 15 else "OVER"
        print(f"  EPUB + PDF (A4) together: {together:.2f} s ({verdict} the 15 s target)")
    if KEEP:
        storage = storages["private"]
        for edition in Edition.objects.filter(issue=issue):
            print("kept:", storage.path(edition.file_name))
    elif OWN_VAR_DIR:
        import shutil

        shutil.rmtree(VAR_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
