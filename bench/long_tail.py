"""The long tail: a large archive read with a Zipf popularity, against nginx
serving one article's HTML as a static file, in the same run.

    .venv/bin/python bench/long_tail.py [--articles 10000] [--seconds 10]
        [--connections 32] [--workers 2] [--port 17000]

Builds a throwaway demo magazine, adds `--articles` articles to it (straight
into the page tree, published, without revisions: what readers see is the
same), and a subscriber with a signed-in session. wrk then asks for article
paths drawn from a Zipf(1.1) law over the archive (a Lua script cycles
through a precomputed sample), once as anonymous readers and once as the
subscriber, with granian as `make run` starts it (page cache on). As on a
site that has been up a while, readers have read the archive before the
measured run: a first pass asks once for every article of the sample, as
each kind of reader, just before that reader's run (it prints how long that took, and how the answers of a
last check over the sample came: from which cache, or rendered). Prints
requests per second, latency and the ratio to nginx's static file.
"""

import argparse
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    app_server,
    bench_env,
    cleanup,
    first_pass,
    free_port,
    nginx_static,
    prepare_site,
    print_table,
    wait_for,
    wrk,
)

# Builds the archive inside Django; prints the subscriber's session key.
BUILD_ARCHIVE = """
import sys
from datetime import timedelta
from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from importlib import import_module
from django.conf import settings
from django.utils import timezone
from masthead.billing.actions import ensure_default_plans
from masthead.billing.models import Plan, Subscription
from masthead.newsroom.models import ArticleByline, ArticlePage, Author, SectionPage
from masthead.serving.invalidation import refresh_pages

count, paths_file = int(sys.argv[1]), sys.argv[2]
sections = list(SectionPage.objects.live())
authors = list(Author.objects.all()[:20])
levels = ["", "public", "members", "subscribers"]
now = timezone.now()
paths = []
for n in range(count):
    section = sections[n % len(sections)]
    article = ArticlePage(
        title=f"Archive story {n}", slug=f"archive-story-{n}", live=True,
        dek=f"From the archive, number {n}.", date=now - timedelta(hours=n),
        access_level=levels[n % len(levels)],
        body=[("paragraph", f"<p>Paragraph {p} of archive story {n}.</p>") for p in range(8)],
    )
    article.bylines.add(ArticleByline(author=authors[n % len(authors)], sort_order=0))
    section.add_child(instance=article)
    paths.append(article.url_path[len(section.get_parent().url_path) - 1:])
open(paths_file, "w").write("\\n".join(paths))
refresh_pages()
ensure_default_plans()
User = get_user_model()
user = User.objects.create_user(email="long-tail@example.org", full_name="Long Tail")
Subscription.objects.create(member=user, plan=Plan.objects.first(), status="complimentary")
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(session.session_key)
"""


def zipf_sample(paths, size, exponent=1.1, seed=15):
    """`size` paths drawn with a Zipf(`exponent`) popularity by rank (the
    order of `paths` shuffled, so the hot articles are spread over sections)."""
    ranked = paths[:]
    random.Random(seed).shuffle(ranked)
    weights = [1 / (rank**exponent) for rank in range(1, len(ranked) + 1)]
    return random.Random(seed + 1).choices(ranked, weights=weights, k=size)


def lua_script(folder, sample):
    """A wrk script cycling through `sample`, each thread from its own start."""
    script = folder / "zipf.lua"
    listed = ",\n".join(f'"{path}"' for path in sample)
    script.write_text(
        f"""
local paths = {{
{listed}
}}
local counter = 0
local offset = 0
setup = function(thread)
  offset = offset + 7919
  thread:set("start", offset)
end
init = function(args)
  counter = start or 0
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""
    )
    return script


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--port", type=int, help="the app's; nginx's is the next (default: free)")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        env = bench_env(var_dir)
        prepare_site(env)
        paths_file = var_dir / "paths.txt"
        session_key = (
            subprocess.run(
                [
                    PYTHON,
                    "manage.py",
                    "shell",
                    "-c",
                    f"import sys; sys.argv = ['', {str(args.articles)!r}, {str(paths_file)!r}]\n"
                    + BUILD_ARCHIVE,
                ],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        paths = paths_file.read_text().split("\n")
        sample = zipf_sample(paths, args.sample)
        script = lua_script(var_dir, sample)
        port, nginx_port = (args.port, args.port + 1) if args.port else (free_port(), free_port())
        cookie = f"Cookie: sessionid={session_key}"
        with app_server(env, port, args.workers):
            base = f"http://127.0.0.1:{port}"
            # A process under load takes a while to start and warm up.
            html = wait_for(base + paths[0], timeout=180)
            read_before = sorted(set(sample))
            run = {"connections": args.connections, "seconds": args.seconds}
            with nginx_static(html, nginx_port) as nginx:
                wait_for(f"http://127.0.0.1:{nginx_port}/")
                reference = wrk(f"http://127.0.0.1:{nginx_port}/", **run)
                cleanup(nginx.folder)
            # Each reader's first pass just before their run: what it cached
            # must not expire (PAGE_CACHE_SECONDS) before it is measured.
            rows = [("nginx, static file", reference)]
            warmed = 0.0
            for reader, headers in (("anonymous", []), ("subscriber", [cookie])):
                began = time.perf_counter()
                first_pass(base, read_before, headers=headers)
                warmed += time.perf_counter() - began
                rows.append(
                    (
                        f"Zipf(1.1) archive, {reader}",
                        wrk(base, script=script, headers=headers, **run),
                    )
                )
            check = random.Random(16).sample(sample, min(1000, len(sample)))
            labels = {
                "anonymous": first_pass(base, check),
                "subscriber": first_pass(base, check, headers=[cookie]),
            }
        print(
            f"\n{args.articles} articles, Zipf(1.1) sample of {args.sample}, "
            f"{args.connections} connections, {args.seconds}s each, {args.workers} server "
            f"workers; load average before: {load_before:.2f}"
        )
        print(
            f"First pass: {len(read_before)} distinct articles, as anonymous readers and "
            f"as the subscriber, in {warmed:.0f}s in all"
        )
        for reader, counted in labels.items():
            answers = ", ".join(
                f"{label} {n / len(check):.1%}" for label, n in counted.most_common()
            )
            print(f"{len(check)} requests of the sample after the runs, {reader}: {answers}")
        print()
        print_table(rows, reference)
    finally:
        cleanup(var_dir)


if __name__ == "__main__":
    main()
