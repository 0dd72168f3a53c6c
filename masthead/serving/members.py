"""Who a signed-in request is for, and what they are entitled to, from the
cache: so a member reading page after page costs no query.

One member lookup, `member_for_session(session)`, checks a session against
the member cached for it the way Django's `get_user` does (the user id, the
auth backend and the session auth hash, compared in constant time). Its
session comes from Django's session machinery: `request.session` inside
Django, or the session engine's own cache entry (`SessionStore.cache_key`)
for pages answered before Django (`variants.SignedInPages`). When the cached
member does not match, Django's `request.user` decides, and its answer is
cached for the next request.

The member's entitlement (billing's `current_entitlement`, with the issues
they bought on their own, `bought_issues`) is cached beside it, never past the moment it ends. Every write that changes either makes the
cached copy stale at once (`invalidation.py`); CACHED_MEMBER_SECONDS and
CACHED_ENTITLEMENT_SECONDS only bound a change that reached no signal.

For the last REFRESH_AHEAD_SECONDS of a cached entry's life, the first
request to find it reads it again (inside Django) while every other request
goes on using it, so a busy member's requests never all find it gone at once.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from importlib import import_module
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.cache import cache, caches
from django.db.models import Q
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from masthead.access import rules
from masthead.accounts.models import User
from masthead.billing.entitlements import Entitlement

from . import clock
from .perprocess import PerProcessCache, per_process_cache


@dataclass(frozen=True)
class CachedMember:
    """What serving a cached page needs to know of a signed-in member.
    Enough for the access rules, which ask only `pk`, `is_authenticated`
    and `is_staff`."""

    pk: int
    session_hash: str
    backend: str
    is_staff: bool
    is_superuser: bool
    editor: bool
    # When a request reads it again (see the module's docstring).
    refresh_at: float
    is_authenticated = True
    is_anonymous = False
    is_active = True


@dataclass(frozen=True)
class CachedEntitlement:
    entitlement: Entitlement | None
    expires: float  # wall-clock time
    refresh_at: float
    # The issues the member bought on their own (billing's `bought_issues`);
    # None until a decision first needs them.
    issues: frozenset[int] | None = None


Member = User | AnonymousUser | CachedMember


def per_process_seconds() -> float:
    return float(settings.SERVING_PER_PROCESS_SECONDS)


def editor_check_seconds() -> float:
    return float(settings.EDITOR_CHECK_SECONDS)


def claim_recheck_seconds() -> float:
    return float(settings.CLAIM_RECHECK_SECONDS)


# Sessions, members and entitlements as this process last read them from the
# shared cache, for pages answered before Django.
copies: PerProcessCache[Any] = per_process_cache(10_000, per_process_seconds)
# This process's answers to "may this member use the admin?".
editors: PerProcessCache[bool] = per_process_cache(10_000, editor_check_seconds)
# What this process worked out from those copies (signed-in readers' pages
# answered before Django, variants.py): emptied whenever they are.
answers: PerProcessCache[Any] = per_process_cache(10_000, per_process_seconds)
# Entries this process found another request reading again.
refreshed_elsewhere: PerProcessCache[bool] = per_process_cache(10_000, claim_recheck_seconds)


def member_key(member_id: object) -> str:
    return f"serving:member:{member_id}"


def entitlement_key(member_id: object) -> str:
    return f"serving:entitlement:{member_id}"


def _refresh_claim_key(key: str) -> str:
    return f"serving:refreshing-entry:{key}"


# Reading cached entries again before they expire --------------------------------------


def uses_cached(key: str, refresh_at: float, *, may_claim: bool) -> bool:
    """Whether this request uses the cached entry at `key` rather than read
    it again. Before `refresh_at` (a wall-clock time) every request does.
    After it, the first request to claim the re-reading reads it again;
    every other request uses the entry until it expires. With
    `may_claim=False` (a page answered before Django, which cannot read it)
    a request that finds no claim leaves the request to Django, which claims
    it."""
    if clock.now() < refresh_at or key in refreshed_elsewhere:
        return True
    claim = _refresh_claim_key(key)
    if may_claim:
        if cache.add(claim, 1, settings.REFRESH_CLAIM_SECONDS):
            return False
    elif cache.get(claim) is None:
        return False
    refreshed_elsewhere.set(key, True)
    return True


def _refresh_time(ttl: float) -> float:
    return clock.now() + ttl - settings.REFRESH_AHEAD_SECONDS


# Editors ---------------------------------------------------------------------


def _can_use_admin(user: User) -> bool:
    if user.is_staff or user.is_superuser:
        return True
    # Readers hold no permissions at all: one query says so.
    if not Permission.objects.filter(Q(user=user) | Q(group__user=user)).exists():
        # Django's ModelBackend would ask twice more when the page's userbar
        # asks `has_perm`: tell it what this query found.
        user._perm_cache = set()  # type: ignore[attr-defined]  # ModelBackend's own cache attribute
        return False
    return user.has_perm("wagtailadmin.access_admin")


def is_editor(user: Member | None, fresh: bool = False) -> bool:
    """Staff and anyone who may use the Wagtail admin: their pages carry the
    userbar and are never cached or served from cached copies. The answer
    for a member is remembered by this process for EDITOR_CHECK_SECONDS
    (`fresh` asks again)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    if isinstance(user, CachedMember):
        return user.editor
    assert isinstance(user, User)
    if not fresh:
        known = editors.get(user.pk)
        if known is not None:
            return known
    answer = _can_use_admin(user)
    editors.set(user.pk, answer)
    return answer


