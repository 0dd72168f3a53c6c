"""A shared full-page cache for anonymous readers, in front of Django.

It wraps the WSGI application, so a hit costs no Django request cycle: a
request without a session cookie for a page that Django marked
`Cache-Control: public` is answered from memory. Entries live in Django's
cache (Redis at scale, the file cache embedded) so every process shares them,
with a small per-process copy in front. Every entry's key carries a
generation number; publishing anything bumps it (see `invalidate_pages`), so
no process serves a page from before the publish. A page kept here lives for
the cache's ttl or its own `s-maxage`, whichever is shorter.

A publish reaches every reader as soon as its pages are rendered anew, and
within GRACE_SECONDS of its commit at worst. Each process notices the new
generation within GENERATION_TTL; then one request renders each hot page
anew while the others are answered, for at most the rest of the publish's
GRACE_SECONDS, with the page as it was just before (`X-Page-Cache: stale`)
instead of all waiting for that rendering.

Only pages of the types in SHARED_PAGES may be shared at all: Django marks
those `public` for anonymous readers, and `SharedPagesMiddleware` makes every
other response `private` or `no-store`, so a page that carries a person's data
(a gift link, an account form) is never kept here whatever its address. This
wrapper keeps only what Django marked `public`.

A request that carries a session cookie never reads or fills this cache:
what a signed-in reader sees is theirs alone. Other apps may answer such a
request before Django does (`personal_pages`: access's kept article pages).
"""

import re
import time
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache

from .singleflight import flights

GENERATION_KEY = "pagecache:generation"
# The latest bump: (generation number, wall-clock time of the bump).
BUMPED_KEY = "pagecache:bumped"
# How long a process trusts its copy of the generation number (seconds). A
# publish reaches every process within this time.
GENERATION_TTL = 0.5
# Seconds after a bump during which a page of the generation before may be
# answered while the current one is being rendered (see `generations`).
# Under load a process may notice the bump half a second late
# (GENERATION_TTL), and a rendering then took up to 0.65 s on two busy cores
# (bench/breaking_news.py): one second left readers waiting on it.
GRACE_SECONDS = 2.0
LOCAL_ENTRIES = 500
CACHEABLE_TYPES = ("text/html", "application/xml", "application/rss+xml",
                   "application/atom+xml", "text/plain", "text/xml")
# The page types (URL names) whose anonymous answers are the same for every
# reader, so shared caches may keep them: Wagtail's pages (articles cut for
# anonymous readers, sections, issues, the home page), author pages, search
# results, feeds, sitemaps, robots.txt, the read API and oEmbed, public
# narrations and the podcast's artwork, and public uploads in the embedded
# mode. Anything else (accounts, billing, gifts, admin, gated files, health)
# is never shared.
SHARED_PAGES = frozenset({
    "wagtail_serve",
    "robots_txt",
    "sitemap",
    "news_sitemap",
    "newsroom:author_index",
    "newsroom:author",
    "access:search",
    "newsroom:rss",
    "newsroom:atom",
    "newsroom:section_rss",
    "newsroom:section_atom",
    "newsroom:author_rss",
    "newsroom:author_atom",
    "api:articles",
    "api:article",
    "api:oembed",
    "audio:public_feed",
    "audio:artwork",
    "audio:teaser",
    "audio:full",
    "public_media",
})


# This process's copy of the generation number: [number, monotonic time
# read, wall-clock time until which the generation before it may stand in].
_generation = [None, 0.0, 0.0]

# Answers for the GETs this cache leaves alone (those with a session cookie),
# registered by other apps: access's kept article pages. Each has
# `answer(environ)` -> (status, headers, body) or None, tried before Django,
# and `observe(environ, status, headers)`, shown Django's responses to them.
personal_pages = []

# Called with the headers of every page answered from this cache, which no
# Django code sees: insights counts the article reads among them.
hit_hooks = []


def invalidate_pages(**kwargs):
    """Make every cached page stale: in this process at once, in every other
    within GENERATION_TTL."""
    try:
        number = cache.incr(GENERATION_KEY)
    except ValueError:
        number = int(time.time() * 1000)
        cache.set(GENERATION_KEY, number, None)
    bumped_at = time.time()
    # Two bumps at once may record the older one last: the newer generation
    # then has no grace, which only costs waiting for its rendering.
    cache.set(BUMPED_KEY, (number, bumped_at), None)
    _generation[:] = [number, time.monotonic(), bumped_at + GRACE_SECONDS]


def current_generation():
    """The generation number, as this process last read it (GENERATION_TTL).

    Other caches of rendered content (access's article variants) key their
    entries with it too, so one publish refreshes them all.
    """
    now = time.monotonic()
    number, read_at, _grace_until = _generation
    # Tests clear the cache between tests: they read the number every time.
    trusted_for = 0 if settings.TESTING else GENERATION_TTL
    # A copy read "in the future" is not trusted either: a test that froze
    # time (freezegun fakes the monotonic clock too) left it.
    if number is None or not 0 <= now - read_at <= trusted_for:
        kept = cache.get_many([GENERATION_KEY, BUMPED_KEY])
        number = kept.get(GENERATION_KEY)
        if number is None:
            number = int(time.time() * 1000)
            cache.add(GENERATION_KEY, number, None)
            number = cache.get(GENERATION_KEY, number)
        bumped, bumped_at = kept.get(BUMPED_KEY) or (None, 0.0)
        grace_until = bumped_at + GRACE_SECONDS if bumped == number else 0.0
        _generation[:] = [number, now, grace_until]
    return number


