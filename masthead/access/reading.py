"""What one reader sees of an article page, and serving it quickly.

A reader's copy of an article page depends on a handful of things: whether
they get the whole body, and if not why not (the paywall's wording); whether
they see ads; whether they are signed in; their meter. Together these are the
page's *variant*: every reader with the same variant gets the same HTML, so
the page is rendered once per variant and published state, and kept.

Three doors lead to a kept variant:

- `serve_article_page` runs inside Wagtail's serving (the `on_serve_page`
  hook, after routing and view restrictions). It works out the reader's
  variant, answers from the kept copy or renders and keeps it, and remembers
  the route: this host and path serve this article.
- `serve_known_article` runs in the reader middleware, before URL routing,
  for requests that carry a session cookie. On a remembered route it needs
  the session, the member and their entitlement, then answers from the kept
  copy without routing or rendering. The member's details and entitlement
  are kept briefly too (a change to either drops them at once, see apps.py),
  so a reader going from page to page costs no query at all; without them,
  a user query and billing's one entitlement query. Anything unknown falls
  through to Django and Wagtail.
- `EarlyKeptPages` answers before Django is involved at all (the page
  cache's `personal_pages`), when the session, the kept member and
  entitlement, the route and the variant are all in the cache and the
  reader's access needs no query. It replays the headers Django's
  middleware gave kept pages for signed-in readers. Each process trusts its
  own copy of a session, member or entitlement for half a second (as it does
  the page cache's generation), so a busy reader costs no cache read at all;
  a change reaches every process within that time, and this one at once.

After a publish, the first reader of a hot page renders it anew; during
the publish's grace (`pagecache.generations`) the others are
answered with the variant kept just before (`X-Article-Cache: stale`), their
own access still decided now, instead of all waiting for that rendering.

Never kept: previews, staff and editors (the Wagtail userbar is theirs),
pages behind a view restriction, and responses that set cookies or a CSRF
token. Every key carries the page cache's generation, so publishing,
unpublishing, moving or editing anything, or a change of plans, prices, ads
or paywall settings (see apps.py), refreshes every kept page at once.
"""

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core.cache import cache, caches
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare

from masthead.core.pagecache import GENERATION_TTL, current_generation, generations
from masthead.core.singleflight import RECHECK_SECONDS, ClaimedElsewhere, flights
from masthead.newsroom.models import AccessLevel, ArticlePage

from . import rules
from .teaser import article_fragments

# Seconds a rendered variant is kept (less when an ad on it starts or ends
# sooner: see `valid_until`).
VARIANT_TTL = 300
# Seconds this process trusts its answer to "may this member use the admin?".
EDITOR_TTL = 60
# Seconds a member's entitlement is kept for kept pages; a change to any of
# their subscriptions drops it at once (apps.py), and it is never kept past
# the moment it ends.
ENTITLEMENT_TTL = 30
# Seconds a signed-in member's details are kept for kept pages; any change to
# the user drops them at once (apps.py).
MEMBER_TTL = 30
# For the last this many seconds of a kept member's or entitlement's life, the
# first request to find it re-reads it while every other request goes on
# using it (`refreshes_ahead`): a busy member's requests never all find it
# gone at once, each then paying Django's queries.
REFRESH_AHEAD_SECONDS = 10
HIT_HEADER = "X-Article-Cache"

logger = logging.getLogger(__name__)


class BriefCopies:
    """A process's own copies of cache entries, trusted for `seconds` after
    reading; `None` (a miss) is never kept. Tests trust them not at all, as
    they do the page cache's generation (they change state under the cache)."""

    def __init__(self, seconds, entries=10_000):
        self.seconds = seconds
        self.entries = entries
        self.copies = {}

    def get(self, key, read):
        """The copy of `key`, or `read(key)` (kept) when there is none."""
        now = time.monotonic()
        copy = self.copies.get(key)
        if copy is not None and 0 <= now - copy[1] <= self.seconds and not settings.TESTING:
            return copy[0]
        value = read(key)
        if value is not None:
            if len(self.copies) >= self.entries:
                self.copies.clear()
            self.copies[key] = (value, now)
        return value

    def clear(self):
        self.copies.clear()