# The member --------------------------------------------------------------------------


def member_for_session(
    session: Mapping[str, Any], cached: CachedMember | None, *, may_claim: bool
) -> CachedMember | None:
    """`cached` (the member cached for the session's user id), if it is the
    one the session signs in, as Django's `get_user` checks it: the same
    backend and session auth hash; else None."""
    session_hash = session.get(HASH_SESSION_KEY) or ""
    if (
        cached is None
        or not session_hash
        or cached.backend != session.get(BACKEND_SESSION_KEY)
        or not constant_time_compare(session_hash, cached.session_hash)
    ):
        return None
    if not uses_cached(member_key(cached.pk), cached.refresh_at, may_claim=may_claim):
        return None
    return cached


def session_member(request: HttpRequest) -> Member:
    """The member the request's session signs in: the cached one when it
    matches the session, else Django's own `request.user` (which checks
    everything, and is cached for the next request)."""
    session = request.session
    member_id = session.get(SESSION_KEY)
    if member_id is None:
        return request.user
    key = member_key(member_id)
    member = member_for_session(session, cache.get(key), may_claim=True)
    if member is not None:
        return member
    user = request.user
    if isinstance(user, User) and str(user.pk) == str(member_id):
        cache.set(
            key,
            CachedMember(
                pk=user.pk,
                session_hash=user.get_session_auth_hash(),
                backend=session.get(BACKEND_SESSION_KEY, ""),
                is_staff=user.is_staff,
                is_superuser=user.is_superuser,
                editor=is_editor(user),
                refresh_at=_refresh_time(settings.CACHED_MEMBER_SECONDS),
            ),
            settings.CACHED_MEMBER_SECONDS,
        )
    return user


class SessionsInCache:
    """Sessions read straight from the session engine's cache entries, for
    pages answered before Django (a SessionStore per request would cost
    more than the page)."""

    def __init__(self) -> None:
        self.prefix: str | None = None
        self.engine: str | None = None

    def read(self, session_key: str) -> Mapping[str, Any] | None:
        """The session's data, or None when it is not in the cache (or the
        session engine keeps no sessions there)."""
        if self.engine != settings.SESSION_ENGINE:
            store = import_module(settings.SESSION_ENGINE).SessionStore
            self.prefix = getattr(store, "cache_key_prefix", None)
            self.engine = settings.SESSION_ENGINE
        # As SessionBase validates a session key.
        if self.prefix is None or not session_key or len(session_key) < 8:
            return None
        alias = settings.SESSION_CACHE_ALIAS
        session: Mapping[str, Any] | None = copies.get_or_read(
            self.prefix + session_key, lambda key: caches[alias].get(key)
        )
        return session


sessions = SessionsInCache()


