"""Article pages served from cached variants.

Every reader with the same variant of an article (`access.reading.Reader`)
gets the same HTML, so an article page is rendered once per variant and
publish generation, and cached. Three paths lead to a cached variant:

- `serve_article_page` runs inside Wagtail's serving (the `on_serve_page`
  hook, after routing and view restrictions). It works out the reader's
  variant, answers from the cached copy or renders and caches it, and
  caches the route: this host and path serve this article.
- `serve_known_article` runs in the reader middleware, before URL routing,
  for requests that carry a session cookie. On a cached route it needs the
  session, the member and their entitlement (members.py), then answers from
  the cached copy without routing or rendering.
- `SignedInPages` answers before Django is involved at all (from the page
  cache's WSGI wrapper), when the session, the cached member and
  entitlement, the route and the variant are all in the cache and the
  reader's access needs no query (`rules.decidable_without_query`). It
  replays the headers Django's middleware gave cached pages for signed-in
  readers. The same reader asking again gets the answer worked out then,
  with one lookup, while it stands: within SERVING_PER_PROCESS_SECONDS and
  never past what it was worked out from (the variant's expiry, the member's
  and entitlement's time to be read again).

After a publish, the first reader of a hot page renders it anew; during the
publish's grace (`pagecache.generations`) the others are answered with the
variant cached just before (`X-Article-Cache: stale`), their own access
still decided now, instead of all waiting for that rendering.

Never cached: previews, staff and editors (the Wagtail userbar is theirs),
pages behind a view restriction, and responses that set cookies or a CSRF
token. Every key carries the page cache's generation, so whatever makes
pages stale (invalidation.py) refreshes every cached variant at once.
"""

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import get_path_info
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from wagtail.models import Page

from masthead.access import rules
from masthead.access.institutions import count_article_view
from masthead.access.reading import Reader, reader_for

from . import clock, members
from .keys import PlaceKeys, environ_place, place_inputs, place_keys, request_place
from .members import (
    CachedMember,
    Member,
    entitlement_before_django,
    is_editor,
    member_before_django,
    signed_in_reader,
)
from .pagecache import generations
from .perprocess import PerProcessCache, per_process_cache
from .singleflight import Flight, flights

if TYPE_CHECKING:
    from masthead.accounts.models import User

HIT_HEADER = "X-Article-Cache"

logger = logging.getLogger(__name__)

Headers = list[tuple[str, str]]
# `variant_of(terms, from_before)`: the reader's variant for the article with
# those terms (`from_before`: terms cached before the publish), or None when
# it cannot be told where the caller is.
VariantOf = Callable[[rules.Terms, bool], str | None]


class Label(enum.Enum):
    """How a cached variant answers (the X-Article-Cache header)."""

    HIT = "hit"  # cached in this generation, answered inside Django
    BEFORE_DJANGO = "early"  # cached in this generation, answered before Django
    STALE = "stale"  # cached before the publish, while it is rendered anew
    STORED = "stored"  # rendered now, and cached


class CachedEntries:
    """Entries in Django's cache (shared by every process) with a small
    per-process copy in front; each entry carries its expiry."""

    def __init__(self, prefix: str, local_entries: int) -> None:
        self.prefix = prefix
        self.local: PerProcessCache[tuple[Any, float]] = per_process_cache(
            local_entries, lambda: 0.0
        )

    def get(self, key: str, shared: bool = True) -> Any:
        """The entry's value, or None; `shared=False` looks in this
        process's copies only."""
        entry = self.entry(key, shared)
        return None if entry is None else entry[0]

    def entry(self, key: str, shared: bool = True) -> tuple[Any, float] | None:
        """(value, expiry as a wall-clock time), or None."""
        entry = self.local.get(key)
        if entry is None and shared:
            entry = cache.get(self.prefix + key)
            if entry is None:
                return None
            self.local.set(key, entry, entry[1] - clock.now())
            if entry[1] <= clock.now():
                return None
        return entry

    def set(self, key: str, value: Any, ttl: float) -> None:
        entry = (value, clock.now() + ttl)
        cache.set(self.prefix + key, entry, ttl)
        self.local.set(key, entry, ttl)


routes = CachedEntries("serving:route:", local_entries=5000)
# Whole pages: this process keeps the most recent few hundred in memory.
variants = CachedEntries("serving:variant:", local_entries=500)


# How long what a request renders stays true ---------------------------------------------


def valid_until(request: HttpRequest, moment: float | None) -> None:
    """Note that what this request renders changes at `moment` (a
    wall-clock time), e.g. an ad's start or end: cached copies of it must
    not outlive it. (A template tag tells the middleware through the
    request: no argument reaches from one to the other.)"""
    current = getattr(request, "_serving_valid_until", None)
    if moment is not None and (current is None or moment < current):
        request._serving_valid_until = moment  # type: ignore[attr-defined]


