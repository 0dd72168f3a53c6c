"""Who may cache a response, and cached article pages for signed-in readers.

`SharedPagesMiddleware` is the default of the page cache's rule: a response
of a page type not in `pagecache.SHARED_PAGES` is `private` or `no-store`,
whatever its view or another middleware said. `ReaderCacheHeadersMiddleware`
answers cached article pages for signed-in readers and marks anonymous pages
of the shared types `public`.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

from masthead.access.institutions import (
    current_institution,
    institution_scope_lazily,
    known_institution,
    worked_out,
)
from masthead.access.rules import reader_scope

from .institutions import institution_of
from .pagecache import current_generation, may_be_shared
from .variants import HIT_HEADER, Label, RouteRefresh, seconds_valid, serve_known_article

GetResponse = Callable[[HttpRequest], HttpResponse]


class SharedPagesMiddleware:
    """Make every response that is not of a shared page type private.

    A view or middleware may have marked it `public`, `private, no-cache`
    or nothing: unless the page type is in SHARED_PAGES, it becomes
    `private, no-store`, kept by no cache, not even the reader's browser
    (a gift link opened on a shared computer). A response that is already
    `no-store`, or `private` with a max-age of its own (a subscriber's audio,
    kept by their browser while they listen), keeps its header.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if may_be_shared(request) or keeps_its_header(response.get("Cache-Control", "")):
            return response
        if response.has_header("Cache-Control"):
            del response["Cache-Control"]
        patch_cache_control(response, private=True, no_store=True)
        return response


def keeps_its_header(cache_control: str) -> bool:
    directives = {
        name.strip().lower(): value.strip()
        for name, _, value in (part.partition("=") for part in cache_control.split(","))
    }
    if "public" in directives:
        return False
    if "no-store" in directives:
        return True
    return "private" in directives and directives.get("max-age", "0") not in ("", "0")


class ReaderCacheHeadersMiddleware:
    """Answer cached article pages for signed-in readers, and mark who may
    share a response.

    Each request runs in a `reader_scope`, so the member's entitlement is
    asked once however many things on the page ask `decide`. A request with a
    session cookie, or from an institution's range, for a known article page
    is answered from its cached variant (see variants.py) before URL routing.

    A request from an institution's IP ranges runs in its
    `institution_scope` (opened by the page cache's wrapper, else here), and
    its responses are `private`: what the institution's readers get is not
    for anyone else.

    Anonymous GETs without a session, of the page types that may be shared
    (`pagecache.SHARED_PAGES`), are `public`: the page cache and nginx may
    serve them to anyone, for at most SHARED_PAGE_MAX_AGE seconds or until
    something on the page (an ad) changes. Everything else varies on the
    session cookie and is `private`, so a subscriber's page is never served to
    anyone else.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with reader_scope(), self.institution(request):
            response = None
            refresh = RouteRefresh()
            try:
                # A reader in an institution's range, known from the page
                # cache's wrapper, gets its cached article page as a
                # signed-in reader does.
                if (
                    settings.SESSION_COOKIE_NAME in request.COOKIES
                    or known_institution() is not None
                ):
                    response = serve_known_article(request, refresh)
                if response is None:
                    response = self.get_response(request)
            finally:
                refresh.end()
            return self.mark(request, response)

    def institution(self, request: HttpRequest) -> AbstractContextManager[None]:
        if worked_out():
            return nullcontext()
        # Worked out when first asked: a response that is private anyway
        # (an error page, an account page) does not need the ranges.
        return institution_scope_lazily(lambda: institution_of(request.META, current_generation()))

    def mark(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.get(HIT_HEADER) == Label.STALE.value:
            # The page from before a publish, while it is rendered anew: no
            # cache may keep it as the page after.
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ["Cookie"])
            return response
        if response.has_header("Cache-Control") and (
            "private" in response["Cache-Control"] or "no-" in response["Cache-Control"]
        ):
            return response
        anonymous = (
            request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.user.is_authenticated
            and not response.cookies
        )
        if (
            anonymous
            and response.status_code == 200
            and may_be_shared(request)
            # Asked last: only a page that could be shared needs to know.
            and current_institution() is None
        ):
            shared = seconds_valid(request, settings.SHARED_PAGE_MAX_AGE)
            patch_cache_control(response, public=True, max_age=min(60, shared), s_maxage=shared)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response