def generations():
    """The current generation, and the one before it while the bump that
    ended it is less than GRACE_SECONDS old (else None).

    A page kept in the generation before is what readers got a moment ago.
    While one request renders the current page, others may be answered with
    it rather than wait: the old page for as long as that rendering takes,
    a fraction of a second. Whatever changed (an article gated, a plan
    repriced) is in force for every reader once the new page is kept, and
    whatever happens once the grace ends; kept copies older than one bump
    never stand in.
    """
    number = current_generation()
    return number, (number - 1 if time.time() < _generation[2] else None)


def may_be_shared(request):
    """Whether the request is for a page type that shared caches may keep
    (SHARED_PAGES). Requests that matched no URL (404s) may not."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in SHARED_PAGES


def shared_max_age(cache_control):
    """The s-maxage of a Cache-Control value, in seconds, or None."""
    match = re.search(r"s-maxage=(\d+)", cache_control)
    return int(match.group(1)) if match else None


class AnonymousPageCache:
    def __init__(self, application, ttl=300):
        self.application = application
        self.ttl = ttl
        self.local = OrderedDict()

    def current_generation(self):
        return current_generation()

    def is_candidate(self, environ):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return False
        cookie = environ.get("HTTP_COOKIE", "")
        if settings.SESSION_COOKIE_NAME + "=" in cookie:
            return False
        if environ.get("HTTP_AUTHORIZATION"):
            return False
        # Static files and uploads are not pages (none of CACHEABLE_TYPES):
        # never kept here, so not looked up either. Who may share a response
        # is decided by SHARED_PAGES, not by this.
        return not environ.get("PATH_INFO", "").startswith(
            (settings.STATIC_URL, settings.MEDIA_URL)
        )

    def key(self, environ, generation=None):
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        query = environ.get("QUERY_STRING", "")
        scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
        generation = generation or self.current_generation()
        return f"pagecache:{generation}:{scheme}:{host}:{environ.get('PATH_INFO', '')}?{query}"

    def __call__(self, environ, start_response):
        if not self.is_candidate(environ):
            if personal_pages and environ.get("REQUEST_METHOD") == "GET":
                return self.personal(environ, start_response)
            return self.application(environ, start_response)
        current, previous = generations()
        key = self.key(environ, current)
        # While another process renders the page, asking the shared cache
        # for it on every request would only cost a round trip.
        shared = not flights.rendering_elsewhere(key)
        answer = self.answer_kept(environ, start_response, key, shared=shared)
        if answer is not None:
            return answer
        # A stale hot page: one thread renders it, the others answer from
        # what it keeps, waiting for it unless the page from just before the
        # publish may answer meanwhile.
        before = self.key(environ, previous) if previous else None
        with flights.wait_or_lead(
            key, ready=lambda: self.is_kept(key), instead=before and self.is_kept(before)
        ) as leading:
            if leading is None:
                answer = self.answer_kept(environ, start_response, before, "stale")
                if answer is not None:
                    return answer
            elif not leading:
                answer = self.answer_kept(environ, start_response, key)
                if answer is not None:
                    return answer
            return self.fill(environ, start_response, key)

    def is_kept(self, key):
        return key in self.local or cache.get(key) is not None

    def answer_kept(self, environ, start_response, key, label="hit", shared=True):
        entry = self.local.get(key)
        if entry is None and shared:
            entry = cache.get(key)
            if entry is not None:
                self.remember(key, entry)
        if entry is not None and entry[3] > time.time():
            status, headers, body, _expires = entry
            for hook in hit_hooks:
                hook(headers)
            start_response(status, [*headers, ("X-Page-Cache", label)])
            return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        return None

    def personal(self, environ, start_response):
        for pages in personal_pages:
            answer = pages.answer(environ)
            if answer is not None:
                status, headers, body = answer
                start_response(status, headers)
                return [body]

        def observe(status, headers, exc_info=None):
            for pages in personal_pages:
                pages.observe(environ, status, headers)
            return start_response(status, headers, exc_info)

        return self.application(environ, observe)

    def fill(self, environ, start_response, key):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = []
        result = self.application(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(chunks)
        if environ["REQUEST_METHOD"] == "GET" and self.cacheable(captured):
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != "x-page-cache"]
            # A page may ask to be kept less long (an ad that ends soon).
            ttl = self.ttl
            for name, value in headers:
                if name.lower() == "cache-control":
                    asked = shared_max_age(value)
                    if asked is not None:
                        ttl = min(ttl, asked)
            if ttl > 0:
                entry = (captured["status"], headers, body, time.time() + ttl)
                cache.set(key, entry, ttl)
                self.remember(key, entry)
        return [body]

    def cacheable(self, captured):
        if not captured.get("status", "").startswith("200"):
            return False
        headers = {k.lower(): v for k, v in captured["headers"]}
        if "set-cookie" in headers:
            return False
        cache_control = headers.get("cache-control", "")
        if "public" not in cache_control or "private" in cache_control:
            return False
        if "no-store" in cache_control:
            return False
        return headers.get("content-type", "").startswith(CACHEABLE_TYPES)

    def remember(self, key, entry):
        self.local[key] = entry
        self.local.move_to_end(key)
        while len(self.local) > LOCAL_ENTRIES:
            self.local.popitem(last=False)
