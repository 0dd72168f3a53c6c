"""Streaming files from private storage with HTTP byte ranges.

Browsers seek in audio with `Range: bytes=a-b` and podcast apps resume
downloads with it. One range is served as 206 Partial Content; a range past
the end is 416; a header this does not understand (several ranges, another
unit) is ignored and the whole file sent, as RFC 9110 allows.
"""

import hashlib
import re

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date, parse_etags

CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header, size):
    """(start, end inclusive) for a single byte range, None to send it all,
    "unsatisfiable" for a range that does not overlap the file."""
    match = _RANGE.match((header or "").strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def _stream(handle, start, length):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_file(
    request, storage, name, content_type="audio/mpeg", cache_control="private", filename=None
):
    """A response streaming `name` from `storage`, honouring Range and HEAD."""
    size = storage.size(name)
    etag = '"' + hashlib.sha256(f"{name}:{size}".encode()).hexdigest()[:32] + '"'
    try:
        modified = storage.get_modified_time(name)
    except (NotImplementedError, OSError):
        modified = None
    byte_range = parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if (
        byte_range not in (None, "unsatisfiable")
        and if_range
        and if_range.startswith('"')
        and etag not in parse_etags(if_range)
    ):
        byte_range = None  # the file changed: send all of it
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = byte_range or (0, size - 1)
        length = max(0, end - start + 1)
        if request.method == "HEAD":
            response = HttpResponse(status=206 if byte_range else 200)
        else:
            response = StreamingHttpResponse(
                _stream(storage.open(name, "rb"), start, length),
                status=206 if byte_range else 200,
            )
        response["Content-Length"] = str(length)
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Type"] = content_type
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    if modified is not None:
        response["Last-Modified"] = http_date(modified.timestamp())
    if filename:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
