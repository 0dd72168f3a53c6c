"""Making a backup archive while the site serves and the worker runs.

The archive is a gzip'd tar file:

    database/masthead.sqlite3 or database/masthead.pgdump
    media/...      the public media (local folder)
    private/...    the private media: narrations, editions, gated pictures
    manifest.json  what is in it, with checksums and row counts
    manifest.sha256

The database copy is consistent by construction: SQLite's online backup API
copies every page in one step under one read transaction (WAL lets writers
go on meanwhile), and `pg_dump` reads a snapshot exported from a repeatable
read transaction in which the row counts are taken too. Media files are
saved whole under their names (`save_atomically`), so the walk sees a file
complete or not at all; the hidden temporary files of writes in progress are
left out, and a file deleted between the listing and its reading is noted
as skipped. Files in S3 buckets are listed with their ETags instead of being
copied: the buckets' own versioning keeps their history.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

FORMAT = 1
ARCHIVE_GLOB = "masthead-*.tar.gz"
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest.sha256"
DATABASE_MEMBERS = {
    "sqlite": "database/masthead.sqlite3",
    "postgresql": "database/masthead.pgdump",
}
# Folder in the archive: the storage it comes from and goes back to.
MEDIA_AREAS = {"media": "default", "private": "private"}
CHUNK = 1024 * 1024


class BackupFailed(Exception):
    pass


def backup_folder():
    return Path(settings.BACKUP_DIR)


def masthead_version():
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def make_backup(to=None, *, using=DEFAULT_DB_ALIAS, progress=None):
    """Write a backup archive into `to` (BACKUP_DIR by default); its path.

    `progress(stage)` is told what is being done, for the admin's page.
    """
    report = progress or (lambda stage: None)
    folder = Path(to) if to else backup_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    began = timezone.now()
    final = _free_name(folder, f"masthead-{began:%Y%m%d-%H%M%S}")
    partial = folder / f".{final.name}.part"
    connection = connections[using]
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupFailed(f"Backing up a {vendor} database is not supported.")
    try:
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=folder) as work:
            report("Copying the database")
            if vendor == "sqlite":
                database, counts, migrations = _snapshot_sqlite(connection, Path(work))
            else:
                database, counts, migrations = _snapshot_postgresql(connection, Path(work))
            manifest = {
                "format": FORMAT,
                "masthead": masthead_version(),
                "created": began.isoformat(),
                "database": {"vendor": vendor, "member": DATABASE_MEMBERS[vendor]},
                "migrations": migrations,
                "counts": counts,
                "files": {},
                "skipped": [],
                "buckets": {},
            }
            with tarfile.open(partial, "w:gz", compresslevel=1) as archive:
                # Every member's personal data and password hash: the
                # operator's eyes only.
                os.chmod(partial, 0o600)
                report("Writing the database into the archive")
                manifest["files"][DATABASE_MEMBERS[vendor]] = _add_file(
                    archive, DATABASE_MEMBERS[vendor], database
                )
                database.unlink()
                for area, alias in MEDIA_AREAS.items():
                    storage = storages[alias]
                    if isinstance(storage, FileSystemStorage):
                        _add_folder(archive, area, Path(storage.location), manifest, report)
                    else:
                        report(f"Listing the {area} bucket")
                        manifest["buckets"][area] = bucket_listing(storage)
                body = json.dumps(manifest, indent=1, sort_keys=True).encode()
                _add_bytes(archive, MANIFEST, body)
                _add_bytes(archive, MANIFEST_CHECKSUM, hashlib.sha256(body).hexdigest().encode())
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return final


def _free_name(folder, stem):
    candidate, n = folder / f"{stem}.tar.gz", 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem}-{n}.tar.gz"
    return candidate


# --- The database --------------------------------------------------------------


def _snapshot_sqlite(connection, work):
    path = work / "masthead.sqlite3"
    if connection.is_in_memory_db():
        connection.ensure_connection()
        source = connection.connection
    else:
        # A connection of its own: the backup waits for no transaction that
        # the caller's connection may have open.
        source = sqlite3.connect(
            connection.settings_dict["NAME"],
            timeout=connection.settings_dict.get("OPTIONS", {}).get("timeout", 20),
        )
    target = sqlite3.connect(path)
    try:
        # pages=-1 copies everything in one step: a step-wise copy would start
        # over whenever another connection writes.
        source.backup(target, pages=-1)
        counts = sqlite_counts(target)
        migrations = _applied(target.execute("select app, name from django_migrations"))
    finally:
        target.close()
        if source is not connection.connection:
            source.close()
    return path, counts, migrations


def sqlite_counts(db):
    tables = [
        name
        for (name,) in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
            " order by name"
        )
    ]
    return {table: db.execute(f'select count(*) from "{table}"').fetchone()[0] for table in tables}


def _applied(rows):
    applied = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def postgresql_environment(settings_dict):
    """The environment that points libpq's tools (pg_dump, pg_restore) at a
    database of DATABASES."""
    env = {**os.environ, "PGDATABASE": settings_dict["NAME"]}
    for key, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    if (settings_dict.get("OPTIONS") or {}).get("sslmode"):
        env["PGSSLMODE"] = settings_dict["OPTIONS"]["sslmode"]
    return env


def postgresql_connect(settings_dict):
    import psycopg

    params = {
        "dbname": settings_dict["NAME"],
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
    }
    return psycopg.connect(**{key: value for key, value in params.items() if value})


def postgresql_counts(pg):
    from psycopg import sql

    tables = [
        name
        for (name,) in pg.execute(
            "select tablename from pg_tables where schemaname = current_schema() order by tablename"
        )
    ]
    return {
        table: pg.execute(
            sql.SQL("select count(*) from {}").format(sql.Identifier(table))
        ).fetchone()[0]
        for table in tables
    }


def _snapshot_postgresql(connection, work):
    import psycopg

    if shutil.which("pg_dump") is None:
        raise BackupFailed("pg_dump was not found: install postgresql-client.")
    path = work / "masthead.pgdump"
    with postgresql_connect(connection.settings_dict) as pg:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        # pg_dump reads the very snapshot in which the rows are counted; the
        # transaction stays open until it has.
        snapshot = pg.execute("select pg_export_snapshot()").fetchone()[0]
        counts = postgresql_counts(pg)
        migrations = _applied(pg.execute("select app, name from django_migrations"))
        dump = subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--compress=1",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={path}",
            ],
            env=postgresql_environment(connection.settings_dict),
            capture_output=True,
            text=True,
        )
        pg.rollback()
    if dump.returncode:
        raise BackupFailed(f"pg_dump failed: {dump.stderr.strip()}")
    return path, counts, migrations


# --- Files ---------------------------------------------------------------------


class _Hashing:
    """A file read through while its checksum is taken."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()

    def read(self, size=-1):
        data = self.handle.read(size)
        self.sha256.update(data)
        return data