class KeptEntries:
    """Entries in Django's cache (shared by every process) with a small
    per-process copy in front; each entry carries its expiry."""

    def __init__(self, prefix, local_entries):
        self.prefix = prefix
        self.local_entries = local_entries
        self.local = OrderedDict()

    def get(self, key, shared=True):
        """The entry's value, or None; `shared=False` looks in this
        process's copies only."""
        entry = self.local.get(key)
        if entry is None:
            if not shared:
                return None
            entry = cache.get(self.prefix + key)
            if entry is None:
                return None
            self._remember(key, entry)
        value, expires = entry
        if expires <= time.time():
            self.local.pop(key, None)
            return None
        return value

    def set(self, key, value, ttl):
        entry = (value, time.time() + ttl)
        cache.set(self.prefix + key, entry, ttl)
        self._remember(key, entry)

    def _remember(self, key, entry):
        # Threads of one process share this; a lost race only costs a miss.
        try:
            self.local[key] = entry
            self.local.move_to_end(key)
            while len(self.local) > self.local_entries:
                self.local.popitem(last=False)
        except KeyError:
            pass


routes = KeptEntries("access:route:", local_entries=5000)
# Whole pages: this process keeps the most recent few hundred in memory.
variants = KeptEntries("access:variant:", local_entries=500)


@dataclass
class Reader:
    """One reader in front of one article."""

    article: ArticlePage | None
    terms: rules.Terms
    access: rules.Access
    signed_in: bool
    ads: bool
    meter: rules.Meter | None = None
    preview: bool = False

    @property
    def full(self):
        return self.access.granted

    @property
    def gated(self):
        """Whether the article has a part only some readers get."""
        return self.terms.level != AccessLevel.PUBLIC

    @property
    def fragments(self):
        if not hasattr(self, "_fragments"):
            self._fragments = article_fragments(self.article, preview=self.preview)
        return self._fragments

    @property
    def teaser_html(self):
        return self.fragments.teaser

    @property
    def gated_html(self):
        """The rest of the body: only ever for a reader with access."""
        return self.fragments.gated if self.full else ""

    @property
    def variant(self):
        access = "full" if self.full else "teaser"
        meter = f"{self.meter.used}-{self.meter.allowance}" if self.meter else "-"
        return (
            f"{access}:{self.access.reason}:{'ads' if self.ads else 'no-ads'}:"
            f"{'in' if self.signed_in else 'out'}:{meter}"
        )


def page_terms(article):
    return rules.article_terms(article)


def reader_for(request, article=None, terms=None, user=None):
    """The Reader for this request and article, worked out once per request.

    Opening the page is what spends a metered read (`rules.open_article`).
    `user` stands in for `request.user` (serving kept pages has a KeptMember).
    """
    terms = terms or page_terms(article)
    known = request.__dict__.setdefault("_masthead_readers", {})
    if terms.article_id in known:
        reader = known[terms.article_id]
        if reader.article is None and article is not None:
            reader.article = article
        return reader
    if user is None:
        user = getattr(request, "user", None)
    preview = bool(getattr(request, "is_preview", False))
    access = rules.Access(True, "preview") if preview else rules.open_article(user, terms)
    meter = rules.meter(user) if access.reason in ("metered", "meter-spent") else None
    reader = Reader(
        article=article,
        terms=terms,
        access=access,
        signed_in=rules.is_signed_in(user),
        ads=rules.shows_ads(user),
        meter=meter,
        preview=preview,
    )
    known[terms.article_id] = reader
    return reader


def valid_until(request, moment):
    """Note that what this request renders changes at `moment` (a timestamp),
    e.g. an ad's start or end: kept copies of it must not outlive it."""
    current = getattr(request, "_masthead_valid_until", None)
    if moment is not None and (current is None or moment < current):
        request._masthead_valid_until = moment


def seconds_valid(request, ttl):
    until = getattr(request, "_masthead_valid_until", None)
    if until is None:
        return ttl
    return max(0, min(ttl, int(until - time.time())))


# Who gets kept pages -----------------------------------------------------------------

_editors = {}


def _can_use_admin(user):
    if user.is_staff or user.is_superuser:
        return True
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    # Readers hold no permissions at all: one query says so.
    if not Permission.objects.filter(Q(user=user) | Q(group__user=user)).exists():
        # Django's ModelBackend would ask twice more when the page's userbar
        # asks `has_perm`: tell it what this query found.
        user._perm_cache = set()
        return False
    return user.has_perm("wagtailadmin.access_admin")


