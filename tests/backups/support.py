"""Installs in folders of their own, driven through manage.py in subprocesses
as an operator would."""

import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from masthead.backups.snapshot import media_names, postgresql_connect, postgresql_counts

REPO = Path(__file__).resolve().parents[2]


def install_env(folder, database_url):
    folder = Path(folder)
    return {
        **os.environ,
        "MASTHEAD_TESTING": "1",
        "MASTHEAD_VAR_DIR": str(folder / "var"),
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(folder / "media"),
        "PRIVATE_MEDIA_ROOT": str(folder / "private"),
        "BACKUP_DIR": str(folder / "backups"),
    }


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@contextmanager
def fresh_database(folder):
    """The DATABASE_URL of a new, empty database: a file on SQLite, a
    database created (and dropped afterwards) on PostgreSQL."""
    from django.db import connection

    if connection.vendor == "sqlite":
        yield f"sqlite:///{Path(folder) / 'masthead.sqlite3'}"
        return
    params = connection.settings_dict
    name = f"{params['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    admin = postgresql_connect({**params, "NAME": "postgres"})
    admin.autocommit = True
    admin.execute(f'create database "{name}"')
    try:
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        yield (
            f"postgres://{params.get('USER') or 'postgres'}{password}"
            f"@{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}/{name}"
        )
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def database_counts(database_url):
    """Every table's row count in the database at `database_url`."""
    from django.db import connection

    if database_url.startswith("sqlite:///"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            from masthead.backups.snapshot import sqlite_counts

            return sqlite_counts(db)
        finally:
            db.close()
    name = database_url.rsplit("/", 1)[-1]
    with postgresql_connect({**connection.settings_dict, "NAME": name}) as pg:
        return postgresql_counts(pg)


def file_checksums(folder):
    """{"media/…": sha256, "private/…": sha256} of an install's files."""
    found = {}
    for area in ("media", "private"):
        root = Path(folder) / area
        if root.is_dir():
            for name in media_names(root):
                found[f"{area}/{name}"] = hashlib.sha256((root / name).read_bytes()).hexdigest()
    return found
