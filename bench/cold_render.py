"""Uncached article renders against Wagtail's plain page serving, in the
same run.

    .venv/bin/python bench/cold_render.py [--articles 6000] [--seconds 5]
        [--connections 32] [--workers 2] [--port 17100]

Builds a throwaway demo magazine with `--articles` more articles, and as many
plain Wagtail pages (bench/plainpage: a title and a rich-text body, served by
Wagtail's stock `serve` view, Django's own middleware, nothing cached). Both
servers are granian as `make run` starts it, Masthead's with its page cache
off. wrk walks each server's pages in order, every request a different page,
so every Masthead request renders its article anew (its variants cache is
never asked twice for one); the site, the routes' generation and the
navigation are cached as on any busy site. `--articles` should exceed the
requests a run makes (the table says when it did not).
"""

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    app_server,
    bench_env,
    cleanup,
    free_port,
    manage,
    print_table,
    wait_for,
    wrk,
)
from long_tail import BUILD_ARCHIVE

BUILD_PLAIN_PAGES = """
import sys
from masthead.newsroom.models import HomePage
from plainpage.models import PlainPage

count, paths_file = int(sys.argv[1]), sys.argv[2]
home = HomePage.objects.get()
paths = []
for n in range(count):
    page = PlainPage(
        title=f"Plain page {n}", slug=f"plain-page-{n}", live=True,
        body="".join(f"<p>Paragraph {p} of plain page {n}.</p>" for p in range(8)),
    )
    home.add_child(instance=page)
    paths.append(f"/plain-page-{n}/")
open(paths_file, "w").write("\\n".join(paths))
"""


def walk_script(folder, name, paths, threads):
    """A wrk script walking `paths` in order, each thread its own share."""
    script = folder / f"{name}.lua"
    listed = ",\n".join(f'"{path}"' for path in paths)
    share = len(paths) // threads
    script.write_text(
        f"""
local paths = {{
{listed}
}}
local counter = 0
local next_start = 0
setup = function(thread)
  thread:set("start", next_start)
  next_start = next_start + {share}
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


def build(env, code, count, paths_file):
    subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            f"import sys; sys.argv = ['', {str(count)!r}, {str(paths_file)!r}]\n" + code,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return paths_file.read_text().split("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, help="Masthead's; plain Wagtail's is the next")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        bench_path = str(ROOT / "bench")
        env = bench_env(
            var_dir,
            DJANGO_SETTINGS_MODULE="plainpage.settings",
            PAGE_CACHE_SECONDS=0,
            PYTHONPATH=bench_path + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        manage(env, "load_demo_magazine", "--if-empty")
        articles = build(env, BUILD_ARCHIVE, args.articles, var_dir / "articles.txt")
        plain = build(env, BUILD_PLAIN_PAGES, args.articles, var_dir / "plain.txt")
        masthead_port, plain_port = (
            (args.port, args.port + 1) if args.port else (free_port(), free_port())
        )
        with (
            app_server(env, masthead_port, args.workers),
            app_server({**env, "PLAIN_WAGTAIL": "1"}, plain_port, args.workers),
        ):
            masthead_url = f"http://127.0.0.1:{masthead_port}"
            plain_url = f"http://127.0.0.1:{plain_port}"
            # Each server's first request (imports, the site) is not the bench's.
            wait_for(masthead_url + "/", timeout=180)
            wait_for(plain_url + plain[-1], timeout=180)
            run = {"connections": args.connections, "seconds": args.seconds}
            reference = wrk(plain_url, script=walk_script(var_dir, "plain", plain, 2), **run)
            ours = wrk(masthead_url, script=walk_script(var_dir, "articles", articles, 2), **run)
        rows = [
            ("Wagtail plain page, stock serve (no cache)", reference),
            ("Masthead article, cold render (page cache off)", ours),
        ]
        requests = ours["rps"] * args.seconds
        print(
            f"\n{args.articles} articles and as many plain pages, {args.connections} "
            f"connections, {args.seconds}s each, {args.workers} server workers; "
            f"load average before: {load_before:.2f}"
        )
        if requests > args.articles:
            print(
                f"(about {requests:.0f} article requests: more than the articles, so some "
                "were answered from the variants cache)"
            )
        print()
        print_table(rows, reference)
        print("\n('vs nginx' is against Wagtail's plain page here.)")
    finally:
        cleanup(var_dir)


if __name__ == "__main__":
    main()
