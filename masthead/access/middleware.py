from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers

# Shared caches (this app's page cache, nginx's proxy_cache) may keep an
# anonymous page this long.
ANONYMOUS_MAX_AGE = 300


class ReaderCacheHeadersMiddleware:
    """Mark who may share a response.

    Anonymous GETs without a session are `public`: the page cache and nginx
    may serve them to anyone. Everything else varies on the session cookie and
    is `private`, so a subscriber's page is never served to anyone else.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
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
        if anonymous and response.status_code == 200:
            patch_cache_control(
                response, public=True, max_age=60, s_maxage=ANONYMOUS_MAX_AGE
            )
        else:
            patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ["Cookie"])
        return response
