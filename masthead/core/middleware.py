"""Headers every response gets: what the browser may run.

`SecurityHeadersMiddleware` adds the Content-Security-Policy, the
Permissions-Policy and a Server header that names no software. (Who may cache
a response is serving's: `serving.middleware.SharedPagesMiddleware`.)
"""

from django.urls import reverse

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
