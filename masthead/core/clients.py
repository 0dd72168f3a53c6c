"""Who sent a request, as far as this site can tell.

The client's IP is REMOTE_ADDR, unless the request came through one of the
proxies named in TRUSTED_PROXIES (nginx in deploy/): then it is the address
that proxy saw, the last one in X-Forwarded-For. The header is not trusted
from anyone else, since anyone can send one. Rate limits and /health/ both
ask here.
"""

from django.conf import settings


def client_ip(request):
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if address in settings.TRUSTED_PROXIES:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        return forwarded or address
    return address
