"""Rate limits on requests that send email or check a password.

Counters live in Django's cache (Redis at scale, a file or local-memory cache
in the embedded mode and in tests), one per limit, key and fixed time window.
A request counts whether the address belongs to a member or not, so the limit
says nothing about which addresses have accounts.

The client's IP is REMOTE_ADDR, unless the request came through one of the
proxies named in TRUSTED_PROXIES (nginx in deploy/): then it is the address
that proxy saw, the last one in X-Forwarded-For. The header is not trusted
from anyone else, since anyone can send one.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int  # seconds

    def hit(self, key):
        """Count one request for `key`; True while it stays within the limit."""
        digest = hashlib.sha256(str(key).strip().lower().encode()).hexdigest()[:32]
        bucket = int(time.time() // self.window)
        cache_key = f"accounts:ratelimit:{self.scope}:{digest}:{bucket}"
        if cache.add(cache_key, 1, timeout=self.window):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add() and incr()
                cache.set(cache_key, 1, timeout=self.window)
                count = 1
        return count <= self.limit


# Sign-in and sign-up links share their counters: alternating the two forms
# gains nothing.
LINK_PER_EMAIL = Limit("link-email", 5, 15 * 60)
LINK_PER_IP = Limit("link-ip", 20, 60 * 60)
PASSWORD_PER_EMAIL = Limit("password-email", 10, 15 * 60)
PASSWORD_PER_IP = Limit("password-ip", 30, 60 * 60)
EMAIL_CHANGE_PER_USER = Limit("email-change-user", 5, 60 * 60)


def client_ip(request):
    address = request.META.get("REMOTE_ADDR") or "unknown"
    if address in settings.TRUSTED_PROXIES:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        return forwarded or address
    return address


def allow(request, email, per_email, per_ip):
    """Count a request against both limits; False when either is exceeded.

    Both counters move on every request, so the answer does not depend on
    which limit is checked first.
    """
    email_ok = per_email.hit(email)
    ip_ok = per_ip.hit(client_ip(request))
    return email_ok and ip_ok
