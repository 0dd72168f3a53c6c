"""Rate limits on requests that send email, check a password or start a
payment.

Counters live in Django's cache (Redis at scale, a file or local-memory cache
in the embedded mode and in tests), one per limit, key and fixed time window.
A request counts whether the address belongs to a member or not, so the limit
says nothing about which addresses have accounts.

Who is limited, and why not the address alone
---------------------------------------------
A limit keyed on an email address alone is a lock anyone can close: a few
wrong passwords or link requests for someone else's address, sent from
anywhere, and the owner is refused too. So a request is refused (429) only
by limits that belong to where it comes from:

- per (email address, source): one place cannot hammer one address;
- per source: one place cannot walk through many addresses.

An attacker who spreads requests over many sources is refused at each of
them and never at the owner's, and the owner's own source has its own
counters. What a source is: the client's IPv4 address, or the /64 network
of an IPv6 address, since one IPv6 host is routinely handed a whole /64 and
could otherwise take a fresh address for every try.

The address itself still needs protecting from a flood of email. That limit
says how often, never whether: a link is sent to one address at most once a
minute, whoever asks (the first request in each minute sends it). A
request within that minute gets the same "check your
inbox" answer and sends nothing; it neither issues a link nor voids the one
sent before (each new link voids the older ones), so the newest link in the
owner's inbox always works, and one asked for after the minute arrives. The
answer never tells the asker whether a link went out.

Passwords have no per-address limit at all: any such limit, once reached,
refuses the owner as well. Guessing one member's password from many sources
is bounded by the per-source limits and by the password rules every password
is set under; a member can always sign in by link instead.

Checkouts and gifts are limited per member and per source, so one account
or one place cannot create sessions, pending gifts and gift emails without
end.

The client's IP is read by `core.clients.client_ip`, which trusts
X-Forwarded-For only from TRUSTED_PROXIES.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass

from django.core.cache import cache

from masthead.core.clients import client_ip


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
LINK_PER_EMAIL_AND_SOURCE = Limit("link-email-source", 5, 15 * 60)
LINK_PER_SOURCE = Limit("link-source", 20, 60 * 60)
# How often a link goes to one address, not whether: see the module's docstring.
LINK_SENT_PER_EMAIL = Limit("link-sent-email", 1, 60)
# Every form that checks a password counts here: the readers' sign-in, the
# Wagtail admin's and the Django admin's.
PASSWORD_PER_EMAIL_AND_SOURCE = Limit("password-email-source", 10, 15 * 60)
PASSWORD_PER_SOURCE = Limit("password-source", 30, 60 * 60)
EMAIL_CHANGE_PER_USER = Limit("email-change-user", 5, 60 * 60)
CHECKOUT_PER_MEMBER = Limit("checkout-member", 10, 60 * 60)
CHECKOUT_PER_SOURCE = Limit("checkout-source", 30, 60 * 60)
GIFT_PER_MEMBER = Limit("gift-member", 5, 24 * 60 * 60)
GIFT_PER_SOURCE = Limit("gift-source", 10, 24 * 60 * 60)


def source(request):
    """Where a request comes from, as the limits count it: the IPv4 address,
    or the /64 network of an IPv6 one."""
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def allow(request, email, per_email_and_source, per_source):
    """Count a request for `email` against both limits; False when either is
    exceeded.

    Both counters move on every request, so the answer does not depend on
    which limit is checked first.
    """
    where = source(request)
    pair_ok = per_email_and_source.hit(f"{str(email).strip().lower()} {where}")
    source_ok = per_source.hit(where)
    return pair_ok and source_ok


def allow_member(request, member, per_member, per_source):
    """Count a signed-in member's request against both limits; False when
    either is exceeded."""
    member_ok = per_member.hit(member.pk)
    source_ok = per_source.hit(source(request))
    return member_ok and source_ok


def link_due(email):
    """True when a link may go to `email` now: the first request in its minute."""
    return LINK_SENT_PER_EMAIL.hit(email)
