"""Private files: publishing them whole, and handing them only to readers
whom a view has let through.

Gated files (narrations, editions) live in the "private" storage: a folder
outside MEDIA_ROOT in the embedded mode, a closed S3 bucket or prefix at
scale. Nothing links to them directly. A view that has asked
`access.decide` calls `serve_private_file`, which streams the file (with
byte ranges, for audio players and resumed downloads) or, when the storage
signs URLs, redirects to a URL that works for `SIGNED_URL_SECONDS`.

`save_atomically` writes a file so that its name appears only once the file
is complete: a worker killed half-way leaves nothing under that name.

Pictures (originals and renditions) are stored through `image_storage`,
which keeps each file where its name says: names under
PRIVATE_IMAGE_PREFIX in the private storage, the others in the public one.
A private picture's URL is the view named PRIVATE_IMAGE_URL_NAME, which
asks the access rule before handing the file out; nginx and the public
bucket never see it.

This module depends on Django only; the apps depend on it, not the reverse.
"""

import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import cast

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages
from django.core.signals import setting_changed
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.deconstruct import deconstructible
from django.utils.functional import LazyObject, empty
from django.utils.http import content_disposition_header, http_date, parse_etags
from django.views import static

SIGNED_URL_SECONDS = 300
CHUNK_SIZE = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class PrivateStorage(LazyObject):
    """The "private" storage, for a model's FileField (`storage=get_private_storage`):
    looked up when first used, and again after the STORAGES setting changes."""

    def _setup(self):
        self._wrapped = storages["private"]


# A LazyObject stands in for the storage it wraps, attribute for attribute.
private_storage = cast(Storage, PrivateStorage())


def get_private_storage():
    return private_storage


def _storages_changed(setting, **kwargs):
    if setting == "STORAGES":
        private_storage._wrapped = empty


setting_changed.connect(_storages_changed, dispatch_uid="masthead_private_storage")


# --- Pictures: public or private by name ---------------------------------------

PRIVATE_IMAGE_PREFIX = "gated/"
# The view that serves a private picture file by its name (access app).
PRIVATE_IMAGE_URL_NAME = "access:image_file"


def is_private_image_name(name):
    return (name or "").replace("\\", "/").startswith(PRIVATE_IMAGE_PREFIX)


def private_image_name(name):
    """The name a picture file takes in private storage."""
    return name if is_private_image_name(name) else PRIVATE_IMAGE_PREFIX + name


def public_image_name(name):
    """The name a picture file takes in public storage."""
    return name[len(PRIVATE_IMAGE_PREFIX) :] if is_private_image_name(name) else name


@deconstructible(path="masthead.core.storage.ImageStorage")
class ImageStorage(Storage):
    """The storage of pictures and their renditions: each name goes to the
    private or the public storage by its prefix, so a picture's file cannot
    be public while its name says private. Both storages are looked up on
    each call, so they follow the STORAGES setting."""

    def backend(self, name):
        return private_storage if is_private_image_name(name) else default_storage

    def _open(self, name, mode="rb"):
        return self.backend(name).open(name, mode)

    def save(self, name, content, max_length=None):
        return self.backend(name).save(name, content, max_length=max_length)

    def _save(self, name, content):
        return self.backend(name)._save(name, content)

    def generate_filename(self, filename):
        return self.backend(filename).generate_filename(filename)

    def get_valid_name(self, name):
        return default_storage.get_valid_name(name)

    def get_available_name(self, name, max_length=None):
        return self.backend(name).get_available_name(name, max_length=max_length)

    def delete(self, name):
        return self.backend(name).delete(name)

    def exists(self, name):
        return self.backend(name).exists(name)

    def listdir(self, path):
        return self.backend(path).listdir(path)

    def size(self, name):
        return self.backend(name).size(name)

    def path(self, name):
        return self.backend(name).path(name)

    def url(self, name):
        if is_private_image_name(name):
            return reverse(PRIVATE_IMAGE_URL_NAME, args=[name])
        return default_storage.url(name)

    def get_accessed_time(self, name):
        return self.backend(name).get_accessed_time(name)

    def get_created_time(self, name):
        return self.backend(name).get_created_time(name)

    def get_modified_time(self, name):
        return self.backend(name).get_modified_time(name)


image_storage = ImageStorage()


def get_image_storage():
    return image_storage


# --- Handing files out -------------------------------------------------------


# Public renditions (Wagtail's "images/" folder): a rendition's name says its
# picture and cut, and a picture that changes gets new renditions under new
# names, so a browser may keep one for a year. Private pictures never reach
# this view: their files live outside MEDIA_ROOT.
IMMUTABLE_MEDIA_FOLDERS = ("images/",)
ONE_YEAR = 365 * 24 * 60 * 60


