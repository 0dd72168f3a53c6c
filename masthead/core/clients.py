"""Who sent a request, as far as this site can tell.

The client's IP is REMOTE_ADDR, unless the request came through one of the
proxies named in TRUSTED_PROXIES (addresses or CIDR ranges: nginx in
deploy/): then it is the first address in X-Forwarded-For, read from the
right, that is not a trusted proxy itself. The header is not trusted from
anyone else, since anyone can send one. Rate limits, /health/ and
institutional access by IP range all ask here.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    # A malformed entry trusts nobody rather than failing every request.
    found = []
    for proxy in proxies:
        try:
            found.append(ipaddress.ip_network(proxy.strip(), strict=False))
        except ValueError:
            continue
    return tuple(found)


# Answers per (proxies, address): a request asks about its peer (nginx's
# address, the same every time), so parsing it once per process is enough.
_answers: dict[tuple[tuple[str, ...], str], bool] = {}
ANSWERS_KEPT = 1024


def is_trusted_proxy(address: str) -> bool:
    proxies = settings.TRUSTED_PROXIES
    if not proxies:
        return False
    key = (tuple(proxies), address)
    answer = _answers.get(key)
    if answer is None:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            answer = False
        else:
            answer = any(ip in network for network in _networks(key[0]))
        if len(_answers) >= ANSWERS_KEPT:
            _answers.clear()
        _answers[key] = answer
    return answer


def client_address(remote_addr: str, forwarded_for: str = "") -> str:
    """The client's address: `remote_addr` (the peer), or, when the peer is a
    trusted proxy, the right-most address in `forwarded_for` that is not one.
    Empty when nothing names one."""
    if not remote_addr or not settings.TRUSTED_PROXIES or not is_trusted_proxy(remote_addr):
        return remote_addr
    address = remote_addr
    for hop in reversed(forwarded_for.split(",")):
        address = hop.strip()
        if not address or not is_trusted_proxy(address):
            break
    return address or remote_addr


def client_ip(request):
    return client_address(
        request.META.get("REMOTE_ADDR") or "unknown", request.META.get("HTTP_X_FORWARDED_FOR", "")
    )