def is_editor(user, fresh=False):
    """Staff and anyone who may use the Wagtail admin: their pages carry the
    userbar and are never kept or served from kept copies. The answer for a
    member is remembered briefly (`fresh` asks again)."""
    if not rules.is_signed_in(user):
        return False
    if user.is_staff or user.is_superuser:
        return True
    if isinstance(user, KeptMember):
        return user.editor
    now = time.monotonic()
    if not fresh:
        known = _editors.get(user.pk)
        if known is not None and known[1] > now:
            return known[0]
    answer = _can_use_admin(user)
    _editors[user.pk] = (answer, now + EDITOR_TTL)
    if len(_editors) > 10_000:
        _editors.clear()
    return answer


def _scheme_and_host(environ):
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_X_FORWARDED_HOST")
        or environ.get("HTTP_HOST")
        or environ.get("SERVER_NAME", "")
    )
    return f"{scheme}:{host}"


def environ_host_key(environ):
    """The generation, scheme and host of a request, from its WSGI environ:
    the same whether Django or the early door (EarlyKeptPages) asks."""
    return f"{current_generation()}:{_scheme_and_host(environ)}"


def environ_host_keys(environ):
    """This request's host key now, and in the generation before while a
    publish's grace lasts (else None): see `pagecache.generations`."""
    current, previous = generations()
    place = _scheme_and_host(environ)
    return f"{current}:{place}", (f"{previous}:{place}" if previous else None)


def _host_keys(request):
    keys = getattr(request, "_masthead_host_keys", None)
    if keys is None:
        keys = request._masthead_host_keys = environ_host_keys(request.META)
    return keys


def _host_key(request):
    return _host_keys(request)[0]


def route_key(request):
    return f"{_host_key(request)}:{request.path_info}"


def variant_key(request, article_id, reader):
    return f"{_host_key(request)}:{article_id}:{reader.variant}"


def _from_kept(body, request, label="hit"):
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response[HIT_HEADER] = label
    return response


# Kept members and entitlements re-read before they expire ------------------------------

REFRESH_AHEAD_CLAIM_SECONDS = 2
REFRESHING_ENTRIES = "masthead.refreshing_entries"
# Entries this process found another request re-reading.
refreshed_elsewhere = ClaimedElsewhere(REFRESH_AHEAD_CLAIM_SECONDS)


def refreshes_ahead(environ, key, refresh_at):
    """Whether this request re-reads the kept entry at `key` (a member or an
    entitlement) instead of using it: once past `refresh_at` (a timestamp),
    the first request anywhere to ask does, and notes it in its environ so
    that Django re-reads it when the early door leaves the request to it.
    Every other request uses the entry until it expires."""
    if key in environ.get(REFRESHING_ENTRIES, ()):
        return True
    if time.time() < refresh_at:
        return False
    if key in refreshed_elsewhere:
        return False
    # The claim outlives the re-reading: this process's brief copy of the old
    # entry (GENERATION_TTL) asks again, and must not re-read it twice.
    if not cache.add(f"access:refreshing-entry:{key}", 1, REFRESH_AHEAD_CLAIM_SECONDS):
        refreshed_elsewhere.add(key)
        return False
    environ.setdefault(REFRESHING_ENTRIES, set()).add(key)
    return True


def _refresh_time(ttl):
    return time.time() + ttl - REFRESH_AHEAD_SECONDS


# Readers waiting for a kept page that another request is rendering anew ----------------

REFRESH_CLAIM_SECONDS = 2
REFRESHING = "masthead.refreshing"
# Routes this process found another request rendering anew a moment ago.
refreshing_elsewhere = ClaimedElsewhere(RECHECK_SECONDS)


def claim_refresh(environ, route_key):
    """Whether this request renders the page at `route_key` (a route not
    kept in this generation yet): the first to ask does, until its request
    ends (`end_refresh`); the others may be answered with the page from
    before the publish meanwhile."""
    if environ.get(REFRESHING) == route_key:
        return True
    if route_key in refreshing_elsewhere:
        return False
    if cache.add(f"access:refreshing:{route_key}", 1, REFRESH_CLAIM_SECONDS):
        environ[REFRESHING] = route_key
        return True
    refreshing_elsewhere.add(route_key)
    return False


def end_refresh(environ):
    """Called when a request ends: if it was rendering a page anew, the
    next request renders it again (a page that is no longer an article, or
    may not be kept, is never answered from before the publish for long)."""
    route_key = environ.pop(REFRESHING, None)
    if route_key is not None:
        cache.delete(f"access:refreshing:{route_key}")
        refreshing_elsewhere.discard(route_key)


