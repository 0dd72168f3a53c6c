"""Putting a backup archive back onto an install.

Nothing is touched until the whole archive has been read and checked: the
gzip stream's own checksum, each file against the manifest's checksum, the
manifest against its own, and the database's row counts against the
manifest's (on SQLite before it is put in place; on PostgreSQL inside the
restoring transaction's result, before migrating). An install whose database
already holds members, subscriptions or articles is refused unless forced.
After the restore, migrations this code has and the archive lacks are run.
"""

import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from .snapshot import (
    CHUNK,
    FORMAT,
    MANIFEST,
    MANIFEST_CHECKSUM,
    MEDIA_AREAS,
    bucket_listing,
    postgresql_connect,
    postgresql_counts,
    postgresql_environment,
    sqlite_counts,
)

# Tables whose rows mean that a database is a magazine's, not a fresh install's.
CONTENT_TABLES = ("accounts_user", "billing_subscription", "newsroom_articlepage")


class RestoreRefused(Exception):
    """The archive is damaged, or the install is not one to restore onto."""


def restore_backup(archive, *, using=DEFAULT_DB_ALIAS, force=False, progress=None):
    """Restore `archive` onto the install's database and storages. Returns a
    summary: the manifest, the files restored and the migrations applied."""
    report = progress or (lambda stage: None)
    archive = Path(archive)
    connection = connections[using]
    if not archive.is_file():
        raise RestoreRefused(f"There is no archive at {archive}.")
    if not force and database_has_content(connection):
        raise RestoreRefused(
            f"The database {connection.settings_dict['NAME']} already holds a magazine "
            "(members, subscriptions or articles); restore onto an empty install, "
            "or pass --force to replace it."
        )
    with tempfile.TemporaryDirectory(prefix="masthead-restore-") as staging:
        staging = Path(staging)
        report("Reading and checking the archive")
        manifest = unpack(archive, staging)
        _check_compatible(manifest, connection)
        database = staging / manifest["database"]["member"]
        report("Restoring the database")
        if connection.vendor == "sqlite":
            _check_counts(manifest, _staged_sqlite_counts(database), archive)
            _restore_sqlite(connection, database)
        else:
            _restore_postgresql(connection, database)
            with postgresql_connect(connection.settings_dict) as pg:
                _check_counts(manifest, postgresql_counts(pg), archive)
        report("Restoring the media")
        restored = _restore_media(manifest, staging)
    missing = missing_from_buckets(manifest)
    report("Migrating")
    applied = _migrate(connection, using)
    return {"manifest": manifest, "files": restored, "migrated": applied, "missing": missing}


def database_has_content(connection):
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in CONTENT_TABLES:
            if table in tables:
                cursor.execute(f"select 1 from {connection.ops.quote_name(table)} limit 1")
                if cursor.fetchone():
                    return True
    return False


# --- Reading and checking --------------------------------------------------------


