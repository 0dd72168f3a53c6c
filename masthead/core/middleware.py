"""Headers every response gets: who may cache it, what the browser may run.

`SharedPagesMiddleware` is the default of the page cache's rule: a response
of a page type not in `pagecache.SHARED_PAGES` is `private` or `no-store`,
whatever its view or another middleware said. `SecurityHeadersMiddleware`
adds the Content-Security-Policy, the Permissions-Policy and a Server header
that names no software.
"""

from django.urls import reverse
from django.utils.cache import patch_cache_control

from .pagecache import may_be_shared

# Reader pages run scripts from this site's files only: no inline script, no
# handler attribute, no eval. No nonce either: a page kept in the shared cache
# would hand every reader the same one. Inline styles stay allowed (a few
# templates carry a <style> block). Images and audio may come from the media
# storage's own host (S3 or a CDN) at scale.
READER_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: https:",
    "media-src": "'self' https:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'self'",
}
# Wagtail's and Django's admin pages carry inline scripts of their own; the
# rest of the policy still holds there.
ADMIN_POLICY = {
    **READER_POLICY,
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval'",
    "img-src": "'self' data: blob: https:",
    "media-src": "'self' blob: https:",
    "frame-src": "'self'",
}
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
# Granian adds `server: granian` unless the application names a server itself.
SERVER_NAME = "web"


def policy_header(policy):
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class SharedPagesMiddleware:
    """Make every response that is not of a shared page type private.

    A view or middleware may have marked it `public`, `private, no-cache`
    or nothing: unless the page type is in SHARED_PAGES, it becomes
    `private, no-store`, kept by no cache, not even the reader's browser
    (a gift link opened on a shared computer). A response that is already
    `no-store`, or `private` with a max-age of its own (a subscriber's audio,
    kept by their browser while they listen), keeps its header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if may_be_shared(request) or keeps_its_header(response.get("Cache-Control", "")):
            return response
        if response.has_header("Cache-Control"):
            del response["Cache-Control"]
        patch_cache_control(response, private=True, no_store=True)
        return response


def keeps_its_header(cache_control):
    directives = {
        name.strip().lower(): value.strip()
        for name, _, value in (part.partition("=") for part in cache_control.split(","))
    }
    if "public" in directives:
        return False
    if "no-store" in directives:
        return True
    return "private" in directives and directives.get("max-age", "0") not in ("", "0")


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefixes = None

    def is_admin(self, request):
        if self.admin_prefixes is None:
            self.admin_prefixes = (reverse("wagtailadmin_home"), reverse("admin:index"))
        return request.path_info.startswith(self.admin_prefixes)

    def __call__(self, request):
        response = self.get_response(request)
        policy = ADMIN_POLICY if self.is_admin(request) else READER_POLICY
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy_header(policy)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response["Server"] = SERVER_NAME
        return response
