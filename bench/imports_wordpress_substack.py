"""Bench: import a generated WordPress export (WXR with Leaky Paywall
subscribers) and a generated Substack archive, then import each again.

    .venv/bin/python bench/imports_wordpress_substack.py [--posts N] [--readers N]
        [--only wordpress|substack]

Defaults are the issue's sizes: 10,000 posts and 100,000 readers. Each
importer gets a throwaway SQLite install in a temporary folder, migrated and
nothing else (a publisher moving in starts without the demo magazine). The
exports are written to disk first, streamed, not held whole. Prints, per
importer: the wall seconds of the import command (Django's start-up
included), its peak RSS, and the wall seconds of a second run of the same
export (everything already imported: nothing written), with this machine's
Python speed, since the machines drift.
"""

import argparse
import csv
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from common import PYTHON, ROOT, bench_env, manage, python_speed

PARAGRAPHS = (
    "The tide came in twice while we watched, and the pilots said nothing about it.",
    "At the far end of the sea wall, the old signal house is being turned into flats.",
    "Curlews, redshanks and a single spoonbill worked the mud as the water went out.",
    "Nobody in the harbour office remembers who last repainted the lighthouse.",
)
VISIBILITY_ONLY_PAID = (
    'a:4:{s:15:"visibility_type";s:4:"only";s:12:"only_visible";a:1:{i:0;s:1:"1";}'
    's:19:"only_always_visible";a:0:{}s:14:"always_visible";a:0:{}}'
)


def body(n):
    paragraphs = [f"<p>{PARAGRAPHS[(n + i) % len(PARAGRAPHS)]} ({n}.{i})</p>" for i in range(8)]
    return paragraphs


