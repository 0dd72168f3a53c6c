"""`make run`: the web server and the background worker, in one command.

Gunicorn serves the site (static files through WhiteNoise); the task worker
runs beside it. Ctrl-C stops both.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings


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
    workers = os.environ.get("WEB_CONCURRENCY", str(max(2, (os.cpu_count() or 1) + 1)))
    web = [
        sys.executable, "-m", "gunicorn", "masthead.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", workers, "--threads", "4", "--keep-alive", "30",
        "--access-logfile", "-", "--log-level", "warning",
    ]
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