def kept_body(environ, host_keys, path, variant_of):
    """The kept page for `path`, as (body, label) or None: "hit" when kept in
    this generation; "stale" when, during a publish's grace, another request
    is rendering it anew and the page kept just before answers meanwhile.

    `variant_of(terms, stale)` is the reader's variant for the article with
    those terms (`stale`: kept before the publish), or None when it cannot be
    told here.
    """
    current, previous = host_keys
    route = f"{current}:{path}"
    # While another request renders the page anew, asking the shared cache
    # for it on every request would only cost round trips.
    terms = routes.get(route, shared=route not in refreshing_elsewhere)
    if terms is not None:
        variant = variant_of(terms, False)
        if variant is None:
            return None
        key = f"{current}:{terms.article_id}:{variant}"
        body = variants.get(key, shared=not flights.rendering_elsewhere("variant:" + key))
        if body is not None:
            return body, "hit"
        if previous is None or not flights.in_flight("variant:" + key):
            return None
    elif previous is None:
        return None
    else:
        terms = routes.get(f"{previous}:{path}")
        if terms is None or claim_refresh(environ, route):
            return None
        variant = variant_of(terms, True)
        if variant is None:
            return None
    body = variants.get(f"{previous}:{terms.article_id}:{variant}")
    return (body, "stale") if body is not None else None


def _keep(request, key, reader, response):
    ttl = seconds_valid(request, VARIANT_TTL)
    if ttl > 0:
        variants.set(key, response.content, ttl)
        routes.set(route_key(request), reader.terms, ttl)
        if reader.signed_in:
            # For the early door, which learns the headers of kept pages
            # for signed-in readers from this one.
            response[HIT_HEADER] = "stored"


def serve_article_page(serve, page, request, args, kwargs):
    """Wagtail's serving of an article page, through the kept variants."""
    if (
        not isinstance(page, ArticlePage)
        or request.method != "GET"
        or args
        or kwargs
        or getattr(request, "is_preview", False)
        or is_editor(getattr(request, "user", None), fresh=True)
    ):
        return serve(page, request, args, kwargs)
    user = _signed_in_reader(request)
    reader = reader_for(request, page, user=user)
    key = variant_key(request, page.pk, reader)
    body = variants.get(key)
    if body is not None:
        return _from_kept(body, request)
    # Readers of one variant arriving together share one rendering; during
    # a publish's grace the others get the page from before it meanwhile.
    def kept():
        return variants.get(key) is not None

    previous = _host_keys(request)[1]
    before = f"{previous}:{page.pk}:{reader.variant}" if previous else None
    instead = before is not None and variants.get(before) is not None
    with flights.wait_or_lead("variant:" + key, ready=kept, instead=instead) as leading:
        if leading is None:
            body = variants.get(before)
            if body is not None:
                return _from_kept(body, request, "stale")
        elif not leading:
            body = variants.get(key)
            if body is not None:
                return _from_kept(body, request)
        response = serve(page, request, args, kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
        if _may_keep(request, page, response):
            _keep(request, key, reader, response)
        return response


def _may_keep(request, page, response):
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not response.has_header("Cache-Control")
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and response.get("Content-Type", "").startswith("text/html")
        and not page.get_view_restrictions().exists()
    )


@dataclass(frozen=True)
class KeptMember:
    """What serving a kept page needs to know of a signed-in member, kept
    briefly so that a request costs no user query. Enough for the access
    rules, which ask only `pk`, `is_authenticated` and `is_staff`."""

    pk: int
    session_hash: str
    backend: str
    is_staff: bool
    is_superuser: bool
    editor: bool
    # When a request re-reads it (`refreshes_ahead`); one kept by an earlier
    # release has none, and is re-read at once.
    refresh_at: float = 0.0
    is_authenticated = True
    is_anonymous = False
    is_active = True


def _member_key(member_id):
    return f"access:member:{member_id}"


