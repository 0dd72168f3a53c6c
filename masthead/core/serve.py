"""`make run`: the web server and the background worker, in one command.

Granian serves the site (static files through WhiteNoise); the task worker
and the scheduler run beside it. Ctrl-C stops them all.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings


def default_workers():
    """One web process per core, plus one: a process often waits on the
    database or Redis, and the extra one keeps the cores busy meanwhile
    (bench/breaking_news.py's scale-out run kept its p99 lower with 3 than
    with 2 on two cores). Granian warns that this is more processes than
    cores; that is intended."""
    return max(2, (os.cpu_count() or 1) + 1)


def web_command(host="127.0.0.1", port=8000, workers=None, threads=4):
    """The production web server: granian's WSGI interface, `workers`
    processes of `threads` threads each.

    Granian's HTTP layer is Rust, so a page answered from the anonymous page
    cache costs one short call into Python; gunicorn's Python HTTP parsing
    cost about four times as much per request (bench/article_page.py).

    Granian has no option to leave out its `server: granian` header; it sends
    the application's own instead, which SecurityHeadersMiddleware sets on
    every response (tests/scaleout/test_server_banner.py). Answers granian
    makes itself (a malformed request) still carry its banner.
    """
    workers = workers or default_workers()
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        str(host),
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-ws",
        "--respawn-failed-workers",
        "--log-level",
        "warning",
        "masthead.wsgi:application",
    ]


def worker_command():
    manage = [sys.executable, "manage.py"]
    if settings.TASKS_BACKEND == "rq":
        return [*manage, "rqworker", "default", "--with-scheduler"]
    return [*manage, "db_worker", "--interval", "0.5"]


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
    import django

    django.setup()
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    web = web_command(host, port, int(os.environ.get("WEB_CONCURRENCY", 0)) or None)
    scheduler = [sys.executable, "manage.py", "run_scheduler"]
    processes = [
        subprocess.Popen(worker_command()),
        subprocess.Popen(scheduler),
        subprocess.Popen(web),
    ]
    login = settings.VAR_DIR / "admin-login.txt"
    print(f"\nMasthead is running at http://{host}:{port}/")
    print(f"Editors' admin: http://{host}:{port}/admin/")
    if login.exists():
        print(login.read_text().strip())
    print("Press Ctrl-C to stop.\n", flush=True)

    def stop(*_):
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(process.poll() is None for process in processes):
        time.sleep(1)
    stop()


if __name__ == "__main__":
    main()
