"""The anonymous article page against nginx serving the same HTML as a file.

    .venv/bin/python bench/article_page.py [--seconds 10] [--connections 32]

Builds a throwaway demo magazine, starts granian (as `make run` does) with
the page cache on and, for reference, with it off, gunicorn with the page
cache on (the server Masthead used before), and nginx with the page's HTML
as a static file; then loads each with wrk, one after another, and prints
requests per second, latency and the ratio to nginx.
"""

import argparse
import os
import re
import tempfile
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
    home = wait_for(base_url + "/").decode()
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
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        env = bench_env(var_dir)
        prepare_site(env)
        cached_port, uncached_port, nginx_port = free_port(), free_port(), free_port()
        gunicorn_port = free_port()
        with (
            app_server(env, cached_port, args.workers),
            app_server(bench_env(var_dir, PAGE_CACHE_SECONDS=0), uncached_port, args.workers),
            gunicorn_server(env, gunicorn_port, args.workers),
        ):
            cached = f"http://127.0.0.1:{cached_port}"
            path = public_article_path(cached)
            html = wait_for(cached + path)
            wait_for(f"http://127.0.0.1:{uncached_port}{path}")
            wait_for(f"http://127.0.0.1:{gunicorn_port}{path}")
            with nginx_static(html, nginx_port) as nginx:
                wait_for(f"http://127.0.0.1:{nginx_port}/")
                run = {"connections": args.connections, "seconds": args.seconds}
                reference = wrk(f"http://127.0.0.1:{nginx_port}/", **run)
                rows = [
                    ("nginx, static file", reference),
                    ("article page, anonymous (page cache)", wrk(cached + path, **run)),
                    (
                        "article page, anonymous (no cache)",
                        wrk(f"http://127.0.0.1:{uncached_port}{path}", **run),
                    ),
                    (
                        "same, page cache, under gunicorn (gthread)",
                        wrk(f"http://127.0.0.1:{gunicorn_port}{path}", **run),
                    ),
                ]
                cleanup(nginx.folder)
        print(
            f"\nArticle {path} ({len(html) / 1024:.0f} KB), {args.connections} connections, "
            f"{args.seconds}s each, {args.workers} server workers; "
            f"load average before: {load_before:.2f}\n"
        )
        print_table(rows, reference)
    finally:
        cleanup(var_dir)


if __name__ == "__main__":
    main()
