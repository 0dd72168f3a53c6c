"""Documents sent compressed to the readers' browsers that accept gzip.

Three places answer with a document, and each compresses differently:
- the anonymous page cache stores each page with its gzip copy, made once
  when the page is rendered, so a hit costs no compression at all;
- cached article pages for signed-in readers, answered before Django, keep a
  per-process gzip copy of each variant's body (`CompressedCopies`);
- everything else Django answers goes through `CompressionMiddleware`.

Only text is compressed (HTML, feeds, JSON, CSS, JavaScript, SVG, CSV):
pictures, audio, fonts and editions are compressed already. A response that
carries something private to the reader (a form's CSRF token beside what they
typed) is compressed with Django's random padding against BREACH; cached pages
are the same for everyone and need none.
"""

import functools
import gzip
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import patch_vary_headers

from .perprocess import PerProcessCache, per_process_cache

Headers = list[tuple[str, str]]

# Not worth a gzip header and a decompression.
MIN_BYTES = 200
COMPRESSIBLE_TYPES = (
    "text/",
    "application/json",
    "application/ld+json",
    "application/feed+json",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/javascript",
    "image/svg+xml",
)


def enabled() -> bool:
    return bool(settings.COMPRESS_DOCUMENTS)


# Browsers send a handful of values: each is read once per process.
@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value admits gzip (RFC 9110 12.5.3):
    `gzip` or `*` without `q=0`, and gzip not refused by name."""
    star = False
    for part in accept_encoding.lower().split(","):
        coding, _, parameters = part.partition(";")
        coding = coding.strip()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        refused = False
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    refused = float(value.strip()) <= 0
                except ValueError:
                    refused = True
        if coding == "*":
            star = not refused
        else:
            return not refused
    return star


def is_compressible(content_type: str, content_encoding: str | None = None) -> bool:
    return not content_encoding and content_type.lower().startswith(COMPRESSIBLE_TYPES)


def gzip_body(body: bytes) -> bytes | None:
    """`body` compressed, or None when that would not make it smaller."""
    if len(body) < MIN_BYTES:
        return None
    compressed = gzip.compress(body, compresslevel=6, mtime=0)
    return compressed if len(compressed) < len(body) else None


def vary_on_encoding(headers: Headers) -> Headers:
    """`headers` with Accept-Encoding in their Vary: a shared cache in front
    must not give a gzip copy to a client that did not ask for one."""
    merged = []
    found = False
    for name, value in headers:
        if name.lower() == "vary":
            found = True
            fields = [field.strip() for field in value.split(",") if field.strip()]
            if "accept-encoding" not in (field.lower() for field in fields):
                fields.append("Accept-Encoding")
            value = ", ".join(fields)
        merged.append((name, value))
    if not found:
        merged.append(("Vary", "Accept-Encoding"))
    return merged


def with_body_length(headers: Headers, body: bytes, encoding: str | None = None) -> Headers:
    """`headers` for sending `body`: its Content-Length, and its
    Content-Encoding when it is compressed."""
    sent = [
        (name, value)
        for name, value in headers
        if name.lower() not in ("content-length", "content-encoding")
    ]
    if encoding:
        sent.append(("Content-Encoding", encoding))
    sent.append(("Content-Length", str(len(body))))
    return sent


def content_type_of(headers: Iterable[tuple[str, str]]) -> tuple[str, str | None]:
    content_type, content_encoding = "", None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-type":
            content_type = value
        elif lowered == "content-encoding":
            content_encoding = value
    return content_type, content_encoding


class CompressedCopies:
    """This process's gzip copies of bodies it sends again and again (cached
    article variants), keyed by the body itself: bytes keep their hash once
    computed, so a lookup is a hash read and one comparison."""

    def __init__(self, max_entries: int = 200) -> None:
        self.copies: PerProcessCache[bytes] = per_process_cache(
            max_entries, lambda: float(settings.ARTICLE_VARIANT_SECONDS)
        )

    def get(self, body: bytes) -> bytes | None:
        copy = self.copies.get(body)
        if copy is None:
            copy = gzip_body(body)
            if copy is None:
                return None
            self.copies.set(body, copy)
        return copy


class CompressionMiddleware(GZipMiddleware):
    """Django's gzip (with its BREACH padding) for text responses only, and
    none at all when COMPRESS_DOCUMENTS is off."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not enabled() or not is_compressible(response.get("Content-Type", "")):
            return response
        if not accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            # Django's own test is a bare search for "gzip" (it would take
            # "gzip;q=0"); the Vary header is still owed.
            if not response.has_header("Content-Encoding"):
                patch_vary_headers(response, ("Accept-Encoding",))
            return response
        return super().process_response(request, response)
