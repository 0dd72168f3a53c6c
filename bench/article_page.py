"""The anonymous article page against nginx serving the same HTML as a file.

    .venv/bin/python bench/article_page.py [--seconds 10] [--connections 32]

Builds a throwaway demo magazine, starts granian (as `make run` does) with
the page cache on and, for reference, with it off, gunicorn with the page
cache on (the server Masthead used before), and nginx with the page's HTML
as a static file; then loads each with wrk, one after another, and prints
requests per second, latency and the ratio to nginx. Then the page cache
with insights counting on (the default) and off (INSIGHTS_COUNTING=0), in
turns, --rounds times each, and what counting costs; and, in turns too,
the page cache sending its stored gzip copy to a client that asks for it
against the same cache with compression off (COMPRESS_DOCUMENTS=0).

    --port-base 19000 binds the servers to 19000 and up instead of free ports;
    --counting-only starts only the two servers that comparison needs;
    --compression-only likewise for the compression rows.
"""

import argparse
import gzip as gzip_module
import os
import re
import tempfile
from contextlib import ExitStack
from pathlib import Path

from common import (
    app_server,
    bench_env,
    cleanup,
    free_port,
    gunicorn_server,
    nginx_static,
    prepare_site,
    print_table,
    wait_for,
    wrk,
)


def compress_page(html):
    return gzip_module.compress(html, compresslevel=6, mtime=0)


def public_article_path(base_url):
    """The first free article linked from the home page."""
    # Servers start slowly on a busy machine.
    home = wait_for(base_url + "/", timeout=300).decode()
    for path in re.findall(r'href="(/[a-z-]+/[a-z0-9-]+/)"', home):
        if path.startswith(("/issues/", "/authors/", "/feeds/", "/account/")):
            continue
        html = wait_for(base_url + path).decode()
        if "article__header" not in html:
            continue
        # Subscriber and member articles carry a badge; a free one has none.
        if 'class="badge"' not in html.split("article__header")[1][:600]:
            return path
    raise RuntimeError("no free article found on the home page")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port-base", type=int, default=0)
    parser.add_argument(
        "--counting-only", action="store_true", help="only the counting on and off rows"
    )
    parser.add_argument(
        "--compression-only", action="store_true", help="only the compression on and off rows"
    )
    args = parser.parse_args()
    ports = iter(range(args.port_base, args.port_base + 10)) if args.port_base else None

    def port():
        return next(ports) if ports else free_port()

    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        env = bench_env(var_dir)
        prepare_site(env)
        cached_port, uncounted_port, uncompressed_port = port(), port(), port()
        counting_rows = not args.compression_only
        compression_rows = not args.counting_only
        with ExitStack() as servers:
            servers.enter_context(app_server(env, cached_port, args.workers))
            if counting_rows:
                servers.enter_context(
                    app_server(
                        bench_env(var_dir, INSIGHTS_COUNTING=0), uncounted_port, args.workers
                    )
                )
            if compression_rows:
                servers.enter_context(
                    app_server(
                        bench_env(var_dir, COMPRESS_DOCUMENTS=0), uncompressed_port, args.workers
                    )
                )
            cached = f"http://127.0.0.1:{cached_port}"
            uncounted = f"http://127.0.0.1:{uncounted_port}"
            path = public_article_path(cached)
            uncompressed = f"http://127.0.0.1:{uncompressed_port}"
            html = wait_for(cached + path)
            if counting_rows:
                wait_for(uncounted + path, timeout=120)
            if compression_rows:
                wait_for(uncompressed + path, timeout=120)
            run = {"connections": args.connections, "seconds": args.seconds}
            rows = []
            reference = None
            if not (args.counting_only or args.compression_only):
                uncached_port, nginx_port, gunicorn_port = port(), port(), port()
                uncached = f"http://127.0.0.1:{uncached_port}"
                gunicorn = f"http://127.0.0.1:{gunicorn_port}"
                servers.enter_context(
                    app_server(
                        bench_env(var_dir, PAGE_CACHE_SECONDS=0), uncached_port, args.workers
                    )
                )
                servers.enter_context(gunicorn_server(env, gunicorn_port, args.workers))
                wait_for(uncached + path, timeout=120)
                wait_for(gunicorn + path, timeout=120)
                nginx = servers.enter_context(nginx_static(html, nginx_port))
                servers.callback(cleanup, nginx.folder)
                wait_for(f"http://127.0.0.1:{nginx_port}/")
                reference = wrk(f"http://127.0.0.1:{nginx_port}/", **run)
                rows = [
                    ("nginx, static file", reference),
                    ("article page, anonymous (page cache)", wrk(cached + path, **run)),
                    ("article page, anonymous (no cache)", wrk(uncached + path, **run)),
                    ("same, page cache, under gunicorn (gthread)", wrk(gunicorn + path, **run)),
                ]
            # In turns, so that the machine's drift falls on all alike.
            gzip = {"headers": ["Accept-Encoding: gzip, deflate, br"]}
            turns = {}
            if counting_rows:
                turns["counting on"] = lambda: wrk(cached + path, **run)
                turns["counting off"] = lambda: wrk(uncounted + path, **run)
            if compression_rows:
                turns["compressed, to a gzip client"] = lambda: wrk(cached + path, **run, **gzip)
                turns["compression on, to a client without gzip"] = lambda: wrk(
                    cached + path, **run
                )
                turns["compression off, to a gzip client"] = lambda: wrk(
                    uncompressed + path, **run, **gzip
                )
            results = {name: [] for name in turns}
            for _round in range(args.rounds):
                for name, measure in turns.items():
                    results[name].append(measure())
            for name, measured in results.items():
                for n, result in enumerate(measured, 1):
                    rows.append((f"page cache, {name} (round {n})", result))
        print(
            f"\nArticle {path} ({len(html) / 1024:.0f} KB), {args.connections} connections, "
            f"{args.seconds}s each, {args.workers} server workers; "
            f"load average before: {load_before:.2f}\n"
        )
        print_table(rows, reference or rows[0][1])

        def ratio(name, over):
            mine = sum(result["rps"] for result in results[name])
            theirs = sum(result["rps"] for result in results[over])
            print(f"{name} / {over}, requests per second over {args.rounds} rounds: ", end="")
            print(f"{mine / theirs:.1%}")

        print()
        if counting_rows:
            ratio("counting on", "counting off")
        if compression_rows:
            ratio("compressed, to a gzip client", "compression off, to a gzip client")
            ratio("compression on, to a client without gzip", "compression off, to a gzip client")
            print(f"article HTML: {len(html)} bytes, {len(compress_page(html))} bytes compressed")
    finally:
        cleanup(var_dir)


if __name__ == "__main__":
    main()
