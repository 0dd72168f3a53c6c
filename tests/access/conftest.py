import shutil

import pytest
from django.db import transaction
from django.test import TestCase
from django.test.utils import override_settings


@pytest.fixture(scope="module")
def world_storage(tmp_path_factory):
    return tmp_path_factory.mktemp("world")


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, world_storage):
    """The magazine of tests.access.support, built once per module inside a
    transaction that is rolled back at the end (each test runs in a savepoint
    within it, as Django's TestCase.setUpTestData does)."""
    from django.conf import settings

    from masthead.newsroom.site_tree import ensure_site_tree
    from tests.access.support import build_world

    storages = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(world_storage / "private"), "base_url": None},
        },
    }
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=world_storage / "media", STORAGES=storages),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # The build's commit callbacks (a gated picture's public file
            # deleted once it is moved) run as a committed build's would.
            with TestCase.captureOnCommitCallbacks(execute=True):
                built = build_world(ensure_site_tree())
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def in_world(world, settings, world_storage, db, tmp_path):
    """A test inside the world, with a copy of the world's media and private
    files of its own: its database changes are rolled back after it, and a
    publish that moves a picture's files must not outlive it either."""
    files = tmp_path / "world"
    shutil.copytree(world_storage, files)
    settings.MEDIA_ROOT = files / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(files / "private"), "base_url": None},
        },
    }
    # Fresh objects: a test may change its articles (in its own savepoint).
    from masthead.issues.models import IssuePage
    from masthead.newsroom.models import ArticlePage
    from tests.access.support import World

    return World(
        articles={level: ArticlePage.objects.get(pk=a.pk) for level, a in world.articles.items()},
        issue=IssuePage.objects.get(pk=world.issue.pk),
        plans=world.plans,
        others=[ArticlePage.objects.get(pk=a.pk) for a in world.others],
        other_issue=IssuePage.objects.get(pk=world.other_issue.pk),
    )
