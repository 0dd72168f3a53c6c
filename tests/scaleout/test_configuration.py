"""Scale-out by configuration alone: the environment picks PostgreSQL (with
persistent connections or a pool), Redis for the cache, sessions and RQ, S3
for media; search follows the database."""

import json
import subprocess
import sys

import pytest
from django.db import connection

from tests.scaleout.support import REPO

SHOW = (
    "import json, masthead.settings as s; print(json.dumps({"
    "'db': s.DATABASES['default'], 'caches': s.CACHES, 'tasks': s.TASKS, "
    "'rq_queues': getattr(s, 'RQ_QUEUES', None), 'rq': getattr(s, 'RQ', None), "
    "'apps': s.INSTALLED_APPS, 'session': s.SESSION_ENGINE, 'storages': s.STORAGES, "
    "'serve_media': s.SERVE_MEDIA}, default=str))"
)


def settings_for(**env):
    environment = {
        "PATH": "/usr/bin:/bin",
        "MASTHEAD_VAR_DIR": "/tmp/masthead-config-test",
        "SECRET_KEY": "x" * 50,
        **env,
    }
    output = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_embedded_defaults():
    s = settings_for()
    assert s["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["caches"]["default"]["BACKEND"] == "masthead.core.filecache.FileCache"
    assert s["tasks"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert s["rq_queues"] is None and "django_rq" not in s["apps"]
    assert s["storages"]["private"]["BACKEND"].endswith("FileSystemStorage")
    assert s["serve_media"] is True


def test_scale_out_from_the_environment():
    s = settings_for(
        DATABASE_URL="postgres://masthead:pw@db.internal:5432/masthead",
        REDIS_URL="redis://cache.internal:6379/1",
        SESSION_ENGINE="django.contrib.sessions.backends.cache",
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="meridian-media",
        AWS_PRIVATE_BUCKET_NAME="meridian-private",
    )
    db = s["db"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["NAME"], db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]) == (
        "db.internal",
        "masthead",
        60,
        True,
    )
    assert "pool" not in db.get("OPTIONS", {})
    cache = s["caches"]["default"]
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["LOCATION"] == "redis://cache.internal:6379/1"
    assert s["session"] == "django.contrib.sessions.backends.cache"
    assert s["tasks"]["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert s["rq_queues"]["default"]["URL"] == "redis://cache.internal:6379/1"
    assert s["rq_queues"]["default"]["DEFAULT_TIMEOUT"] == 3600
    assert s["rq"] == {
        "JOB_CLASS": "django_tasks_rq.Job",
        "WORKER_CLASS": "masthead.core.taskqueue.RQWorker",
    }
    assert {"django_rq", "django_tasks_rq"} <= set(s["apps"])
    public, private = s["storages"]["default"], s["storages"]["private"]
    assert public["BACKEND"] == private["BACKEND"] == "storages.backends.s3.S3Storage"
    assert public["OPTIONS"]["bucket_name"] == "meridian-media"
    assert public["OPTIONS"]["querystring_auth"] is False
    assert private["OPTIONS"]["bucket_name"] == "meridian-private"
    assert private["OPTIONS"]["querystring_auth"] is True
    assert private["OPTIONS"]["querystring_expire"] == 300
    assert s["serve_media"] is False


def test_psycopg_pool_on_request():
    db = settings_for(DATABASE_URL="postgres://m@db:5432/m", DB_POOL="2:8")["db"]
    assert db["CONN_MAX_AGE"] == 0
    assert db["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10}


@pytest.mark.django_db
def test_search_uses_the_databases_own_full_text_search():
    from wagtail.search.backends import get_search_backend

    backend = type(get_search_backend())
    if connection.vendor == "postgresql":
        assert backend.__name__ == "PostgresSearchBackend"
        assert backend.__module__.endswith("database.postgres.postgres")
    else:
        assert connection.vendor == "sqlite"
        assert backend.__name__ == "SQLiteSearchBackend"  # FTS5


@pytest.mark.django_db
def test_search_finds_an_article(magazine):
    from masthead.newsroom.models import ArticlePage

    results = list(ArticlePage.objects.live().search("bond market"))
    assert magazine["gated"].specific in [r.specific for r in results]