def unpack(archive, staging):
    """Extract `archive` into `staging`, checking every byte; its manifest."""
    digests = {}
    try:
        # The whole gzip stream first, to its CRC: reading the tar alone
        # (which seeks back within the stream to extract) let some flipped
        # bytes through.
        with gzip.open(archive, "rb") as stream:
            while stream.read(CHUNK):
                pass
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = _safe_name(member, archive)
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with tar.extractfile(member) as source, open(target, "wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                digests[name] = digest.hexdigest()
            # The end of the tar comes before the gzip trailer: read it, so
            # that gzip checks its CRC over the whole stream.
            while tar.fileobj.read(CHUNK):
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise RestoreRefused(f"The archive {archive} is damaged: {error}")
    if MANIFEST not in digests or MANIFEST_CHECKSUM not in digests:
        raise RestoreRefused(f"The archive {archive} is damaged: it has no manifest.")
    body = (staging / MANIFEST).read_bytes()
    if (staging / MANIFEST_CHECKSUM).read_text().strip() != hashlib.sha256(body).hexdigest():
        raise RestoreRefused(
            f"The archive {archive} is damaged: its manifest does not match its checksum."
        )
    manifest = json.loads(body)
    expected = manifest["files"]
    for name, entry in sorted(expected.items()):
        if name not in digests:
            raise RestoreRefused(f"The archive {archive} is damaged: {name} is missing.")
        if digests[name] != entry["sha256"]:
            raise RestoreRefused(
                f"The archive {archive} is damaged: {name} does not match its checksum."
            )
    extra = sorted(set(digests) - set(expected) - {MANIFEST, MANIFEST_CHECKSUM})
    if extra:
        raise RestoreRefused(
            f"The archive {archive} is damaged: {extra[0]} is not in its manifest."
        )
    return manifest


def _safe_name(member, archive):
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts:
        raise RestoreRefused(f"The archive {archive} holds an unexpected entry: {member.name}")
    return path.as_posix()


def _check_compatible(manifest, connection):
    if manifest.get("format") != FORMAT:
        raise RestoreRefused(f"This archive's format ({manifest.get('format')}) is unknown.")
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise RestoreRefused(
            f"This archive holds a {vendor} database; this install uses {connection.vendor}."
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        raise RestoreRefused(
            f"This archive was made by a newer Masthead (version {manifest['masthead']}): "
            f"this code lacks the migration {unknown[0]}. Upgrade, then restore."
        )


def _check_counts(manifest, counts, archive):
    for table, expected in sorted(manifest["counts"].items()):
        found = counts.get(table)
        if found != expected:
            raise RestoreRefused(
                f"The archive {archive} does not match its manifest: the table {table} "
                f"has {found} rows, the manifest says {expected}."
            )


def _staged_sqlite_counts(path):
    db = sqlite3.connect(path)
    try:
        return sqlite_counts(db)
    except sqlite3.DatabaseError as error:
        raise RestoreRefused(f"The archive's database cannot be read: {error}")
    finally:
        db.close()


# --- Putting things back ---------------------------------------------------------


def _restore_sqlite(connection, path):
    connection.close()
    connection.ensure_connection()
    source = sqlite3.connect(path)
    try:
        # The backup API writes the pages into the live file through SQLite,
        # which keeps its journal (WAL) right; a file copy would not.
        source.backup(connection.connection, pages=-1)
    finally:
        source.close()
    connection.close()


def _restore_postgresql(connection, path):
    if shutil.which("pg_restore") is None:
        raise RestoreRefused("pg_restore was not found: install postgresql-client.")
    connection.close()
    with postgresql_connect(connection.settings_dict) as pg:
        # What a fresh `migrate` or a forced restore left behind goes first, so
        # that the archive's schema comes back as it was.
        tables = [
            name
            for (name,) in pg.execute(
                "select tablename from pg_tables where schemaname = current_schema()"
            )
        ]
        if tables:
            from psycopg import sql

            pg.execute(
                sql.SQL("drop table {} cascade").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in tables)
                )
            )
    restore = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={connection.settings_dict['NAME']}",
            str(path),
        ],
        env=postgresql_environment(connection.settings_dict),
        capture_output=True,
        text=True,
    )
    if restore.returncode:
        raise RestoreRefused(f"pg_restore failed: {restore.stderr.strip()}")


def _restore_media(manifest, staging):
    restored = 0
    for name in sorted(manifest["files"]):
        area, _, relative = name.partition("/")
        if area not in MEDIA_AREAS:
            continue
        storage = storages[MEDIA_AREAS[area]]
        source = staging / name
        if isinstance(storage, FileSystemStorage):
            target = Path(storage.path(relative))
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.restoring")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        else:
            if storage.exists(relative):
                storage.delete(relative)
            with open(source, "rb") as handle:
                storage.save(relative, File(handle))
        restored += 1
    return restored


def missing_from_buckets(manifest):
    """The listed bucket objects that are not there now, with the same
    ETag: the operator brings them back from the bucket's versions."""
    missing = []
    for area, listing in manifest.get("buckets", {}).items():
        storage = storages[MEDIA_AREAS[area]]
        if isinstance(storage, FileSystemStorage):
            missing += [f"{area}/{entry['name']}" for entry in listing]
            continue
        present = {entry["name"]: entry["etag"] for entry in bucket_listing(storage)}
        missing += [
            f"{area}/{entry['name']}"
            for entry in listing
            if present.get(entry["name"]) != entry["etag"]
        ]
    return missing


def _migrate(connection, using):
    connection.close()
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        call_command("migrate", database=using, interactive=False, verbosity=0)
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
