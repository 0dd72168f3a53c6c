"""The embedded mode's file cache: counted every so many writes, culled
oldest first, never the entries stored without an expiry."""

import os
import pickle

import pytest

from masthead.core import generation
from masthead.core.filecache import FileCache


def file_cache(folder, **options):
    return FileCache(str(folder), {"OPTIONS": options})


def files_in(folder):
    return len([name for name in os.listdir(folder) if name.endswith(".djcache")])


def written_at(cache, key, moment):
    path = cache._key_to_file(key)
    os.utime(path, (moment, moment))


def test_the_folder_is_counted_only_every_so_many_writes(tmp_path):
    cache = file_cache(tmp_path, MAX_ENTRIES=2, COUNT_EVERY=5)
    for n in range(4):
        cache.set(f"page-{n}", n)
    # Past MAX_ENTRIES, nothing is culled before the fifth write counts.
    assert files_in(tmp_path) == 4
    cache.set("page-4", 4)
    # The fifth write counted 4 files, culled them to 2 (MAX_ENTRIES less a
    # third of it, rounded down), then wrote its own.
    assert files_in(tmp_path) == 3


def test_a_cull_drops_the_least_recently_written(tmp_path):
    cache = file_cache(tmp_path, MAX_ENTRIES=6, CULL_FREQUENCY=3, COUNT_EVERY=7)
    for n in range(6):
        cache.set(f"page-{n}", n)
        written_at(cache, f"page-{n}", 1_000_000 + n)
    cache.set("page-6", 6)  # the seventh write counts 6 files: culled to 4
    assert [cache.get(f"page-{n}") for n in range(7)] == [None, None, 2, 3, 4, 5, 6]


def test_an_entry_without_expiry_outlives_every_cull(tmp_path):
    cache = file_cache(tmp_path, MAX_ENTRIES=3, COUNT_EVERY=1)
    cache.set("for-ever", "kept", None)
    written_at(cache, "for-ever", 1_000_000)
    for n in range(20):
        cache.set(f"page-{n}", n)
    assert cache.get("for-ever") == "kept"
    assert files_in(tmp_path) <= 3


@pytest.fixture
def filled_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "masthead.core.filecache.FileCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 30, "COUNT_EVERY": 1},
        }
    }
    from django.core.cache import cache

    return cache


def expiry_of(cache, key):
    with open(cache._key_to_file(key), "rb") as f:
        return pickle.load(f)


def test_incr_keeps_the_expiry(tmp_path):
    cache = file_cache(tmp_path)
    cache.set("for-ever", 1, None)
    cache.set("a-while", 10, 60)
    expires = expiry_of(cache, "a-while")
    assert (cache.incr("for-ever"), cache.incr("a-while", 5), cache.decr("a-while")) == (2, 15, 14)
    assert expiry_of(cache, "for-ever") is None
    assert expiry_of(cache, "a-while") == expires
    with pytest.raises(ValueError):
        cache.incr("missing")


def test_the_publish_generation_survives_a_full_cache(filled_cache):
    """Culled with the pages, or expired after a bump, the generation would
    come back as a new number: every cached page stale at once."""
    generation.bump(now=1_000_000.0)
    number = generation.bump(now=1_000_001.0)
    assert expiry_of(filled_cache, generation.GENERATION_KEY) is None
    for n in range(200):
        filled_cache.set(f"pagecache:{number}:http:example.org:/story-{n}/?", b"<html>", 300)
    assert generation.current() == number


def test_values_are_stored_as_plain_pickles_and_compressed_ones_still_read(tmp_path):
    import zlib

    from django.core.cache.backends.filebased import FileBasedCache

    page = "<p>A cached page.</p>" * 200
    cache = file_cache(tmp_path)
    cache.set("page", page, 60)
    with open(cache._key_to_file("page"), "rb") as f:
        pickle.load(f)  # the expiry
        assert pickle.loads(f.read()) == page
    # An entry Django's own file cache wrote (zlib) in the same folder.
    FileBasedCache(str(tmp_path), {}).set("older", page, 60)
    with open(cache._key_to_file("older"), "rb") as f:
        pickle.load(f)
        assert pickle.loads(zlib.decompress(f.read())) == page
    assert cache.get("older") == page and cache.get("page") == page
    assert cache.get_many(["older", "page", "missing"]) == {"older": page, "page": page}


def test_touch_and_incr_read_both_forms(tmp_path):
    from django.core.cache.backends.filebased import FileBasedCache

    cache = file_cache(tmp_path)
    FileBasedCache(str(tmp_path), {}).set("count", 41, 60)
    assert cache.incr("count") == 42 and cache.get("count") == 42
    FileBasedCache(str(tmp_path), {}).set("older", "a value", 60)
    assert cache.touch("older", 600) and cache.get("older") == "a value"
    assert cache.touch("count", None) and cache.get("count") == 42
    assert not cache.touch("missing")
