"""Where a request is for, as cache keys: one host rule, Django's.

A cached page is for one scheme and host. Django's `request.scheme` and
`request.get_host()` decide both: X-Forwarded-Host counts only with
USE_X_FORWARDED_HOST, X-Forwarded-Port only with USE_X_FORWARDED_PORT, the
scheme comes from SECURE_PROXY_SSL_HEADER when set. `environ_place` is the
same rule read from a WSGI environ, for the page cache and for signed-in
pages answered before Django makes a request (tests hold the two to the same
answers).
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest


@dataclass(frozen=True)
class PlaceRules:
    """The settings that decide a request's place, read once: the page
    cache works out a place for every request."""

    proxy_ssl_header: tuple[str, str] | None
    forwarded_host: bool
    forwarded_port: bool


_rules: list[PlaceRules] = []
_RULE_SETTINGS = ("SECURE_PROXY_SSL_HEADER", "USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT")


def place_rules() -> PlaceRules:
    if not _rules:
        _rules.append(
            PlaceRules(
                proxy_ssl_header=settings.SECURE_PROXY_SSL_HEADER or None,
                forwarded_host=bool(settings.USE_X_FORWARDED_HOST),
                forwarded_port=bool(settings.USE_X_FORWARDED_PORT),
            )
        )
    return _rules[0]


@receiver(setting_changed)
def _forget_rules(setting: str, **kwargs: object) -> None:
    if setting in _RULE_SETTINGS:
        _rules.clear()


def environ_scheme(environ: Mapping[str, Any]) -> str:
    """`HttpRequest.scheme`, from a WSGI environ."""
    proxy_ssl_header = place_rules().proxy_ssl_header
    if proxy_ssl_header:
        header, secure_value = proxy_ssl_header
        value = environ.get(header)
        if value is not None:
            value, *_ = value.split(",", 1)
            return "https" if value.strip() == secure_value else "http"
    return str(environ.get("wsgi.url_scheme", "http"))


def environ_host(environ: Mapping[str, Any]) -> str:
    """`HttpRequest.get_host()`'s host (before it is checked against
    ALLOWED_HOSTS), from a WSGI environ."""
    rules = place_rules()
    if rules.forwarded_host and "HTTP_X_FORWARDED_HOST" in environ:
        return str(environ["HTTP_X_FORWARDED_HOST"])
    if "HTTP_HOST" in environ:
        return str(environ["HTTP_HOST"])
    host = str(environ.get("SERVER_NAME", ""))
    if rules.forwarded_port and "HTTP_X_FORWARDED_PORT" in environ:
        port = str(environ["HTTP_X_FORWARDED_PORT"])
    else:
        port = str(environ.get("SERVER_PORT", ""))
    if port != ("443" if environ_scheme(environ) == "https" else "80"):
        host = f"{host}:{port}"
    return host


def environ_place(environ: Mapping[str, Any]) -> str:
    """ "scheme:host" of a WSGI environ."""
    return f"{environ_scheme(environ)}:{environ_host(environ)}"


def place_inputs(environ: Mapping[str, Any]) -> tuple[Any, ...]:
    """What `environ_place` may read of an environ, whatever the settings:
    a key that stands for the place while the settings stay as they are."""
    proxy_header = place_rules().proxy_ssl_header
    return (
        environ.get("wsgi.url_scheme"),
        environ.get("HTTP_HOST"),
        environ.get("SERVER_NAME"),
        environ.get("SERVER_PORT"),
        environ.get("HTTP_X_FORWARDED_HOST"),
        environ.get("HTTP_X_FORWARDED_PORT"),
        environ.get(proxy_header[0]) if proxy_header else None,
    )


def request_place(request: HttpRequest) -> str:
    """ "scheme:host" of a Django request."""
    return f"{request.scheme}:{request.get_host()}"


# Longer than this, or with characters memcached refuses (spaces, control
# characters, anything not ASCII), a path goes into a key as its digest.
KEY_PATH_LENGTH = 150


def key_part(text: str) -> str:
    """`text` as it may stand in a cache key: itself when memcached would
    take it (nearly every path), else a digest of it."""
    if len(text) <= KEY_PATH_LENGTH and text.isascii() and text.isprintable() and " " not in text:
        return text
    return "#" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class PlaceKeys:
    """A place's keys in the current generation, and in the one before while
    a publish's grace lasts (else None): see `pagecache.generations`."""

    current: str
    previous: str | None

    def route(self, path: str) -> str:
        return f"{self.current}:{key_part(path)}"

    def variant(self, article_id: int | None, variant: str) -> str:
        return f"{self.current}:{article_id}:{variant}"

    def route_before(self, path: str) -> str | None:
        return f"{self.previous}:{key_part(path)}" if self.previous else None

    def variant_before(self, article_id: int | None, variant: str) -> str | None:
        return f"{self.previous}:{article_id}:{variant}" if self.previous else None


def place_keys(place: str) -> PlaceKeys:
    from .pagecache import generations

    current, previous = generations()
    place = key_part(place)
    return PlaceKeys(f"{current}:{place}", f"{previous}:{place}" if previous is not None else None)