def serve_public_media(request, path):
    """A public upload from MEDIA_ROOT, in the embedded mode (nginx or the
    bucket serve them at scale), read from the setting at each request."""
    response = static.serve(request, path, document_root=settings.MEDIA_ROOT)
    if response.status_code == 200 and path.startswith(IMMUTABLE_MEDIA_FOLDERS):
        # Private, as the brand stylesheet: the serving middleware makes a
        # public response to a signed-in reader uncacheable; each browser
        # keeps its own copy.
        response["Cache-Control"] = f"private, max-age={ONE_YEAR}, immutable"
    return response


def signs_urls(storage):
    """Whether the storage can hand out expiring signed URLs (S3 does)."""
    return getattr(storage, "querystring_auth", False) is True


def serve_private_file(
    request: HttpRequest,
    storage: Storage,
    name: str,
    *,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
    as_attachment: bool = False,
    cache_control: str = "private, max-age=3600",
) -> HttpResponseBase:
    """The response that gives `name` to a reader a view has already let in.

    With a storage that signs URLs: a redirect to a URL valid for
    SIGNED_URL_SECONDS, itself never cached (the URL must not outlive its
    signature in a cache). Otherwise the file itself, streamed, honouring
    Range, If-Range and HEAD.
    """
    if signs_urls(storage):
        return _redirect_to_signed_url(
            storage, name, content_type, filename, as_attachment, cache_control
        )
    return stream_file(
        request,
        storage,
        name,
        content_type=content_type,
        filename=filename,
        as_attachment=as_attachment,
        cache_control=cache_control,
    )


def _redirect_to_signed_url(storage, name, content_type, filename, as_attachment, cache_control):
    parameters = {"ResponseContentType": content_type, "ResponseCacheControl": cache_control}
    if filename:
        parameters["ResponseContentDisposition"] = content_disposition_header(
            as_attachment, filename
        )
    url = storage.url(name, parameters=parameters, expire=SIGNED_URL_SECONDS)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    patch_vary_headers(response, ["Cookie"])
    return response


def parse_range(header, size):
    """(start, end inclusive) for one byte range; None to send the whole
    file; "unsatisfiable" for a range that misses the file. A header this
    does not understand (several ranges, another unit) is ignored, as RFC
    9110 allows."""
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


def _chunks(handle, start, length):
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


def stream_file(
    request,
    storage,
    name,
    *,
    content_type="application/octet-stream",
    filename=None,
    as_attachment=False,
    cache_control="private, max-age=3600",
):
    """`name` from `storage` as a streaming response, with byte ranges."""
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
        byte_range = None  # the file changed since: send all of it
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = byte_range or (0, size - 1)
        length = max(0, end - start + 1)
        status = 206 if byte_range else 200
        if request.method == "HEAD":
            response = HttpResponse(status=status)
        else:
            response = StreamingHttpResponse(
                _chunks(storage.open(name, "rb"), start, length), status=status
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
        response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    if "private" in cache_control:
        patch_vary_headers(response, ["Cookie"])
    return response


# --- Writing files whole ------------------------------------------------------


def save_atomically(storage, name, content):
    """Save `content` (bytes or a File) as `name`, or a free variant of it,
    so that the name appears only when the file is complete. Returns the
    name used.

    On the local file system the bytes go to a hidden temporary file in the
    same folder, are flushed to disk, and are then hard-linked under the
    final name (which, unlike a rename, never replaces a file already
    there). An object store such as S3 publishes an object only once its
    upload completes, so there `storage.save` already is atomic.
    """
    if isinstance(content, bytes | bytearray):
        content = ContentFile(bytes(content))
    elif not isinstance(content, File):
        content = File(content)
    if isinstance(storage, ImageStorage):
        storage = storage.backend(name)
    if not isinstance(storage, FileSystemStorage):
        return storage.save(name, content)

    name = storage.generate_filename(name)
    final = Path(storage.path(name))
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{secrets.token_hex(6)}.part")
    try:
        with open(temporary, "xb") as handle:
            for chunk in content.chunks():  # from the start: chunks() seeks there
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if storage.file_permissions_mode is not None:
            os.chmod(temporary, storage.file_permissions_mode)
        while True:
            name = storage.get_available_name(name)
            try:
                os.link(temporary, storage.path(name))
                break
            except FileExistsError:
                continue  # another writer took that name meanwhile: pick another
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_folder(final.parent)
    return name.replace("\\", "/")


def _fsync_folder(folder):
    """Make the new directory entry durable, where the platform allows."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_partial_files(storage, folder="", older_than=3600):
    """Delete temporary files that `save_atomically` left behind when its
    process was killed (they are never under a published name). Returns
    their names."""
    if not isinstance(storage, FileSystemStorage):
        return []
    root = Path(storage.path(folder))
    if not root.exists():
        return []
    removed = []
    cutoff = time.time() - older_than
    for path in root.rglob(".*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(str(path.relative_to(storage.location)))
        except FileNotFoundError:
            continue
    return removed