def session_member(request):
    """The member the request's session signs in: a KeptMember when the kept
    copy matches the session (its user id, backend and auth hash), else
    Django's own `request.user` (which checks everything, and is kept for the
    next request). A change to the user drops the copy (apps.py)."""
    session = request.session
    member_id = session.get(SESSION_KEY)
    if member_id is None:
        return request.user
    key = _member_key(member_id)
    kept = cache.get(key)
    session_hash = session.get(HASH_SESSION_KEY) or ""
    if (
        kept is not None
        and session_hash
        and kept.backend == session.get(BACKEND_SESSION_KEY)
        and constant_time_compare(session_hash, kept.session_hash)
        and not refreshes_ahead(request.META, key, kept.refresh_at)
    ):
        return kept
    user = request.user
    if user.is_authenticated and str(user.pk) == str(member_id):
        kept = KeptMember(
            pk=user.pk,
            session_hash=user.get_session_auth_hash(),
            backend=session.get(BACKEND_SESSION_KEY, ""),
            is_staff=user.is_staff,
            is_superuser=user.is_superuser,
            editor=is_editor(user),
            refresh_at=_refresh_time(MEMBER_TTL),
        )
        cache.set(key, kept, MEMBER_TTL)
    return user


def forget_member(member_id):
    if member_id is not None:
        cache.delete(_member_key(member_id))
        early_pages.brief.clear()


def _entitlement_key(member_id):
    return f"access:entitlement:{member_id}"


def kept_entitlement(user, environ):
    """billing's `current_entitlement(user)`, kept in the shared cache for
    ENTITLEMENT_TTL seconds at most: a member reading page after page costs
    no entitlement query each time. `environ` is the request's."""
    from masthead.billing import entitlements

    key = _entitlement_key(user.pk)
    now = time.time()
    kept = cache.get(key)
    if kept is not None:
        held, expires, refresh_at = _entitlement_entry(kept)
        if expires > now and not refreshes_ahead(environ, key, refresh_at):
            return held
    held = entitlements.current_entitlement(user)
    expires = now + ENTITLEMENT_TTL
    if held is not None and held.ends_at is not None:
        expires = min(expires, held.ends_at.timestamp())
    if expires > now:
        cache.set(key, (held, expires, _refresh_time(ENTITLEMENT_TTL)), ENTITLEMENT_TTL)
    return held


def _entitlement_entry(kept):
    """A kept entitlement's (held, expires, refresh_at); one kept by an
    earlier release has no refresh time, and is re-read at once."""
    held, expires, *refresh_at = kept
    return held, expires, refresh_at[0] if refresh_at else 0.0


def forget_entitlement(member_id):
    if member_id is not None:
        cache.delete(_entitlement_key(member_id))
        early_pages.brief.clear()


def _signed_in_reader(request):
    """The request's reader for kept pages, with their entitlement given to
    the reader scope; both kept for the next request (and the early door)."""
    user = session_member(request)
    if user.is_authenticated and not is_editor(user):
        rules.remember(("entitlement", user.pk), kept_entitlement(user, request.META))
    return user


def serve_known_article(request):
    """A kept article page for a request with a session cookie, or None to
    let Django and Wagtail serve it."""
    if request.method != "GET":
        return None
    user = None

    def variant_of(terms, stale):
        nonlocal user
        if user is None:
            user = _signed_in_reader(request)
        if is_editor(user):
            return None
        variant = reader_for(request, terms=terms, user=user).variant
        if stale:
            # Worked out from the terms before the publish: if Django
            # renders the page after all, it must not reuse this reader.
            request._masthead_readers.pop(terms.article_id)
        return variant

    kept = kept_body(request.META, _host_keys(request), request.path_info, variant_of)
    if kept is None:
        return None
    body, label = kept
    return _from_kept(body, request, label)


# The early door ----------------------------------------------------------------------


