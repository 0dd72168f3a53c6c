from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers

from masthead.core.pagecache import may_be_shared

from .reading import HIT_HEADER, end_refresh, seconds_valid, serve_known_article
from .rules import reader_scope

# Shared caches (this app's page cache, nginx's proxy_cache) may keep an
# anonymous page this long.
ANONYMOUS_MAX_AGE = 300


class ReaderCacheHeadersMiddleware:
    """Answer kept article pages for signed-in readers, and mark who may
    share a response.

    Each request runs in a `reader_scope`, so the member's entitlement is
    asked once however many things on the page ask `decide`. A request with a
    session cookie for a known article page is answered from its kept variant
    (see reading.py) before URL routing.

    Anonymous GETs without a session, of the page types that may be shared
    (`pagecache.SHARED_PAGES`), are `public`: the page cache and nginx may
    serve them to anyone, for at most ANONYMOUS_MAX_AGE seconds or until
    something on the page (an ad) changes. Everything else varies on the
    session cookie and is `private`, so a subscriber's page is never served to
    anyone else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with reader_scope():
            response = None
            try:
                if settings.SESSION_COOKIE_NAME in request.COOKIES:
                    response = serve_known_article(request)
                if response is None:
                    response = self.get_response(request)
            finally:
                end_refresh(request.META)
            return self.mark(request, response)

    def mark(self, request, response):
        if response.get(HIT_HEADER) == "stale":
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
        if anonymous and response.status_code == 200 and may_be_shared(request):
            shared = seconds_valid(request, ANONYMOUS_MAX_AGE)
            patch_cache_control(response, public=True, max_age=min(60, shared), s_maxage=shared)
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response
