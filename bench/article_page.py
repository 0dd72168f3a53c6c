"""The anonymous article page against nginx serving the same HTML as a file.

    .venv/bin/python bench/article_page.py [--seconds 10] [--connections 32]

Builds a throwaway demo magazine, starts granian (as `make run` does) with
the page cache on and, for reference, with it off, gunicorn with the page
cache on (the server Masthead used before), and nginx with the page's HTML
as a static file; then loads each with wrk, one after another, and prints
requests per second, latency and the ratio to nginx. Then the page cache
with insights counting on (the default) and off (INSIGHTS_COUNTING=0), in
turns, --rounds times each, and what counting costs.

    --port-base 19000 binds the servers to 19000 and up instead of free ports;
    --counting-only starts only the two servers that comparison needs.
"""

import argparse
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
    args = parser.parse_args()
    ports = iter(range(args.port_base, args.port_base + 10)) if args.port_base else None

    def port():
        return next(ports) if ports else free_port()

    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        env = bench_env(var_dir)
        prepare_site(env)
        cached_port, uncounted_port = port(), port()
        with ExitStack() as servers:
            servers.enter_context(app_server(env, cached_port, args.workers))
            servers.enter_context(
                app_server(bench_env(var_dir, INSIGHTS_COUNTING=0), uncounted_port, args.workers)
            )
            cached = f"http://127.0.0.1:{cached_port}"
            uncounted = f"http://127.0.0.1:{uncounted_port}"
            path = public_article_path(cached)
            html = wait_for(cached + path)
            wait_for(uncounted + path, timeout=120)
            run = {"connections": args.connections, "seconds": args.seconds}
            rows = []
            reference = None
            if not args.counting_only:
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
            # In turns, so that the machine's drift falls on both alike.
            counting = {"on": [], "off": []}
            for _round in range(args.rounds):
                counting["on"].append(wrk(cached + path, **run))
                counting["off"].append(wrk(uncounted + path, **run))
            for state in ("on", "off"):
                for n, result in enumerate(counting[state], 1):
                    rows.append((f"page cache, counting {state} (round {n})", result))
        print(
            f"\nArticle {path} ({len(html) / 1024:.0f} KB), {args.connections} connections, "
            f"{args.seconds}s each, {args.workers} server workers; "
            f"load average before: {load_before:.2f}\n"
        )
        print_table(rows, reference or counting["off"][0])
        on = sum(result["rps"] for result in counting["on"])
        off = sum(result["rps"] for result in counting["off"])
        print(f"\ncounting on / off, requests per second over {args.rounds} rounds: {on / off:.1%}")
    finally:
        cleanup(var_dir)


if __name__ == "__main__":
    main()
