import os
import uuid
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls from that thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _static_root_exists():
    """The folder `collectstatic` fills: without it WhiteNoise warns once for
    every request handler a test builds."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Each test writes media, private files and cache into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    if settings.REDIS_URL:
        # A fresh key prefix per test instead of FLUSHDB, which would wipe the
        # other test process's keys mid-test.
        settings.CACHES = {
            "default": {
                **settings.CACHES["default"],
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": str(tmp_path),
            }
        }
    # This process's copies of cache entries belong to the last test's cache.
    from masthead.serving import perprocess

    perprocess.clear_all()
    from masthead.serving.routing import forget_routes

    forget_routes()
    yield


@pytest.fixture(autouse=True)
def _no_counts_from_the_last_test():
    """Counts are kept per process: those of one test belong to its database,
    not to the next test's (nor to any database at exit)."""
    from masthead.access import institutions
    from masthead.insights import counting

    counting.forget_pending()
    institutions.forget_uses()
    yield
    counting.forget_pending()
    institutions.forget_uses()


@pytest.fixture
def serving_clock():
    """Serving's clock, moved on only by the test (`serving_clock.advance`)."""
    from masthead.serving import clock

    fake = clock.FakeClock()
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


@pytest.fixture
def wsgi_in_test_transaction():
    """Call the WSGI stack directly inside a test's transaction.

    Django closes the connection at the end of each request; as its test
    client does, keep the test's connection (and transaction) open.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def site_tree(db):
    from masthead.newsroom.site_tree import ensure_site_tree

    return ensure_site_tree()


@pytest.fixture
def magazine(site_tree):
    """A small published magazine: see tests.factories.build_magazine."""
    from tests.factories import build_magazine

    return build_magazine(site_tree)


@pytest.fixture
def cache_calls(monkeypatch):
    """`cache_calls(*modules)`: the list of (method, key) calls those modules
    make to Django's cache from then on."""
    calls = []

    class Counting:
        def __init__(self, cache):
            self.cache = cache

        def __getattr__(self, name):
            method = getattr(self.cache, name)

            def call(key, *args, **kwargs):
                calls.append((name, key))
                return method(key, *args, **kwargs)

            return call

    def watch(*modules):
        for module in modules:
            monkeypatch.setattr(module, "cache", Counting(module.cache))
        return calls

    return watch