def _add_file(archive, name, path):
    with open(path, "rb") as handle:
        return _add_open_file(archive, name, handle)


def _add_open_file(archive, name, handle):
    stat = os.fstat(handle.fileno())
    info = tarfile.TarInfo(name)
    info.size = stat.st_size
    info.mtime = int(stat.st_mtime)
    info.mode = 0o600
    reader = _Hashing(handle)
    archive.addfile(info, reader)
    return {"sha256": reader.sha256.hexdigest(), "size": stat.st_size}


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    archive.addfile(info, _Hashing(_BytesReader(data)))


class _BytesReader:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def read(self, size=-1):
        end = len(self.data) if size < 0 else self.offset + size
        piece = self.data[self.offset : end]
        self.offset += len(piece)
        return piece


def media_names(root):
    """The stored files under `root`, as names relative to it; hidden files
    (writes in progress) left out."""
    names = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        base = Path(folder).relative_to(root)
        names += [(base / name).as_posix() for name in sorted(files) if not name.startswith(".")]
    return names


def add_media(archive, area, root, names, manifest, report=None):
    """Add the files `names` under `root` as `area/name`; those that vanished
    meanwhile go to the manifest's "skipped"."""
    for count, name in enumerate(names, start=1):
        try:
            handle = open(root / name, "rb")  # noqa: SIM115 (closed below)
        except (FileNotFoundError, NotADirectoryError):
            manifest["skipped"].append(f"{area}/{name}")
            continue
        with handle:
            manifest["files"][f"{area}/{name}"] = _add_open_file(archive, f"{area}/{name}", handle)
        if report and count % 100 == 0:
            report(f"Adding the {area} files: {count} of {len(names)}")


def _add_folder(archive, area, root, manifest, report):
    if not root.is_dir():
        return
    report(f"Listing the {area} files")
    add_media(archive, area, root, media_names(root), manifest, report)


def bucket_listing(storage):
    """Every object under an S3 storage's location: name, size, ETag and
    version, sorted by name."""
    prefix = f"{storage.location.strip('/')}/" if storage.location else ""
    listing = []
    for summary in storage.bucket.objects.filter(Prefix=prefix):
        listing.append(
            {
                "name": summary.key[len(prefix) :],
                "size": summary.size,
                "etag": summary.e_tag.strip('"'),
                "modified": summary.last_modified.isoformat(),
            }
        )
    return sorted(listing, key=lambda entry: entry["name"])


# --- Retention -----------------------------------------------------------------


def archives(folder=None):
    """The archives in `folder` (BACKUP_DIR), newest first."""
    folder = Path(folder) if folder else backup_folder()
    if not folder.is_dir():
        return []
    found = [path for path in folder.glob(ARCHIVE_GLOB) if path.is_file()]
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name), reverse=True)


def prune_backups(folder=None, keep=None):
    """Delete all but the `keep` (BACKUP_KEEP) newest archives; 0 keeps all.
    The deleted paths."""
    keep = settings.BACKUP_KEEP if keep is None else keep
    if keep <= 0:
        return []
    doomed = archives(folder)[keep:]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed
