"""Private files on the local file system: streamed with byte ranges, and
written so that a half-written file is never published."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.test import RequestFactory

from masthead.core.storage import (
    parse_range,
    remove_partial_files,
    save_atomically,
    serve_private_file,
)
from tests.scaleout.support import REPO, wait_until

DATA = bytes(range(256)) * 400  # 102,400 bytes


@pytest.fixture
def storage(tmp_path):
    return FileSystemStorage(location=tmp_path / "private", base_url=None)


def get(path="/x", **headers):
    return RequestFactory().get(path, headers=headers)


def body(response):
    return b"".join(response.streaming_content)


def test_whole_file_streamed_privately(storage):
    name = save_atomically(storage, "audio/1/full.mp3", DATA)
    response = serve_private_file(
        get(), storage, name, content_type="audio/mpeg", filename="the-bond-market.mp3"
    )
    assert response.status_code == 200
    assert body(response) == DATA
    assert response["Content-Length"] == str(len(DATA))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Cache-Control"] == "private, max-age=3600"
    assert response["Vary"] == "Cookie"
    assert response["Content-Disposition"] == 'inline; filename="the-bond-market.mp3"'


def test_byte_ranges(storage):
    name = save_atomically(storage, "editions/1.epub", DATA)
    response = serve_private_file(get(Range="bytes=100-199"), storage, name)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert body(response) == DATA[100:200]

    tail = serve_private_file(get(Range="bytes=-10"), storage, name)
    assert body(tail) == DATA[-10:]

    past_the_end = serve_private_file(get(Range=f"bytes={len(DATA)}-"), storage, name)
    assert past_the_end.status_code == 416
    assert past_the_end["Content-Range"] == f"bytes */{len(DATA)}"

    changed = serve_private_file(get(Range="bytes=0-9", **{"If-Range": '"old"'}), storage, name)
    assert changed.status_code == 200 and body(changed) == DATA


def test_head_sends_no_body(storage):
    name = save_atomically(storage, "a.mp3", DATA)
    request = RequestFactory().head("/x")
    response = serve_private_file(request, storage, name, as_attachment=True, filename="a.mp3")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(DATA))
    assert response["Content-Disposition"] == 'attachment; filename="a.mp3"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=5-", (5, 9)),
        ("bytes=-3", (7, 9)),
        ("bytes=0-99", (0, 9)),
        ("bytes=3-1", None),
        ("bytes=0-1,4-5", None),
        ("items=0-1", None),
        ("bytes=10-", "unsatisfiable"),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 10) == expected


def test_save_atomically_never_replaces_a_published_file(storage):
    first = save_atomically(storage, "editions/issue.pdf", b"first")
    second = save_atomically(storage, "editions/issue.pdf", ContentFile(b"second"))
    assert first == "editions/issue.pdf"
    assert second != first and second.startswith("editions/issue")
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"
    assert sorted(storage.listdir("editions")[1]) == sorted([first[9:], second[9:]])


class Exploding(ContentFile):
    """Content whose reading fails half-way, as a renderer that crashes."""

    def chunks(self, chunk_size=None):
        yield b"x" * 1000
        raise RuntimeError("the renderer crashed")


def test_a_failed_write_leaves_no_file(storage):
    with pytest.raises(RuntimeError):
        save_atomically(storage, "audio/2/full.mp3", Exploding(b""))
    assert not storage.exists("audio/2/full.mp3")
    assert storage.listdir("audio/2") == ([], [])


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from django.conf import settings
    settings.configure()
    from django.core.files.base import File
    from django.core.files.storage import FileSystemStorage
    from masthead.core.storage import save_atomically

    class Slow:
        def __init__(self):
            self.sent = 0
        def read(self, size=-1):
            if self.sent == 0:
                print("writing", flush=True)
            if self.sent > 100:
                time.sleep(60)
            self.sent += 1
            return b"y" * 65536
    storage = FileSystemStorage(location=sys.argv[1])
    save_atomically(storage, "audio/3/full.mp3", File(Slow(), name="x"))
    """
)


def test_a_writer_killed_mid_file_publishes_nothing(storage, tmp_path):
    """SIGKILL while the bytes are being written: nothing appears under the
    final name; the hidden partial file is swept up later."""
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, storage.location],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        folder = tmp_path / "private" / "audio" / "3"
        wait_until(
            lambda: any(p.stat().st_size > 6_000_000 for p in folder.glob(".*.part")),
            60,
            message="the writer got half-way",
        )
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    assert not storage.exists("audio/3/full.mp3")
    (partial,) = folder.glob(".*.part")
    assert remove_partial_files(storage, older_than=3600) == []  # too recent to be abandoned
    old = time.time() - 7200
    os.utime(partial, (old, old))
    assert remove_partial_files(storage) == [str(partial.relative_to(storage.location))]
    assert storage.listdir("audio/3") == ([], [])