def seconds_valid(request: HttpRequest, ttl: int) -> int:
    until = getattr(request, "_serving_valid_until", None)
    if until is None:
        return ttl
    return max(0, min(ttl, int(until - clock.now())))


# Rendering a route anew after a publish ----------------------------------------------


def refresh_claim_seconds() -> float:
    return float(settings.CLAIM_RECHECK_SECONDS)


# Routes this process found another request rendering anew a moment ago.
refreshing_elsewhere: PerProcessCache[bool] = per_process_cache(10_000, refresh_claim_seconds)


def _route_claim_key(route_key: str) -> str:
    return f"serving:refreshing:{route_key}"


class RouteRefresh:
    """One request's claim on rendering a route not cached in this
    generation yet: the first request to ask renders it, until it ends
    (`end`); the others may be answered with the page from before the
    publish meanwhile."""

    def __init__(self) -> None:
        self.route_key: str | None = None

    def claim(self, route_key: str) -> bool:
        if self.route_key == route_key:
            return True
        if route_key in refreshing_elsewhere:
            return False
        if cache.add(_route_claim_key(route_key), 1, settings.REFRESH_CLAIM_SECONDS):
            self.route_key = route_key
            return True
        refreshing_elsewhere.set(route_key, True)
        return False

    def end(self) -> None:
        """The request ended: if it was rendering a page anew, the next
        request renders it again (a page that is no longer an article, or
        may not be cached, is never answered from before the publish for
        long)."""
        if self.route_key is not None:
            cache.delete(_route_claim_key(self.route_key))
            refreshing_elsewhere.discard(self.route_key)
            self.route_key = None


def claimed_elsewhere(route_key: str) -> bool:
    """Whether another request holds the claim on rendering `route_key`
    anew (asked before Django, which does not claim: Django does)."""
    if route_key in refreshing_elsewhere:
        return True
    if cache.get(_route_claim_key(route_key)) is None:
        return False
    refreshing_elsewhere.set(route_key, True)
    return True


# Finding a cached variant -------------------------------------------------------------


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    label: Label
    article_id: int | None
    full: bool
    # Wall-clock time until which the route and the variant stand.
    expires: float


def cached_body(
    keys: PlaceKeys, path: str, variant_of: VariantOf, refresh: RouteRefresh | None
) -> CachedBody | None:
    """The cached page for `path`, or None: HIT when cached in this
    generation; STALE when, during a publish's grace, another request is
    rendering it anew and the page cached just before answers meanwhile.
    `refresh` claims the rendering of a route not cached in this generation
    (None: leave that to Django, and answer only when another request holds
    the claim)."""
    route = keys.route(path)
    # While another request renders the page anew, asking the shared cache
    # for it on every request would only cost round trips.
    entry = routes.entry(route, shared=route not in refreshing_elsewhere)
    if entry is not None:
        return _current_route(keys, entry, variant_of)
    route_before = keys.route_before(path)
    if route_before is None:
        return None
    terms = routes.get(route_before)
    if terms is None:
        return None
    if refresh is not None:
        if refresh.claim(route):
            return None
    elif not claimed_elsewhere(route):
        return None
    variant = variant_of(terms, True)
    if variant is None:
        return None
    return _from_before(keys, terms.article_id, variant)


# Called with (article id, whether the reader gets the whole article) for
# each article page served, rendered or cached; may answer a header for the
# response, which the page cache keeps with an anonymous page. Insights
# counts reads and paywall views with it (registered from its ready()).
ARTICLE_VIEW_HOOKS: list[Callable[[int, bool], tuple[str, str] | None]] = []


def _viewed(article_id: int | None, full: bool) -> list[tuple[str, str]]:
    headers = []
    if article_id is not None:
        for hook in ARTICLE_VIEW_HOOKS:
            header = hook(article_id, full)
            if header is not None:
                headers.append(header)
    return headers


def _current_route(
    keys: PlaceKeys, route: tuple[rules.Terms, float], variant_of: VariantOf
) -> CachedBody | None:
    terms, route_expires = route
    variant = variant_of(terms, False)
    if variant is None:
        return None
    key = keys.variant(terms.article_id, variant)
    found = variants.entry(key, shared=not flights.rendering_elsewhere("variant:" + key))
    if found is not None:
        full = variant.startswith("full")
        _viewed(terms.article_id, full)
        return CachedBody(found[0], Label.HIT, terms.article_id, full, min(route_expires, found[1]))
    if keys.previous is None or not flights.in_flight("variant:" + key):
        return None
    return _from_before(keys, terms.article_id, variant)


