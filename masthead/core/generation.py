"""The publish generation: one number in the shared cache that every cache of
rendered content (pages, article variants, teaser fragments, ads) puts in its
keys. Bumping it makes all of them stale at once, in every process.

Only serving bumps it (`serving.invalidation`, whose table says what does);
this module is the shared-cache primitive, here so that apps below serving
(access's teaser fragments) can key on it too.
"""

import time

from django.core.cache import cache

GENERATION_KEY = "pagecache:generation"
# The latest bump: (generation number, wall-clock time of the bump).
BUMPED_KEY = "pagecache:bumped"


def read() -> tuple[int, float | None]:
    """The current generation number, and the wall-clock time it was bumped
    to (None when not known: the number was made, not bumped)."""
    found = cache.get_many([GENERATION_KEY, BUMPED_KEY])
    number = found.get(GENERATION_KEY)
    if number is None:
        number = int(time.time() * 1000)
        cache.add(GENERATION_KEY, number, None)
        number = cache.get(GENERATION_KEY, number)
    bumped, bumped_at = found.get(BUMPED_KEY) or (None, None)
    return int(number), (bumped_at if bumped == number else None)


def current() -> int:
    return read()[0]


def bump(now: float) -> int:
    """A new generation; `now` is the wall-clock time of the bump."""
    try:
        number = cache.incr(GENERATION_KEY)
    except ValueError:
        number = int(now * 1000)
        cache.set(GENERATION_KEY, number, None)
    # Two bumps at once may record the older one last: the newer generation
    # then has no grace, which only costs waiting for its rendering.
    cache.set(BUMPED_KEY, (number, now), None)
    return int(number)
