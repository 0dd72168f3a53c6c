"""Pictures of an import: from the folder the publisher gives (`--images`,
`--uploads`) or fetched from their URL, with a timeout, a size cap, a
content-type check, and from public addresses only. A picture that cannot be
had raises ImageUnavailable; the writer lists it in the report and goes on.

Each picture is imported once per source address (an `ImportedObject` of
kind image), so a re-run or a picture used by many posts makes one image.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import ipaddress
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.images import ImageFile

FETCH_TIMEOUT = 10  # seconds
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
# The part of an old platform's image URL that mirrors its uploads folder.
UPLOAD_PREFIXES = ("/content/images/", "/wp-content/uploads/")


class ImageUnavailable(Exception):
    pass


def _source_key(src):
    return src if len(src) <= 255 else "sha1:" + hashlib.sha1(src.encode()).hexdigest()


def fetch_image(
    src, *, images_dir="", alt="", caption="", credit="", fetcher=None, local_files=False
):
    """The pk of a CreditedImage for `src`, importing it if need be.

    `fetcher` is None to fetch over HTTP, False to never fetch, or a callable
    (url -> (bytes, content type)) standing in for HTTP. `local_files`: a
    `src` that is a path on this machine is read (an import from the
    command line; an uploaded export may not name this machine's files).
    """
    from .models import ImportedObject

    if not src:
        raise ImageUnavailable("no address")
    key = _source_key(src)
    known = (
        ImportedObject.objects.filter(source="image", kind=ImportedObject.Kind.IMAGE, source_id=key)
        .values_list("object_id", flat=True)
        .first()
    )
    if known:
        return known
    data = _from_folder(src, images_dir) if images_dir else None
    if data is None and local_files and not urlsplit(src).scheme and Path(src).is_file():
        data = Path(src).read_bytes()
    if data is None:
        if urlsplit(src).scheme not in ("http", "https"):
            raise ImageUnavailable(
                "not in the images folder" if images_dir else "no images folder given"
            )
        if fetcher is False:
            raise ImageUnavailable("not in the images folder, and fetching is off")
        data, content_type = (fetcher or http_fetch)(src)
        if content_type.split(";")[0].strip().lower() not in IMAGE_TYPES:
            raise ImageUnavailable(f"not a picture ({content_type or 'no content type'})")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageUnavailable(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    image = _save(src, data, alt, caption, credit)
    ImportedObject.objects.update_or_create(
        source="image",
        kind=ImportedObject.Kind.IMAGE,
        source_id=key,
        defaults={"object_id": image.pk, "fingerprint": hashlib.sha1(data).hexdigest()},
    )
    return image.pk


class PrivateAddress(OSError):
    pass


def _refuse_private(connection):
    """Close `connection` unless it reached a public address: an export may
    name anything, and the importer must not be the way to this machine's
    services or its network's (IMPORT_FETCH_PRIVATE_ADDRESSES lets it).
    Checked on the address connected to, so that neither a name that
    resolves to another address later nor a redirect gets past it."""
    if settings.IMPORT_FETCH_PRIVATE_ADDRESSES:
        return
    address = connection.sock.getpeername()[0]
    if not is_public(address):
        connection.close()
        raise PrivateAddress(f"{address} is not a public address")


def is_public(address):
    """Whether an IP address is reachable on the internet (not loopback,
    private, link-local, shared or reserved)."""
    return ipaddress.ip_address(address.partition("%")[0]).is_global


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        _refuse_private(self)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        super().connect()
        _refuse_private(self)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req)


def http_fetch(url):
    request = urllib.request.Request(url, headers={"User-Agent": "Masthead importer"})
    # No proxies from the environment: the address checked is the server's.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _PublicHTTPHandler, _PublicHTTPSHandler
    )
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as response:
            content_type = response.headers.get("Content-Type", "")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > MAX_IMAGE_BYTES:
                raise ImageUnavailable(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
            data = response.read(MAX_IMAGE_BYTES + 1)
    except ImageUnavailable:
        raise
    except Exception as error:  # timeouts, refused connections, HTTP errors
        raise ImageUnavailable(f"could not fetch: {error}") from error
    return data, content_type


def _from_folder(src, images_dir):
    """The file in `images_dir` that `src` names: by the path after an
    uploads prefix, by the path itself, or by its last parts."""
    folder = Path(images_dir)
    path = unquote(urlsplit(src).path or src)
    candidates = []
    for prefix in UPLOAD_PREFIXES:
        if prefix in path:
            candidates.append(path.split(prefix, 1)[1])
    parts = PurePosixPath(path).parts
    candidates.extend("/".join(parts[i:]) for i in range(len(parts)) if parts[i] != "/")
    root = folder.resolve()
    for candidate in candidates:
        file = (folder / candidate).resolve()
        if file.is_relative_to(root) and file.is_file():
            return file.read_bytes()
    return None


def _save(src, data, alt, caption, credit):
    from PIL import Image, UnidentifiedImageError

    from masthead.newsroom.models import CreditedImage

    try:
        Image.open(io.BytesIO(data)).verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ImageUnavailable("not a picture Masthead can read") from error
    name = PurePosixPath(urlsplit(src).path or src).name or "imported.jpg"
    image = CreditedImage(
        title=(alt or name)[:255],
        caption=caption[:500],
        credit=credit[:200],
        file=ImageFile(io.BytesIO(data), name=name),
        file_size=len(data),
        file_hash=hashlib.sha1(data).hexdigest(),
    )
    image.save()
    return image