def write_wxr(path, posts):
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
            'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
            "<title>Bench Quarterly</title><link>https://bench.example</link>\n"
            "<wp:wxr_version>1.2</wp:wxr_version>\n"
            "<wp:base_site_url>https://bench.example</wp:base_site_url>\n"
        )
        for a in range(20):
            out.write(
                f"<wp:author><wp:author_login><![CDATA[writer{a}]]></wp:author_login>"
                f"<wp:author_email><![CDATA[writer{a}@bench.example]]></wp:author_email>"
                f"<wp:author_display_name><![CDATA[Writer {a}]]></wp:author_display_name>"
                "</wp:author>\n"
            )
        for c in range(8):
            out.write(
                f"<wp:category><wp:term_id>{c + 1}</wp:term_id><wp:category_nicename>"
                f"section-{c}</wp:category_nicename><wp:cat_name><![CDATA[Section {c}]]>"
                "</wp:cat_name></wp:category>\n"
            )
        for n in range(posts):
            paragraphs = body(n)
            if n % 3 == 0:
                paragraphs.insert(2, "<!--more-->")
            content = "\n\n".join(
                f"<!-- wp:paragraph -->\n{p}\n<!-- /wp:paragraph -->" if p.startswith("<p>") else p
                for p in paragraphs
            )
            day = 1 + n % 28
            month = 1 + (n // 28) % 12
            year = 2010 + (n // 336) % 16
            date = f"{year}-{month:02d}-{day:02d} 08:00:00"
            meta = (
                f"<wp:postmeta><wp:meta_key>_issuem_leaky_paywall_visibility</wp:meta_key>"
                f"<wp:meta_value><![CDATA[{VISIBILITY_ONLY_PAID}]]></wp:meta_value></wp:postmeta>"
                if n % 3 == 0
                else ""
            )
            out.write(
                f"<item><title><![CDATA[Report number {n}]]></title>"
                f"<link>https://bench.example/{year}/{month:02d}/report-{n}/</link>"
                f"<dc:creator><![CDATA[writer{n % 20}]]></dc:creator>"
                f"<content:encoded><![CDATA[{content}]]></content:encoded>"
                f"<excerpt:encoded><![CDATA[The dek of report {n}]]></excerpt:encoded>"
                f"<wp:post_id>{1000 + n}</wp:post_id>"
                f"<wp:post_date><![CDATA[{date}]]></wp:post_date>"
                f"<wp:post_date_gmt><![CDATA[{date}]]></wp:post_date_gmt>"
                f"<wp:post_name><![CDATA[report-{n}]]></wp:post_name>"
                f"<wp:status><![CDATA[{'draft' if n % 50 == 0 else 'publish'}]]></wp:status>"
                "<wp:post_type><![CDATA[post]]></wp:post_type>"
                f'<category domain="category" nicename="section-{n % 8}">'
                f"<![CDATA[Section {n % 8}]]></category>"
                f'<category domain="post_tag" nicename="tag-{n % 40}"><![CDATA[Tag {n % 40}]]>'
                f"</category>{meta}</item>\n"
            )
        out.write("</channel>\n</rss>\n")


def write_leaky_paywall_csv(path, readers):
    columns = [
        "user_id", "user_login", "user_email", "first_name", "last_name", "level_id", "hash",
        "subscriber_id", "price", "description", "plan", "created", "expires",
        "payment_gateway", "payment_status", "has_access",
    ]  # fmt: skip
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for n in range(readers):
            comped = n % 20 == 1
            writer.writerow(
                [
                    n, f"reader{n}", f"reader{n}@bench.example", "Reader", str(n),
                    1 if comped else 0, "", "", "8.00" if comped else "0",
                    "Digital" if comped else "Free", "", "2024-01-02 03:04:05",
                    "2030-01-01 00:00:00" if comped else "0000-00-00 00:00:00",
                    "manual" if comped else "free_registration", "active", "yes",
                ]
            )  # fmt: skip


def write_substack_zip(path, posts, readers):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bench-export/posts.csv", "w") as raw:
            rows = [
                "post_id,post_date,is_published,email_sent_at,inbox_sent_at,type,audience,"
                "title,subtitle,podcast_url"
            ]
            for n in range(posts):
                audience = "only_paid" if n % 3 == 0 else "everyone"
                rows.append(
                    f"{2000 + n}.report-{n},2024-{1 + n % 12:02d}-{1 + n % 28:02d}T08:00:00.000Z,"
                    f"{'false' if n % 50 == 0 else 'true'},,,newsletter,{audience},"
                    f"Report number {n},The dek of report {n},"
                )
            raw.write(("\n".join(rows) + "\n").encode())
        for n in range(posts):
            paragraphs = body(n)
            if n % 3 == 0:
                paragraphs.insert(
                    2, '<div class="paywall-jump" data-component-name="PaywallToDOM"></div>'
                )
            archive.writestr(f"bench-export/posts/{2000 + n}.report-{n}.html", "".join(paragraphs))
        with archive.open("bench-export/email_list.bench.csv", "w") as raw:
            raw.write(
                b"email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n"
            )
            chunk = []
            for n in range(readers):
                comped = n % 20 == 1
                chunk.append(
                    f"reader{n}@bench.example,false,{'2030-01-01T00:00:00.000Z' if comped else ''},"
                    f"{'comp' if comped else 'other'},{'true' if n % 7 == 0 else 'false'},"
                    "2024-01-02T03:04:05.000Z,\n"
                )
                if len(chunk) >= 5000:
                    raw.write("".join(chunk).encode())
                    chunk = []
            raw.write("".join(chunk).encode())


def timed(env, *args):
    """Wall seconds, CPU seconds and peak RSS (MB) of one management command."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    if status != 0:
        raise SystemExit(f"{args[0]} failed ({status})")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def bench(name, command, make_export, options):
    folder = Path(tempfile.mkdtemp())
    try:
        began = time.perf_counter()
        args = make_export(folder)
        made = time.perf_counter() - began
        env = bench_env(folder, TASKS_BACKEND="database", LOG_LEVEL="WARNING")
        manage(env, "migrate", "--noinput")
        first, first_cpu, rss = timed(env, command, *args)
        again, again_cpu, rss_again = timed(env, command, *args)
        print(
            f"{name}: {options.posts} posts, {options.readers} readers "
            f"(export written in {made:.1f} s)\n"
            f"  first import: {first:.1f} s wall ({first_cpu:.1f} s CPU), peak RSS {rss:.0f} MB\n"
            f"  re-run:       {again:.1f} s wall ({again_cpu:.1f} s CPU), "
            f"peak RSS {rss_again:.0f} MB "
            f"({first / again:.1f}x faster)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_only(options):
    """The parsers alone: how long reading each export takes, and the
    memory it holds, without the writer."""
    import resource

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
    django.setup()
    from masthead.imports.substack import SubstackParser
    from masthead.imports.wordpress import WordPressParser

    folder = Path(tempfile.mkdtemp())
    try:
        write_wxr(folder / "export.xml", options.posts)
        write_leaky_paywall_csv(folder / "subscribers.csv", options.readers)
        write_substack_zip(folder / "export.zip", options.posts, options.readers)
        for name, parser in (
            (
                "WordPress + Leaky Paywall",
                WordPressParser(folder / "export.xml", subscribers=folder / "subscribers.csv"),
            ),
            ("Substack", SubstackParser(folder / "export.zip")),
        ):
            began = time.perf_counter()
            parser.check()
            count = sum(1 for _ in parser.records())
            seconds = time.perf_counter() - began
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{name}: {count} records read in {seconds:.1f} s; peak RSS so far {peak:.0f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--readers", type=int, default=100_000)
    parser.add_argument("--only", choices=("wordpress", "substack"))
    parser.add_argument(
        "--parse-only",
        action="store_true",
        help="time only the parsers reading the exports (no database), in this process",
    )
    options = parser.parse_args()
    if options.parse_only:
        parse_only(options)
        return

    def wordpress(folder):
        write_wxr(folder / "export.xml", options.posts)
        write_leaky_paywall_csv(folder / "subscribers.csv", options.readers)
        return [
            str(folder / "export.xml"),
            "--subscribers",
            str(folder / "subscribers.csv"),
            "--no-fetch",
        ]

    def substack(folder):
        write_substack_zip(folder / "export.zip", options.posts, options.readers)
        return [str(folder / "export.zip"), "--no-fetch"]

    if options.only in (None, "wordpress"):
        bench("WordPress + Leaky Paywall", "import_wordpress", wordpress, options)
    if options.only in (None, "substack"):
        bench("Substack", "import_substack", substack, options)
    print(f"python speed: {python_speed():.2f} s for the reference loop")


if __name__ == "__main__":
    main()
