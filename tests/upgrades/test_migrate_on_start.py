"""`manage.py migrate_on_start`, which every systemd unit runs before its
process: while another process holds the migrate lock it applies nothing and
waits; then it applies what the release added, and a second run finds
nothing left."""

import contextlib
import fcntl
import subprocess
import sys

import psycopg
from django.db import connection

from masthead.core.management.commands.migrate_on_start import MIGRATE_LOCK_KEY
from tests.scaleout.support import wait_until
from tests.upgrades.support import REPO, manage


@contextlib.contextmanager
def migrate_lock_held_elsewhere(env, sqlite_file):
    """The lock as another process migrating would hold it."""
    if connection.vendor == "postgresql":
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            yield
    else:
        with open(f"{sqlite_file}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def test_a_second_process_waits_for_the_first_to_finish_migrating(first_release, tmp_path):
    env, fixture = first_release
    log = tmp_path / "migrate_on_start.log"
    with migrate_lock_held_elsewhere(env, fixture), open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "migrate_on_start"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: "Waiting for another process" in log.read_text(),
                120,
                message=lambda: f"the waiting line in {log.read_text()!r}",
            )
            assert process.poll() is None
            assert "[ ]  newsroom.0003_magazine_document" in manage(env, "showmigrations", "--plan")
        except BaseException:
            process.kill()
            raise
    assert process.wait(300) == 0, log.read_text()
    assert "Applying newsroom.0003_magazine_document... OK" in log.read_text()
    assert "[ ]" not in manage(env, "showmigrations", "--plan")
    assert "No migrations to apply." in manage(env, "migrate_on_start")
