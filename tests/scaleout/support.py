"""Real processes for the scale-out tests: app servers, workers, a shared
database and cache.

On PostgreSQL the subprocesses use the test database itself (tests mark
themselves `django_db(transaction=True)` so what they write is committed).
On SQLite, whose test database lives in memory, they get a file copy of it
(SQLite's backup API), taken once the test has set up its data; the test
then reads results back from that file.
"""

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

from masthead.core.serve import web_command

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    message = message() if callable(message) else message
    raise AssertionError(f"{message} not met within {timeout}s")


# The Redis database the subprocesses and RQ queues of these tests use. Not
# the test cache's: tests/conftest.py clears that cache before every test,
# and django-redis clears with FLUSHDB, which would wipe the queue or the
# page cache of a test running meanwhile in another xdist process.
ISOLATED_REDIS_DB = 13


def redis_url():
    """Redis for this test's queues and subprocesses (see ISOLATED_REDIS_DB)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.REDIS_URL or DEFAULT_REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{ISOLATED_REDIS_DB}"))


def forget_redis_keys(*patterns):
    """Delete what a test left in Redis under these key patterns."""
    import redis

    client = redis.Redis.from_url(redis_url())
    for pattern in patterns:
        for key in client.scan_iter(pattern, count=500):
            client.delete(key)


def forget_rq_queue(name):
    """Delete an RQ queue of a test, its registries and their jobs."""
    import redis

    client = redis.Redis.from_url(redis_url())
    job_ids = set()
    for key in client.scan_iter(f"rq:*{name}*", count=500):
        kind = client.type(key)
        if kind == b"zset":
            job_ids |= {m.decode().split(":")[0] for m in client.zrange(key, 0, -1)}
        elif kind == b"list":
            job_ids |= {m.decode() for m in client.lrange(key, 0, -1)}
        client.delete(key)
    forget_redis_keys(*(f"rq:*{job_id}*" for job_id in job_ids))


def redis_available():
    try:
        import redis

        redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
        return True
    except Exception:
        return False


def on_postgresql():
    return connection.vendor == "postgresql"


class SharedDatabase:
    """The database the test and its subprocesses share."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.file = None
        if on_postgresql():
            params = connection.settings_dict
            user = params.get("USER") or "postgres"
            password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
            host = params.get("HOST") or "127.0.0.1"
            port = params.get("PORT") or 5432
            self.url = f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"
        else:
            self.file = self.folder / "shared.sqlite3"
            self.url = f"sqlite:///{self.file}"

    def publish(self):
        """Make what the test wrote so far visible to subprocesses."""
        if self.file is None:
            return  # PostgreSQL: already committed
        connection.ensure_connection()
        target = sqlite3.connect(self.file)
        try:
            connection.connection.backup(target)
        finally:
            target.close()

    def query(self, sql, *params):
        """Rows for `sql` (with %s placeholders), as the subprocesses see them."""
        if self.file is None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        db = sqlite3.connect(self.file, timeout=30)
        try:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            db.close()


def process_env(folder, database, **extra):
    """The environment of a Masthead subprocess sharing `database` and a
    cache with the test's other subprocesses."""
    folder = Path(folder)
    env = {
        **os.environ,
        "MASTHEAD_TESTING": "1",  # the fixed test secret key, no narration on publish
        "MASTHEAD_VAR_DIR": str(folder / "var"),
        "DATABASE_URL": database.url,
        "CACHE_DIR": str(folder / "cache"),
        "EMAIL_URL": f"file://{folder / 'mail'}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
        "PRIVATE_MEDIA_ROOT": str(folder / "private"),
        "MEDIA_ROOT": str(folder / "media"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if settings.REDIS_URL:
        env["REDIS_URL"] = redis_url()
        # A cache and RQ keys of their own: other test runs share this Redis.
        env["CACHE_KEY_PREFIX"] = f"scaleout-{uuid.uuid4().hex[:12]}"
        env["RQ_KEY_PREFIX"] = f"rq-{uuid.uuid4().hex[:12]}"
    else:
        env.pop("REDIS_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Process:
    """A subprocess with its output in a log file; stopped by the test."""

    def __init__(self, command, env, log):
        self.log_path = Path(log)
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        # A process group of its own, so that stopping it also stops what it
        # started (RQ's scheduler), as systemd's KillMode does.
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        """SIGKILL to the process and everything in its group: no cleanup."""
        if self.alive():
            self._signal_group(signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._signal_group(signal.SIGKILL)  # whatever it left running
        self._log.close()

    def _signal_group(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""


def manage(*args):
    return [sys.executable, "manage.py", *args]


def db_worker(env, log, *, queue="default"):
    return Process(
        manage(
            "db_worker",
            "--queue-name",
            queue,
            "--interval",
            "0.2",
            "--no-startup-delay",
            "--no-reload",
        ),
        env,
        log,
    )


def rq_worker(env, log, *, queue="default"):
    return Process(manage("rqworker", queue, "--with-scheduler"), env, log)


class AppServer(Process):
    """The production web server (granian), on a free loopback port."""

    def __init__(self, env, log, workers=2, threads=2, port=None):
        # A given port: the same server started again, as after an upgrade.
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(
            web_command("127.0.0.1", self.port, workers, threads),
            {**env, "SITE_URL": f"http://127.0.0.1:{self.port}"},
            log,
        )

    def wait_ready(self, timeout=90):
        def up():
            if not self.alive():
                raise AssertionError(f"app server exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/health/", timeout=5) as response:
                    return response.status == 200
            except urllib.error.HTTPError as error:
                raise AssertionError(
                    f"/health/ answered {error.code}: {error.read()[:500]!r}\n{self.output()}"
                )
            except OSError:
                return False

        wait_until(up, timeout, interval=0.3, message=f"{self.url} up")
        return self


class Browser:
    """A reader's browser against one app server: keeps cookies, follows no
    redirects, sends the CSRF token with forms."""

    def __init__(self, server, cookies=None):
        self.server = server
        self.cookies = dict(cookies or {})

    def request(self, method, path, form=None):
        import http.client
        from http.cookies import SimpleCookie
        from urllib.parse import urlencode

        headers = {"Host": f"127.0.0.1:{self.server.port}"}
        body = None
        if form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            connection.close()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, form):
        return self.request("POST", path, form)
