"""Masthead served by granian (as `make run` does) in a subprocess, for tests and benchmarks that
need real concurrency.

pytest-django's SQLite test database lives in memory, where concurrent
writers fail at once ("database table is locked") instead of waiting; so the
app server gets a file copy of it (SQLite's backup API) and its own worker
processes, as in production. On PostgreSQL it shares the test database. The
test process keeps the local Stripe and reads the results back with SQL.
"""

import http.client
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from masthead.core.serve import web_command

REPO = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def snapshot_test_database(path):
    """Copy the current (committed) test database into the file `path`."""
    from django.db import connection

    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()


def serve_test_database(folder):
    """A DATABASE_URL for an app server to use the test database's data:
    a file copy on SQLite, the test database itself on PostgreSQL."""
    from django.db import connection

    if connection.vendor == "sqlite":
        path = Path(folder) / "masthead.sqlite3"
        snapshot_test_database(path)
        return f"sqlite:///{path}"
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return (
        f"postgres://{params.get('USER') or 'postgres'}{password}@{params.get('HOST') or '127.0.0.1'}"
        f":{params.get('PORT') or 5432}/{params['NAME']}"
    )


class AppServer:
    def __init__(
        self,
        workdir,
        database_url,
        *,
        stripe_url="",
        api_key="",
        webhook_secret="",
        workers=4,
        threads=1,
        env=None,
    ):
        self.workdir = Path(workdir)
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mail_dir = self.workdir / "mail"
        self.workers = workers
        self.threads = threads
        self.env = {
            **os.environ,
            "MASTHEAD_TESTING": "1",
            "MASTHEAD_VAR_DIR": str(self.workdir / "var"),
            "DATABASE_URL": database_url,
            "TASKS_BACKEND": "immediate",
            "EMAIL_URL": f"file://{self.mail_dir}",
            "STRIPE_SECRET_KEY": api_key,
            "STRIPE_API_BASE": stripe_url,
            "STRIPE_WEBHOOK_SECRET": webhook_secret,
            "SITE_URL": self.url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
            **(env or {}),
        }
        self.process = None
        self.log = None

    def start(self, timeout=120):
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.workdir / "server.log", "wb")  # noqa: SIM115
        command = web_command("127.0.0.1", self.port, self.workers, self.threads)
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app server exited: {self.read_log()}")
            try:
                urllib.request.urlopen(self.url + "/billing/webhook/", timeout=5)
            except urllib.error.HTTPError as error:
                if error.code == 405:  # up: the webhook takes POST only
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"app server did not start: {self.read_log()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log is not None:
            self.log.close()

    def cpu_seconds(self):
        """CPU time used so far by the server and its workers."""
        total = 0.0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def read_log(self):
        try:
            return (self.workdir / "server.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def sql(self, query, *params):
        """Run SQL on the app server's database; the rows as tuples."""
        if not self.database_url.startswith("sqlite:///"):
            from django.db import connection as django_connection

            with django_connection.cursor() as cursor:
                cursor.execute(query.replace("?", "%s"), params)
                return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        connection = sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=30)
        try:
            with connection:
                return connection.execute(query, params).fetchall()
        finally:
            connection.close()

    def mail_subjects(self):
        subjects = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith("Subject: "):
                    subjects.append(line.removeprefix("Subject: "))
        return subjects

    def post(self, path, data=b"", headers=None):
        """POST without following redirects; the response status."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", path, body=data, headers=headers or {})
            return connection.getresponse().status
        finally:
            connection.close()
