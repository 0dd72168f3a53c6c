"""The first release's database, on the database engine this run is
configured with, for the upgrade tests.

The fixture, first_release.sqlite3.xz, is made by make_first_release_fixture.sh
from b0efc3a (it says why that commit). Tests use it through processes of
their own, as `manage.py migrate` runs on an upgrade, against a copy of it: a
SQLite file, or on PostgreSQL a database of its own that the fixture's rows are
copied into once it has the first release's schema.
"""

import lzma
import os
import shutil
import uuid

import psycopg
import pytest
from django.db import connection

from tests.upgrades.support import FIXTURE, postgres_url, run


@pytest.fixture
def first_release(tmp_path):
    """The first release's database on the configured engine, as the
    environment of a process that uses it, and the fixture's file."""
    copy = tmp_path / "first_release.sqlite3"
    with lzma.open(FIXTURE) as packed, open(copy, "wb") as unpacked:
        shutil.copyfileobj(packed, unpacked)
    env = {
        **os.environ,
        "MASTHEAD_TESTING": "1",
        "MASTHEAD_VAR_DIR": str(tmp_path / "var"),
        "CACHE_KEY_PREFIX": f"upgrade-{uuid.uuid4().hex}",
        "DJANGO_SETTINGS_MODULE": "masthead.settings",
    }
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{copy}"
        yield env, copy
        return

    assert connection.vendor == "postgresql", connection.vendor
    settings_dict = connection.settings_dict
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{settings_dict['NAME']}_first_release_{worker}"
    maintenance = postgres_url(settings_dict, "postgres")
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = postgres_url(settings_dict, name)
    try:
        run(env, "-m", "tests.upgrades.first_release", "load", str(copy))
        yield env, copy
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
