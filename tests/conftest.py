import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# calls from that thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


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
    if not settings.REDIS_URL:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": str(tmp_path),
            }
        }
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def site_tree(db):
    from masthead.newsroom.site_tree import ensure_site_tree

    return ensure_site_tree()


@pytest.fixture
def magazine(site_tree):
    """A small published magazine: see tests.factories.build_magazine."""
    from tests.factories import build_magazine

    return build_magazine(site_tree)