def _from_before(keys: PlaceKeys, article_id: int | None, variant: str) -> CachedBody | None:
    key = keys.variant_before(article_id, variant)
    found = variants.entry(key) if key else None
    if found is None:
        return None
    full = variant.startswith("full")
    _viewed(article_id, full)
    return CachedBody(found[0], Label.STALE, article_id, full, found[1])


def _response(body: bytes, label: Label) -> HttpResponse:
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response[HIT_HEADER] = label.value
    return response


# Inside Wagtail's serving -------------------------------------------------------------


def serve_article_page(
    serve: Callable[..., HttpResponse],
    page: Page,
    request: HttpRequest,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> HttpResponse:
    """Wagtail's serving of an article page, through the cached variants."""
    from masthead.newsroom.models import ArticlePage

    if (
        not isinstance(page, ArticlePage)
        or request.method != "GET"
        or args
        or kwargs
        or getattr(request, "is_preview", False)
        or is_editor(getattr(request, "user", None), fresh=True)
    ):
        return serve(page, request, args, kwargs)
    user = signed_in_reader(request)
    reader = reader_for(request, page, user=user)
    response = _serve_variant(serve, page, request, args, kwargs, reader)
    count_article_view(reader.access.reason)
    for name, value in _viewed(page.pk, reader.full):
        response[name] = value
    return response


def _serve_variant(
    serve: Callable[..., HttpResponse],
    page: Page,
    request: HttpRequest,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    reader: Reader,
) -> HttpResponse:
    keys = place_keys(request_place(request))
    key = keys.variant(page.pk, reader.variant)
    body = variants.get(key)
    if body is not None:
        return _response(body, Label.HIT)
    # Readers of one variant arriving together share one rendering; during
    # a publish's grace the others get the page from before it meanwhile.
    before = keys.variant_before(page.pk, reader.variant)
    body_before = variants.get(before) if before else None
    with flights.wait_or_lead(
        "variant:" + key,
        ready=lambda: variants.get(key) is not None,
        from_before=body_before is not None,
    ) as flight:
        if flight is Flight.FROM_BEFORE and body_before is not None:
            return _response(body_before, Label.STALE)
        if flight is Flight.READY:
            body = variants.get(key)
            if body is not None:
                return _response(body, Label.HIT)
        response = serve(page, request, args, kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        if _may_cache(request, page, response):
            _cache(request, keys, key, reader, response)
        return response


def _may_cache(request: HttpRequest, page: Page, response: HttpResponse) -> bool:
    return bool(
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Cache-Control")
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and response.get("Content-Type", "").startswith("text/html")
        and not page.get_view_restrictions().exists()
    )


def _cache(
    request: HttpRequest, keys: PlaceKeys, key: str, reader: Reader, response: HttpResponse
) -> None:
    ttl = seconds_valid(request, settings.ARTICLE_VARIANT_SECONDS)
    if ttl > 0:
        variants.set(key, response.content, ttl)
        routes.set(keys.route(request.path_info), reader.terms, ttl)
        if reader.signed_in:
            # For SignedInPages, which learns the headers of cached pages
            # for signed-in readers from this one.
            response[HIT_HEADER] = Label.STORED.value


# In the reader middleware, before URL routing -----------------------------------------


def serve_known_article(request: HttpRequest, refresh: RouteRefresh) -> HttpResponse | None:
    """A cached article page for a request with a session cookie or from an
    institution's range, or None to let Django and Wagtail serve it."""
    if request.method != "GET":
        return None
    user: Member | None = None
    reasons: list[str] = []

    def variant_of(terms: rules.Terms, from_before: bool) -> str | None:
        nonlocal user
        if user is None:
            user = signed_in_reader(request)
        if is_editor(user):
            return None
        # Worked out from the terms before the publish, a reader must not be
        # reused if Django renders the page after all.
        reader = reader_for(request, terms=terms, user=user, remember=not from_before)
        reasons.append(reader.access.reason)
        return reader.variant

    found = cached_body(place_keys(request_place(request)), request.path_info, variant_of, refresh)
    if found is None:
        return None
    count_article_view(reasons[-1] if reasons else "")
    return _response(found.body, found.label)


# Before Django ----------------------------------------------------------------------------

Answer = tuple[str, Headers, bytes]


class SignedInPages:
    """Cached article pages for signed-in readers, answered before Django.

    The page cache's WSGI wrapper asks it about a GET with a session cookie.
    It answers only when everything it needs is already in the cache: the
    session, the cached member (its auth hash matching the session's), their
    cached entitlement, the route and the variant. It never queries the
    database, so it leaves to Django every reader whose access would need a
    query and everything it does not know; Django serves those (and caches
    what it may).

    Its response carries the headers Django's middleware gave a cached page
    for a signed-in reader on this host (seen by `observe`): private, varying
    on the cookie, with the security headers. Cached pages carry no header
    of their own, so those are the same for every one of them.
    """

    def __init__(self) -> None:
        self.headers: PerProcessCache[Headers] = per_process_cache(100, lambda: 0.0)

    def observe(self, environ: Mapping[str, Any], status: str, headers: Headers) -> None:
        """Django's answer to a GET with a session cookie."""
        if not status.startswith("200"):
            return
        named = {name.lower(): value for name, value in headers}
        if (
            named.get(HIT_HEADER.lower()) not in (Label.HIT.value, Label.STORED.value)
            or "private" not in named.get("cache-control", "")
            or "set-cookie" in named
        ):
            return
        replayed = [
            (name, value)
            for name, value in headers
            # The body may have gone out compressed; the replayed one is not.
            if name.lower()
            not in ("content-length", "content-encoding", "set-cookie", HIT_HEADER.lower())
        ]
        # As long as the generation lasts: a publish may change them.
        self.headers.set(place_keys(environ_place(environ)).current, replayed, 24 * 3600)

    def answer(
        self, environ: dict[str, Any], generation: tuple[int, int | None] | None = None
    ) -> Answer | None:
        """The cached page for a GET with a session cookie, or None;
        `generation`: `pagecache.generations()` as the caller read it."""
        try:
            return self._answer(environ, generation or generations())
        except Exception:
            # Django serves what this cannot: it checks everything again.
            logger.exception("Cached article page not answered before Django")
            return None

    def _answer(self, environ: dict[str, Any], generation: tuple[int, int | None]) -> Answer | None:
        if settings.SESSION_SAVE_EVERY_REQUEST:
            return None
        cookie = environ.get("HTTP_COOKIE", "")
        if settings.SESSION_COOKIE_NAME + "=" not in cookie:
            return None
        # The same reader asking for the same page again: nothing it was
        # worked out from has changed while the answer stands.
        known_key = (generation, cookie, environ.get("PATH_INFO"), place_inputs(environ))
        known: KnownAnswer | None = members.answers.get(known_key)
        if known is not None:
            _viewed(known.article_id, known.full)
            return known.answer
        found = self._work_out(environ, cookie)
        if found is None:
            return None
        known, lifetime = found
        members.answers.set(known_key, known, lifetime)
        return known.answer

    def _work_out(self, environ: dict[str, Any], cookie: str) -> tuple["KnownAnswer", float] | None:
        """The answer from the cached session, member, entitlement, route and
        variant, and how long it stands (no longer than any of them; not at
        all when it is the page from before a publish)."""
        keys = place_keys(environ_place(environ))
        headers = self.headers.get(keys.current)
        if headers is None and keys.previous is not None:
            headers = self.headers.get(keys.previous)
        if headers is None:
            return None
        session_key = parse_cookie(cookie).get(settings.SESSION_COOKIE_NAME, "")
        reader: dict[str, Any] = {}

        def variant_of(terms: rules.Terms, from_before: bool) -> str | None:
            if not reader:
                member = member_before_django(session_key)
                if member is None or is_editor(member):
                    return None
                entry = entitlement_before_django(member)
                if entry is None:
                    return None  # Django reads it (again)
                reader.update(member=member, entitlement=entry)
            signed_in: CachedMember = reader["member"]
            entry = reader["entitlement"]
            held = entry.entitlement
            if not rules.decidable_without_query(terms, held):
                return None
            with rules.reader_scope():
                rules.remember(("entitlement", signed_in.pk), held)
                if entry.issues is not None:
                    rules.remember(("issues", signed_in.pk), entry.issues)
                # The cached member stands in for the user (pk, staff flags).
                access = rules.decide(cast("User", signed_in), terms)
            return Reader(
                article=None, terms=terms, access=access, signed_in=True, ads=held is None
            ).variant

        found = cached_body(keys, get_path_info(environ), variant_of, refresh=None)
        if found is None:
            return None
        label = Label.BEFORE_DJANGO if found.label is Label.HIT else found.label
        answer = (
            "200 OK",
            [*headers, ("Content-Length", str(len(found.body))), (HIT_HEADER, label.value)],
            found.body,
        )
        if found.label is not Label.HIT:
            return KnownAnswer(answer, found.article_id, found.full), 0.0
        entry = reader["entitlement"]
        until = min(found.expires, reader["member"].refresh_at, entry.refresh_at, entry.expires)
        return KnownAnswer(answer, found.article_id, found.full), until - clock.now()


@dataclass(frozen=True)
class KnownAnswer:
    """A page answered before Django, as the same reader gets it again."""

    answer: Answer
    article_id: int | None
    full: bool


signed_in_pages = SignedInPages()


@receiver(setting_changed)
def _forget_answers(**kwargs: object) -> None:
    # A setting may change which place an environ is for (`place_inputs`).
    members.answers.clear()