class EarlyKeptPages:
    """Kept article pages for signed-in readers, answered before Django.

    Registered with the page cache (`pagecache.personal_pages`), this answers
    a GET with a session cookie only when everything it needs is already in
    the cache: the session, the kept member (its auth hash matching the
    session's), their kept entitlement, the route and the variant. It never
    queries the database, so it leaves to Django every reader whose access
    would need a query (the meter, a plan another subscription may grant) and
    everything it does not know; Django serves those (and keeps what it may).

    Its response carries the headers Django's middleware gave a kept page for
    a signed-in reader on this host (seen by `observe`): private, varying on
    the cookie, with the security headers. Kept pages carry no header of
    their own, so those are the same for every one of them.
    """

    def __init__(self):
        self.headers = {}
        self.sessions = None
        # Sessions, kept members and entitlements, as this process last read
        # them: a publish reaches a process within the same time.
        self.brief = BriefCopies(seconds=GENERATION_TTL)

    def observe(self, environ, status, headers):
        if not status.startswith("200"):
            return
        named = {name.lower(): value for name, value in headers}
        if (
            named.get(HIT_HEADER.lower()) not in ("hit", "stored")
            or "private" not in named.get("cache-control", "")
            or "set-cookie" in named
        ):
            return
        if len(self.headers) > 100:
            self.headers.clear()
        self.headers[environ_host_key(environ)] = [
            (name, value)
            for name, value in headers
            if name.lower() not in ("content-length", "set-cookie", HIT_HEADER.lower())
        ]

    def answer(self, environ):
        try:
            return self._answer(environ)
        except Exception:
            # Django serves what this cannot: it checks everything again.
            logger.exception("Kept page not answered early")
            return None

    def _answer(self, environ):
        from django.core.handlers.wsgi import get_path_info

        if settings.SESSION_SAVE_EVERY_REQUEST:
            return None
        if settings.SESSION_COOKIE_NAME + "=" not in environ.get("HTTP_COOKIE", ""):
            return None
        host_keys = environ_host_keys(environ)
        headers = self.headers.get(host_keys[0]) or self.headers.get(host_keys[1])
        if headers is None:
            return None
        reader = {}

        def variant_of(terms, stale):
            if not reader:
                member = self.member(environ)
                if member is None or is_editor(member):
                    return None
                key = _entitlement_key(member.pk)
                kept = self.brief.get(key, _read_cache)
                if kept is None:
                    return None
                held, expires, refresh_at = _entitlement_entry(kept)
                if expires <= time.time() or refreshes_ahead(environ, key, refresh_at):
                    return None  # Django reads it (again)
                reader.update(member=member, held=held)
            member, held = reader["member"], reader["held"]
            if not self.decidable(terms, held):
                return None
            with rules.reader_scope():
                rules.remember(("entitlement", member.pk), held)
                access = rules.decide(member, terms)
            return Reader(
                article=None, terms=terms, access=access, signed_in=True, ads=held is None
            ).variant

        kept = kept_body(environ, host_keys, get_path_info(environ), variant_of)
        if kept is None:
            return None
        body, label = kept
        return (
            "200 OK",
            [
                *headers,
                ("Content-Length", str(len(body))),
                (HIT_HEADER, "early" if label == "hit" else label),
            ],
            body,
        )

    @staticmethod
    def decidable(terms, held):
        """Whether `decide` answers these terms for this entitlement without
        a query."""
        if terms.level in (AccessLevel.PUBLIC, AccessLevel.MEMBERS):
            return True
        if held is None:
            return False  # the meter, or the paywall: Django's to work out
        return terms.level == AccessLevel.SUBSCRIBERS or held.plan_code in terms.plans

    def member(self, environ):
        """The KeptMember the session cookie signs in, from the cache only."""
        if self.sessions is None:
            from importlib import import_module

            store = import_module(settings.SESSION_ENGINE).SessionStore
            alias = settings.SESSION_CACHE_ALIAS
            # Where the session engine keeps sessions in the cache (None:
            # sessions that do not live there), and how to read one.
            self.sessions = (
                getattr(store, "cache_key_prefix", None),
                lambda key: caches[alias].get(key),
            )
        prefix, read_session = self.sessions
        session_key = parse_cookie(environ.get("HTTP_COOKIE", "")).get(settings.SESSION_COOKIE_NAME)
        # As a SessionStore validates and keys it (SessionBase.cache_key),
        # without making one for every request.
        if prefix is None or not session_key or len(session_key) < 8:
            return None
        try:
            session = self.brief.get(prefix + session_key, read_session)
        except Exception:
            return None
        if not session or session.get(SESSION_KEY) is None:
            return None
        key = _member_key(session[SESSION_KEY])
        kept = self.brief.get(key, _read_cache)
        session_hash = session.get(HASH_SESSION_KEY) or ""
        if (
            kept is None
            or not session_hash
            or kept.backend != session.get(BACKEND_SESSION_KEY)
            or not constant_time_compare(session_hash, kept.session_hash)
            or refreshes_ahead(environ, key, kept.refresh_at)
        ):
            return None
        return kept


def _read_cache(key):
    # `cache.get` as an argument would look up this thread's cache on every
    # call, even when a brief copy answers.
    return cache.get(key)


early_pages = EarlyKeptPages()
