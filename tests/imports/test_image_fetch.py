"""Pictures fetched from their old address during an import, from a
loopback server: a picture comes in; a page that is not a picture, one too
large (said so by its length or found so while reading), a server that never
answers and a missing file are each refused with the reason, and nothing is
saved for them."""

import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from masthead.imports import images
from masthead.imports.images import ImageUnavailable, fetch_image
from masthead.newsroom.models import CreditedImage


def png(size=8):
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


SMALL = png()
LARGE = png(200) + b"\0" * 4000  # a valid picture past the cap set below


class OldSite(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    asked: list[str] = []

    def do_GET(self):
        self.asked.append(self.path)
        if self.path == "/content/images/harbour.png":
            self._answer(200, "image/png", SMALL)
        elif self.path == "/content/images/page.png":
            self._answer(200, "text/html; charset=utf-8", b"<html>Not here</html>")
        elif self.path == "/content/images/large.png":
            self._answer(200, "image/png", LARGE)
        elif self.path == "/content/images/large-unsaid.png":
            # No Content-Length: the cap holds while reading.
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(LARGE)
            self.close_connection = True
        else:
            self._answer(404, "text/plain", b"Not found")

    def _answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(autouse=True)
def old_site_on_this_network(settings):
    # The old site below answers on this machine's loopback.
    settings.IMPORT_FETCH_PRIVATE_ADDRESSES = True


@pytest.fixture
def old_site():
    OldSite.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OldSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server():
    """Takes connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture
def cap(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", len(SMALL) + 1000)


def test_a_picture_is_fetched_from_its_old_address_once(db, old_site, cap):
    url = f"{old_site}/content/images/harbour.png"
    first = fetch_image(url, alt="The harbour", caption="At dawn", credit="Ana Peña")
    image = CreditedImage.objects.get(pk=first)
    assert (image.title, image.caption, image.credit) == ("The harbour", "At dawn", "Ana Peña")
    assert image.file.read() == SMALL
    # Used again (another post, or a re-run): the same picture, not a copy.
    assert fetch_image(url) == first
    assert CreditedImage.objects.count() == 1


@pytest.mark.parametrize(
    "path, reason",
    [
        ("/content/images/page.png", "not a picture (text/html; charset=utf-8)"),
        ("/content/images/large.png", "larger than"),
        ("/content/images/large-unsaid.png", "larger than"),
        ("/content/images/gone.png", "could not fetch: HTTP Error 404"),
    ],
)
def test_what_is_not_a_picture_within_the_cap_is_refused_with_the_reason(
    db, old_site, cap, path, reason
):
    with pytest.raises(ImageUnavailable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        fetch_image(f"{old_site}{path}")
    assert not CreditedImage.objects.exists()


def test_a_server_that_never_answers_is_given_up_on(db, silent_server, monkeypatch):
    monkeypatch.setattr(images, "FETCH_TIMEOUT", 1)
    with pytest.raises(ImageUnavailable, match="could not fetch: .*timed out"):
        fetch_image(f"{silent_server}/content/images/harbour.png")
    assert not CreditedImage.objects.exists()


def test_a_private_address_is_not_fetched_unless_allowed(db, old_site, settings):
    settings.IMPORT_FETCH_PRIVATE_ADDRESSES = False
    for url in (
        f"{old_site}/content/images/harbour.png",
        f"{old_site.replace('127.0.0.1', 'localhost')}/content/images/harbour.png",
    ):
        with pytest.raises(ImageUnavailable, match="127.0.0.1 is not a public address"):
            fetch_image(url)
    assert OldSite.asked == []
    assert not CreditedImage.objects.exists()


class MovedSite(BaseHTTPRequestHandler):
    """A site whose pictures moved to another address (`to`)."""

    to = ""
    asked: list[str] = []

    def do_GET(self):
        self.asked.append(self.path)
        self.send_response(302)
        self.send_header("Location", f"{self.to}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_redirect_to_a_private_address_is_not_followed(db, old_site, settings, monkeypatch):
    settings.IMPORT_FETCH_PRIVATE_ADDRESSES = False
    # 127.0.0.2 stands for a public server, which sends the importer on to
    # the loopback's old site.
    monkeypatch.setattr(images, "is_public", lambda address: address == "127.0.0.2")
    MovedSite.to, MovedSite.asked = old_site, []
    server = ThreadingHTTPServer(("127.0.0.2", 0), MovedSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ImageUnavailable, match="127.0.0.1 is not a public address"):
            fetch_image(f"http://127.0.0.2:{server.server_port}/content/images/harbour.png")
    finally:
        server.shutdown()
        server.server_close()
    assert MovedSite.asked == ["/content/images/harbour.png"]
    assert OldSite.asked == []
    assert not CreditedImage.objects.exists()


def test_an_uploaded_export_may_not_name_this_machines_files(db, tmp_path):
    picture = tmp_path / "harbour.png"
    picture.write_bytes(SMALL)
    with pytest.raises(ImageUnavailable, match="no images folder given"):
        fetch_image(str(picture))
    # From the command line, the operator's own files are read.
    assert CreditedImage.objects.get(
        pk=fetch_image(str(picture), local_files=True)
    ).file.read() == (SMALL)
