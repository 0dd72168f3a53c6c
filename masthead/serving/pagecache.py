"""A shared full-page cache for anonymous readers, in front of Django.

It wraps the WSGI application, so a hit costs no Django request cycle: a
request without a session cookie for a page that Django marked
`Cache-Control: public` is answered from memory. Entries live in Django's
cache (Redis at scale, the file cache embedded) so every process shares them,
with a small per-process copy in front. Every entry's key carries a
generation number; publishing anything bumps it (see `invalidate_pages`), so
no process serves a page from before the publish. A page cached here lives for
the cache's ttl or its own `s-maxage`, whichever is shorter.

A publish reaches every reader as soon as its pages are rendered anew, and
within PUBLISH_GRACE_SECONDS of its commit at worst. Each process notices the
new generation within SERVING_PER_PROCESS_SECONDS; then one request renders
each hot page anew while the others are answered, for at most the rest of the
publish's grace, with the page as it was just before (`X-Page-Cache: stale`)
instead of all waiting for that rendering.

Only pages of the types in SHARED_PAGES may be shared at all: Django marks
those `public` for anonymous readers, and `SharedPagesMiddleware` makes every
other response `private` or `no-store`, so a page that carries a person's data
(a gift link, an account form) is never cached here whatever its address.
This wrapper caches only what Django marked `public`.

A request from an institution's IP ranges (institutions.py) never reads or
fills this cache either, nor the signed-in readers' cached pages: it goes to
Django, which renders its pages for that institution, private. Working that
out is the first thing done for every request, once: an address parsed and
one bisect.

A request that carries a session cookie never reads or fills this cache:
what a signed-in reader sees is theirs alone. Such a request may be answered
before Django by the cached article variants (`variants.SignedInPages`).
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.text import compress_string

from masthead.access.institutions import institution_scope
from masthead.core import generation

from . import clock, compression
from .institutions import institution_of
from .keys import environ_place, key_part
from .perprocess import PerProcessCache, per_process_cache
from .singleflight import Flight, flights

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .variants import SignedInPages

# Pages this process keeps a copy of, besides the shared cache.
LOCAL_ENTRIES = 500
CACHEABLE_TYPES = (
    "text/html",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "text/plain",
    "text/xml",
)
# The page types (URL names) whose anonymous answers are the same for every
# reader, so shared caches may keep them: Wagtail's pages (articles cut for
# anonymous readers, sections, issues, the home page), author pages, search
# results, feeds, sitemaps, robots.txt, the read API and oEmbed, public
# narrations and the podcast's artwork, and public uploads in the embedded
# mode. Anything else (accounts, billing, gifts, admin, gated files, health)
# is never shared.
SHARED_PAGES = frozenset(
    {
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
    }
)

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Generation:
    """This process's copy of the generation number, and the wall-clock time
    until which the generation before it may stand in (its grace)."""

    number: int
    grace_until: float


# Called with the headers of every page answered from this cache, which no
# Django code sees: insights counts the article reads among them.
HIT_HOOKS: list[Callable[[Headers], None]] = []


def per_process_seconds() -> float:
    return float(settings.SERVING_PER_PROCESS_SECONDS)


@dataclass(frozen=True)
class CandidateRules:
    """The settings that decide whether a request may be answered from this
    cache, read once: they are asked for every request."""

    session_cookie: str
    not_pages: tuple[str, ...]


_candidate_rules: list[CandidateRules] = []
_CANDIDATE_SETTINGS = ("SESSION_COOKIE_NAME", "STATIC_URL", "MEDIA_URL")


def candidate_rules() -> CandidateRules:
    if not _candidate_rules:
        _candidate_rules.append(
            CandidateRules(
                session_cookie=settings.SESSION_COOKIE_NAME + "=",
                not_pages=(settings.STATIC_URL or "/static/", settings.MEDIA_URL or "/media/"),
            )
        )
    return _candidate_rules[0]


@receiver(setting_changed)
def _forget_candidate_rules(setting: str, **kwargs: object) -> None:
    if setting in _CANDIDATE_SETTINGS:
        _candidate_rules.clear()


# One entry: the generation as this process last read it.
_generation: PerProcessCache[Generation] = per_process_cache(1, per_process_seconds)


def invalidate_pages(**kwargs: object) -> None:
    """Make every cached page stale: in this process at once, in every other
    within SERVING_PER_PROCESS_SECONDS."""
    now = clock.now()
    number = generation.bump(now)
    _generation.set("current", Generation(number, now + settings.PUBLISH_GRACE_SECONDS))


def _read_generation() -> Generation:
    copy = _generation.get("current")
    if copy is None:
        number, bumped_at = generation.read()
        grace_until = bumped_at + settings.PUBLISH_GRACE_SECONDS if bumped_at else 0.0
        copy = Generation(number, grace_until)
        _generation.set("current", copy)
    return copy


def current_generation() -> int:
    """The generation number, as this process last read it.

    Other caches of rendered content (the article variants) key their
    entries with it too, so one publish refreshes them all.
    """
    return _read_generation().number


def generations() -> tuple[int, int | None]:
    """The current generation, and the one before it while the bump that
    ended it is less than PUBLISH_GRACE_SECONDS old (else None).

    A page cached in the generation before is what readers got a moment ago.
    While one request renders the current page, others may be answered with
    it rather than wait: the old page for as long as that rendering takes.
    Whatever changed (an article gated, a plan repriced) is in force for
    every reader once the new page is cached, and whatever happens once the
    grace ends; cached copies older than one bump never stand in.
    """
    copy = _read_generation()
    return copy.number, (copy.number - 1 if clock.now() < copy.grace_until else None)


def may_be_shared(request: HttpRequest) -> bool:
    """Whether the request is for a page type that shared caches may keep
    (SHARED_PAGES). Requests that matched no URL (404s) may not."""
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in SHARED_PAGES


def shared_max_age(cache_control: str) -> int | None:
    """The s-maxage of a Cache-Control value, in seconds, or None."""
    match = re.search(r"s-maxage=(\d+)", cache_control)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class CachedPage:
    status: str
    headers: Headers  # with the body's Content-Length
    body: bytes
    expires: float  # wall-clock time
    # The body gzip-compressed, made once when the page was cached, and the
    # headers to send it with; None when it would not be smaller.
    gzipped: bytes | None = None
    gzip_headers: Headers | None = None


def cached_page(status: str, headers: Headers, body: bytes, expires: float) -> CachedPage:
    """A page to cache, with its compressed copy when compressing pays."""
    headers = compression.vary_on_encoding(headers)
    gzipped = gzip_headers = None
    if compression.enabled() and compression.is_compressible(*compression.content_type_of(headers)):
        gzipped = compression.gzip_body(body)
        if gzipped is not None:
            gzip_headers = compression.with_body_length(headers, gzipped, "gzip")
    return CachedPage(
        status, compression.with_body_length(headers, body), body, expires, gzipped, gzip_headers
    )


# Gzip copies of the signed-in readers' cached article pages.
compressed_variants = compression.CompressedCopies()


def compressed_response(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """An uncached answer compressed as CompressionMiddleware would."""
    if not compression.is_compressible(*compression.content_type_of(headers)):
        return headers, body
    headers = compression.vary_on_encoding(headers)
    if len(body) < compression.MIN_BYTES:
        return headers, body
    gzipped = compress_string(body, max_random_bytes=100)
    if len(gzipped) >= len(body):
        return headers, body
    return compression.with_body_length(headers, gzipped, "gzip"), gzipped


class AnonymousPageCache:
    """The WSGI application with the anonymous page cache in front, and the
    signed-in readers' article pages (`signed_in_pages`) answered before
    Django where they can be."""

    def __init__(
        self,
        application: "WSGIApplication",
        ttl: int = 300,
        signed_in_pages: "SignedInPages | None" = None,
    ) -> None:
        if signed_in_pages is None:
            from .variants import signed_in_pages as default_pages

            signed_in_pages = default_pages
        self.application = application
        self.ttl = ttl
        self.signed_in_pages = signed_in_pages
        self.local: PerProcessCache[CachedPage] = per_process_cache(
            LOCAL_ENTRIES, lambda: float(self.ttl)
        )

    def is_candidate(self, environ: "WSGIEnvironment") -> bool:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return False
        rules = candidate_rules()
        if rules.session_cookie in environ.get("HTTP_COOKIE", ""):
            return False
        if environ.get("HTTP_AUTHORIZATION"):
            return False
        # Static files and uploads are not pages (none of CACHEABLE_TYPES):
        # never cached here, so not looked up either. Who may share a
        # response is decided by SHARED_PAGES, not by this.
        return not str(environ.get("PATH_INFO", "")).startswith(rules.not_pages)

    def key(self, environ: "WSGIEnvironment", generation_number: int | None = None) -> str:
        number = generation_number or current_generation()
        query = environ.get("QUERY_STRING", "")
        path = environ.get("PATH_INFO", "")
        return (
            f"pagecache:{number}:{key_part(environ_place(environ))}:{key_part(f'{path}?{query}')}"
        )

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        current, previous = generations()
        institution = institution_of(environ, current)
        if institution is None:
            return self.serve(environ, start_response, current, previous)
        # Django's reader middleware finds the institution in the scope.
        with institution_scope(institution):
            return self.application(environ, start_response)

    def serve(
        self,
        environ: "WSGIEnvironment",
        start_response: "StartResponse",
        current: int,
        previous: int | None,
    ) -> Iterable[bytes]:
        if not self.is_candidate(environ):
            if environ.get("REQUEST_METHOD") == "GET":
                return self.signed_in(environ, start_response, (current, previous))
            return self.application(environ, start_response)
        key = self.key(environ, current)
        # While another process renders the page, asking the shared cache
        # for it on every request would only cost a round trip.
        page = self.cached(key, shared=not flights.rendering_elsewhere(key))
        if page is not None:
            return self.answer(environ, start_response, page, "hit")
        # A stale hot page: one thread renders it, the others answer from
        # what it caches, waiting for it unless the page from just before
        # the publish may answer meanwhile.
        before = self.key(environ, previous) if previous else None
        page_before = self.cached(before) if before else None
        with flights.wait_or_lead(
            key, ready=lambda: self.cached(key) is not None, from_before=page_before is not None
        ) as flight:
            if flight is Flight.FROM_BEFORE and page_before is not None:
                return self.answer(environ, start_response, page_before, "stale")
            if flight is Flight.READY:
                page = self.cached(key)
                if page is not None:
                    return self.answer(environ, start_response, page, "hit")
            return self.fill(environ, start_response, key)

    def cached(self, key: str, shared: bool = True) -> CachedPage | None:
        """The page cached at `key` and not expired; `shared=False` looks in
        this process's copies only."""
        page = self.local.get(key)
        if page is None and shared:
            page = cache.get(key)
            if page is not None:
                self.local.set(key, page, page.expires - clock.now())
        if page is not None and page.expires > clock.now():
            return page
        return None

    def answer(
        self,
        environ: "WSGIEnvironment",
        start_response: "StartResponse",
        page: CachedPage,
        label: str,
    ) -> Iterable[bytes]:
        for hook in HIT_HOOKS:
            hook(page.headers)
        headers, body = page.headers, page.body
        if page.gzipped is not None and compression.accepts_gzip(
            environ.get("HTTP_ACCEPT_ENCODING", "")
        ):
            headers, body = page.gzip_headers or headers, page.gzipped
        start_response(page.status, [*headers, ("X-Page-Cache", label)])
        return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def signed_in(
        self,
        environ: "WSGIEnvironment",
        start_response: "StartResponse",
        generation: tuple[int, int | None],
    ) -> Iterable[bytes]:
        answer = self.signed_in_pages.answer(environ, generation)
        if answer is not None:
            status, headers, body = answer
            if compression.enabled() and compression.accepts_gzip(
                environ.get("HTTP_ACCEPT_ENCODING", "")
            ):
                gzipped = compressed_variants.get(body)
                if gzipped is not None:
                    headers, body = compression.with_body_length(headers, gzipped, "gzip"), gzipped
            start_response(status, headers)
            return [body]

        def observe(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., Any]:
            self.signed_in_pages.observe(environ, status, headers)
            return start_response(status, headers, exc_info)

        return self.application(environ, observe)

    def fill(
        self, environ: "WSGIEnvironment", start_response: "StartResponse", key: str
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[..., Any]:
            # Answered once the body is read: it may go out compressed.
            captured["status"], captured["headers"] = status, headers
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return lambda data: None

        # Django answers uncompressed: the cache keeps one page for every
        # client, and its compressed copy beside it.
        accept_encoding = environ.get("HTTP_ACCEPT_ENCODING", "")
        result = self.application({**environ, "HTTP_ACCEPT_ENCODING": "identity"}, capture)
        chunks = []
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(chunks)
        status, headers = captured["status"], captured["headers"]
        page = None
        if environ["REQUEST_METHOD"] == "GET" and self.cacheable(captured):
            headers = [(k, v) for k, v in headers if k.lower() != "x-page-cache"]
            # A page may ask to be cached less long (an ad that ends soon).
            ttl = self.ttl
            for name, value in headers:
                if name.lower() == "cache-control":
                    asked = shared_max_age(value)
                    if asked is not None:
                        ttl = min(ttl, asked)
            if ttl > 0:
                page = cached_page(status, headers, body, clock.now() + ttl)
                cache.set(key, page, ttl)
                self.local.set(key, page, ttl)
        if page is not None:
            if page.gzipped is not None and compression.accepts_gzip(accept_encoding):
                start_response(status, page.gzip_headers or page.headers)
                return [page.gzipped]
            headers = page.headers
        elif compression.enabled() and compression.accepts_gzip(accept_encoding):
            # Not shared (a form with its CSRF token): Django's padded gzip.
            headers, body = compressed_response(headers, body)
        start_response(status, headers)
        return [body]

    def cacheable(self, captured: dict[str, Any]) -> bool:
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
        return bool(headers.get("content-type", "").startswith(CACHEABLE_TYPES))
