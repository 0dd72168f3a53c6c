"""Bench: import a generated Ghost export end to end, then again.

    .venv/bin/python bench/imports.py [--posts 10000] [--members 100000]

Writes a Ghost 5 JSON export of N posts (a few paragraphs, a heading, a
quote and a list each; a fifth of them paid with a paywall card, a tenth
members-only; 20 primary tags, 30 authors) and M members (a tenth comped
with an expiry, the rest free, each with labels and a newsletter), streamed
to disk, never held whole. Then `import_ghost` runs on a freshly migrated
SQLite install, and once more on the same export. Prints the wall seconds
of each run (Django's start-up included), the peak RSS of each, the
export's size, and this machine's Python speed: the machines drift.

Paid members are left out: linking them reads Stripe, which a bench has
not got; tests/imports/test_paid_readers.py covers them against localstripe.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from common import PYTHON, ROOT, bench_env, manage, python_speed

PARAGRAPH = (
    "<p>The council met on a wet Tuesday to argue, again, about the harbour wall, "
    'and the minutes run to <strong>forty pages</strong> of <a href="https://example.org">'
    "careful disagreement</a> about money nobody has.</p>"
)


def body(n, paid):
    parts = [PARAGRAPH, PARAGRAPH]
    if paid:
        parts.append("<!--members-only-->")
    parts += [
        f"<h2>Part {n % 7}</h2>",
        PARAGRAPH,
        "<blockquote><p>We have always mended it after the storm.</p></blockquote>",
        "<ul><li>Stone</li><li>Timber</li><li>Steel</li></ul>",
        PARAGRAPH,
    ]
    return "".join(parts)


def write_array(out, name, rows, first=False):
    out.write(("" if first else ",") + json.dumps(name) + ":[")
    for index, row in enumerate(rows):
        if index:
            out.write(",")
        out.write(json.dumps(row))
    out.write("]")


def generate(path, posts, members):
    t = "2024-05-02T09:30:00.000Z"
    with path.open("w") as out:
        out.write('{"db":[{"meta":{"exported_on":1714642200000,"version":"5.96.0"},"data":{')
        write_array(
            out,
            "tags",
            ({"id": f"t{n}", "name": f"Section {n}", "slug": f"section-{n}"} for n in range(20)),
            first=True,
        )
        write_array(
            out,
            "users",
            (
                {
                    "id": f"u{n}",
                    "name": f"Writer {n}",
                    "slug": f"writer-{n}",
                    "email": f"writer{n}@example.com",
                    "bio": "Writes.",
                    "status": "active",
                }
                for n in range(30)
            ),
        )
        write_array(out, "roles", [{"id": "r1", "name": "Contributor"}])
        write_array(
            out,
            "roles_users",
            ({"id": f"ru{n}", "role_id": "r1", "user_id": f"u{n}"} for n in range(30)),
        )
        write_array(out, "newsletters", [{"id": "n1", "name": "Weekly", "slug": "weekly"}])
        write_array(out, "labels", [{"id": "l1", "name": "Imported", "slug": "imported"}])
        write_array(out, "products", [{"id": "tier1", "name": "Supporter", "type": "paid"}])
        write_array(
            out,
            "posts_tags",
            (
                {"id": f"pt{n}", "post_id": f"p{n}", "tag_id": f"t{n % 20}", "sort_order": 0}
                for n in range(posts)
            ),
        )
        write_array(
            out,
            "posts_authors",
            (
                {"id": f"pa{n}", "post_id": f"p{n}", "author_id": f"u{n % 30}", "sort_order": 0}
                for n in range(posts)
            ),
        )
        write_array(
            out,
            "members_labels",
            ({"id": f"ml{n}", "member_id": f"m{n}", "label_id": "l1"} for n in range(members)),
        )
        write_array(
            out,
            "members_newsletters",
            (
                {"id": f"mn{n}", "member_id": f"m{n}", "newsletter_id": "n1"}
                for n in range(0, members, 2)
            ),
        )
        write_array(
            out,
            "members_products",
            (
                {
                    "id": f"mp{n}",
                    "member_id": f"m{n}",
                    "product_id": "tier1",
                    "expiry_at": "2030-01-01T00:00:00.000Z",
                }
                for n in range(0, members, 10)
            ),
        )
        write_array(
            out,
            "posts",
            (
                {
                    "id": f"p{n}",
                    "title": f"Harbour wall, part {n}",
                    "slug": f"harbour-wall-{n}",
                    "html": body(n, n % 5 == 0),
                    "type": "post",
                    "status": "published",
                    "visibility": "paid"
                    if n % 5 == 0
                    else ("members" if n % 10 == 1 else "public"),
                    "created_at": t,
                    "updated_at": t,
                    "published_at": t,
                    "custom_excerpt": "The wall again.",
                }
                for n in range(posts)
            ),
        )
        write_array(
            out,
            "members",
            (
                {
                    "id": f"m{n}",
                    "email": f"reader{n}@example.com",
                    "name": f"Reader {n}",
                    "status": "comped" if n % 10 == 0 else "free",
                    "created_at": t,
                    "note": None,
                }
                for n in range(members)
            ),
        )
        out.write("}}]}")


def timed(env, *args):
    """(wall seconds, CPU seconds, peak RSS in MB) of a management command.
    The CPU seconds say what the import costs when other work shares the
    machine and stretches the wall time."""
    began = time.monotonic()
    process = subprocess.Popen(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - began
    if status != 0:
        raise SystemExit(f"{args[0]} failed ({status})")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=100_000)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    try:
        export = folder / "ghost.json"
        began = time.monotonic()
        generate(export, options.posts, options.members)
        print(
            f"generated {options.posts} posts, {options.members} members: "
            f"{export.stat().st_size / 1e6:.1f} MB in {time.monotonic() - began:.1f} s"
        )
        env = bench_env(folder, TASKS_BACKEND="database", LOG_LEVEL="WARNING")
        manage(env, "migrate", "--noinput")
        first, first_cpu, first_rss = timed(
            env, "import_ghost", str(export), "--no-fetch", "--batch-size", "500"
        )
        print(
            f"import_ghost, first run: {first:.1f} s wall ({first_cpu:.1f} s CPU), "
            f"peak RSS {first_rss:.0f} MB (target: 300 s, 1024 MB)"
        )
        again, again_cpu, again_rss = timed(
            env, "import_ghost", str(export), "--no-fetch", "--batch-size", "500"
        )
        print(
            f"import_ghost, re-run:    {again:.1f} s wall ({again_cpu:.1f} s CPU), "
            f"peak RSS {again_rss:.0f} MB ({first / again:.1f}x faster by wall time, "
            f"{first_cpu / again_cpu:.1f}x by CPU; target 5x)"
        )
        print(f"python speed: {python_speed():.2f} s for the reference loop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