def member_before_django(session_key: str) -> CachedMember | None:
    """The cached member the session signs in, from the cache only."""
    try:
        session = sessions.read(session_key)
    except Exception:
        return None
    if not session or session.get(SESSION_KEY) is None:
        return None
    cached = copies.get_or_read(member_key(session[SESSION_KEY]), _read_cache)
    return member_for_session(session, cached, may_claim=False)


# The entitlement ---------------------------------------------------------------------


def cached_entitlement(user: Member) -> Entitlement | None:
    """billing's `current_entitlement(user)`, cached for
    CACHED_ENTITLEMENT_SECONDS at most and never past its end."""
    return _entitlement_entry(user).entitlement


def cached_bought_issues(user: Member) -> frozenset[int]:
    """billing's `bought_issues(user)`, kept with the cached entitlement
    (and made stale with it when a purchase changes). Read only when a
    decision needs it, so a subscriber's cached entitlement costs no more."""
    from masthead.billing import entitlements

    entry = _entitlement_entry(user)
    if entry.issues is not None:
        return entry.issues
    issues = entitlements.bought_issues(cast("User", user))
    remaining = entry.expires - clock.now()
    if remaining > 0:
        cache.set(entitlement_key(user.pk), replace(entry, issues=issues), remaining)
    return issues


def _entitlement_entry(user: Member) -> CachedEntitlement:
    from masthead.billing import entitlements

    key = entitlement_key(user.pk)
    now = clock.now()
    entry = cache.get(key)
    if (
        isinstance(entry, CachedEntitlement)
        and entry.expires > now
        and uses_cached(key, entry.refresh_at, may_claim=True)
    ):
        return entry
    # A cached member stands in for the user: the rule asks only its pk.
    held = entitlements.current_entitlement(cast("User", user))
    ttl = settings.CACHED_ENTITLEMENT_SECONDS
    expires = now + ttl
    if held is not None and held.ends_at is not None:
        expires = min(expires, held.ends_at.timestamp())
    entry = CachedEntitlement(held, expires, _refresh_time(ttl))
    if expires > now:
        cache.set(key, entry, ttl)
    return entry


def entitlement_before_django(member: CachedMember) -> CachedEntitlement | None:
    """The member's cached entitlement, from the cache only; None when it
    is not there, expired, or due to be read again (Django does)."""
    key = entitlement_key(member.pk)
    entry = copies.get_or_read(key, _read_cache)
    if not isinstance(entry, CachedEntitlement) or entry.expires <= clock.now():
        return None
    if not uses_cached(key, entry.refresh_at, may_claim=False):
        return None
    return entry


def signed_in_reader(request: HttpRequest) -> Member:
    """The request's member, with their entitlement given to the reader
    scope; both cached for the next request."""
    user = session_member(request)
    if user.is_authenticated and not is_editor(user):
        entry = _entitlement_entry(user)
        rules.remember(("entitlement", user.pk), entry.entitlement)
        if entry.issues is not None:
            rules.remember(("issues", user.pk), entry.issues)
        else:
            rules.remember_lazily(("issues", user.pk), partial(cached_bought_issues, user))
    return user


# Stale ----------------------------------------------------------------------------------


def forget_members(member_ids: object) -> None:
    """The cached details of these members go (`invalidation.py`)."""
    ids = list(member_ids)  # type: ignore[call-overload]
    if ids:
        cache.delete_many([member_key(member_id) for member_id in ids])
        forget_copies()
        for member_id in ids:
            editors.discard(member_id)


def forget_entitlements(member_ids: object) -> None:
    """The cached entitlements of these members go (`invalidation.py`)."""
    ids = list(member_ids)  # type: ignore[call-overload]
    if ids:
        cache.delete_many([entitlement_key(member_id) for member_id in ids])
        forget_copies()


def forget_sessions() -> None:
    """A session ended: this process forgets every session at once (others
    within SERVING_PER_PROCESS_SECONDS)."""
    forget_copies()


def forget_copies() -> None:
    """This process's copies of sessions, members and entitlements go, and
    whatever it worked out from them."""
    copies.clear()
    answers.clear()


def _read_cache(key: object) -> Any:
    return cache.get(str(key))
