"""Backing up a site at work and restoring it into a fresh install, on the
configured database (SQLite or PostgreSQL, as CI runs it)."""

import json
import subprocess
import sys
import tarfile
import time

import pytest

from tests.backups.support import (
    REPO,
    database_counts,
    file_checksums,
    fresh_database,
    install_env,
    manage,
)
from tests.backups.writer import FINISHED_NARRATION, NARRATION
from tests.billing.appserver import serve_test_database


def _wait_for(path, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.1)


def _manifest(archive):
    with tarfile.open(archive, "r:gz") as tar:
        return json.load(tar.extractfile("manifest.json"))


@pytest.mark.slow
def test_a_backup_taken_while_members_subscribe_restores_exactly(
    transactional_db, magazine, tmp_path
):
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    site = tmp_path / "site"
    site.mkdir()
    env = install_env(tmp_path, serve_test_database(site))
    env["BACKUP_DIR"] = str(site / "backups")
    before = database_counts(env["DATABASE_URL"])

    ready, stop = site / "ready", site / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.backups.writer", str(ready), str(stop)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(ready, writer)
        backup = manage(env, "backup")
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=120)
    assert backup.returncode == 0, backup.stderr
    assert writer.returncode == 0, err
    committed = int(out.split()[-1])
    [archive] = (site / "backups").glob("masthead-*.tar.gz")
    manifest = _manifest(archive)
    counts = manifest["counts"]

    # The snapshot holds whole transactions of the writer: as many new
    # members as new subscriptions, at least the one committed before it
    # began and no more than it committed in all.
    new_subscriptions = counts["billing_subscription"] - before["billing_subscription"]
    assert counts["accounts_user"] - before["accounts_user"] == new_subscriptions
    assert 1 <= new_subscriptions <= committed
    written = {"accounts_user", "billing_subscription"}
    assert {t: n for t, n in counts.items() if t not in written} == {
        t: n for t, n in before.items() if t not in written
    }
    # The narration in the middle of its write is not in it; the finished one
    # is, and so is every picture of the magazine.
    assert f"private/{FINISHED_NARRATION}" in manifest["files"]
    assert f"private/{NARRATION}" not in manifest["files"]
    assert not [name for name in manifest["files"] if "/." in name]
    pictures = [name for name in manifest["files"] if name.startswith("media/")]
    assert pictures
    assert manifest["migrations"]["billing"]

    fresh = tmp_path / "fresh"
    with fresh_database(fresh) as url:
        restored_env = install_env(fresh, url)
        restore = manage(restored_env, "restore", str(archive))
        assert restore.returncode == 0, restore.stderr
        assert database_counts(url) == counts
    checksums = {
        name: entry["sha256"]
        for name, entry in manifest["files"].items()
        if not name.startswith("database/")
    }
    assert file_checksums(fresh) == checksums
    # The source's files now include the finished narration as well.
    assert f"private/{NARRATION}" in file_checksums(tmp_path)


@pytest.mark.slow
def test_an_archive_from_before_a_migration_is_migrated_forward(transactional_db, tmp_path):
    from django.core.management import call_command

    site = tmp_path / "site"
    site.mkdir()
    call_command("migrate", "backups", "zero", verbosity=0)
    try:
        env = install_env(tmp_path, serve_test_database(site))
        env["BACKUP_DIR"] = str(site / "backups")
        backup = manage(env, "backup")
    finally:
        call_command("migrate", "backups", verbosity=0)
    assert backup.returncode == 0, backup.stderr
    [archive] = (site / "backups").glob("masthead-*.tar.gz")
    manifest = _manifest(archive)
    assert "backups" not in manifest["migrations"]
    assert "backups_backup" not in manifest["counts"]

    fresh = tmp_path / "fresh"
    with fresh_database(fresh) as url:
        restore = manage(install_env(fresh, url), "restore", str(archive))
        assert restore.returncode == 0, restore.stderr
        assert "Migrated forward: backups.0001_initial" in restore.stdout
        counts = database_counts(url)
    assert counts["backups_backup"] == 0
    assert {table: counts[table] for table in manifest["counts"]} == {
        **manifest["counts"],
        "django_migrations": manifest["counts"]["django_migrations"] + 1,
    }
