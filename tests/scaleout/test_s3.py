"""Media on an S3-compatible object store, configured only through the
environment (MEDIA_STORAGE=s3 and the usual AWS_* settings), against a
local S3 server (moto, in server mode, on a free loopback port).

Public images get plain URLs; gated files get URLs signed for five minutes,
handed out by a redirect that no cache may keep.
"""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import storages
from django.test import Client, RequestFactory

from masthead.core.health import check_storage
from masthead.core.storage import SIGNED_URL_SECONDS, save_atomically, serve_private_file
from masthead.newsroom.models import SectionPage
from tests.access.support import ensure_plans, make_reader
from tests.access.test_pictures import gated_body
from tests.factories import make_article, make_image
from tests.scaleout.support import REPO, free_port

BUCKET = "masthead-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
PUBLIC_MEDIA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PublicMedia",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/media/*",
        }
    ],
}


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def storages_from_environment(endpoint):
    """STORAGES as masthead.settings builds it from the environment."""
    env = {
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "MASTHEAD_TESTING": "1",
        "PATH": "/usr/bin:/bin",
        **CREDENTIALS,
    }
    output = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, masthead.settings as s; "
            "print(json.dumps({'STORAGES': s.STORAGES, 'SERVE_MEDIA': s.SERVE_MEDIA}))",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    import boto3

    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
        # As deploy/README.md sets it up: anyone may read media/, nobody private/.
        client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC_MEDIA_POLICY))
    configured = storages_from_environment(s3_server)
    assert configured["SERVE_MEDIA"] is False  # the store serves media, not Django
    settings.STORAGES = configured["STORAGES"]
    return client


def fetch(url, **headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def keys(client, prefix):
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.django_db
def test_uploaded_images_and_renditions_go_to_the_bucket_with_plain_urls(s3):
    image = make_image("Harbour at dawn")
    rendition = image.get_rendition("width-200")
    assert f"media/{image.file.name}" in keys(s3, "media/")
    assert any(key.startswith("media/images/") for key in keys(s3, "media/images/"))
    url = rendition.url
    assert url.startswith(f"{s3.meta.endpoint_url}/{BUCKET}/media/images/")
    assert "X-Amz-Signature" not in url  # cacheable in anonymous pages
    status, headers, data = fetch(url)
    assert status == 200 and data[:2] == b"\xff\xd8"  # a JPEG


@pytest.mark.django_db
def test_private_files_are_handed_out_through_short_signed_urls(s3):
    private = storages["private"]
    audio = bytes(range(256)) * 64
    name = save_atomically(private, "audio/narrations/7/12-abc-full.mp3", audio)
    edition = save_atomically(private, "editions/3/vol-12-no-22-pdf_a4.pdf", b"%PDF-1.7 ...")
    assert set(keys(s3, "private/")) == {f"private/{name}", f"private/{edition}"}
    assert not [key for key in keys(s3, "media/") if "narrations" in key or "editions" in key]

    request = RequestFactory().get("/audio/7/full.mp3")
    response = serve_private_file(
        request, private, name, content_type="audio/mpeg", filename="the-bond-market.mp3"
    )
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Cookie"
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert urlsplit(location).path == f"/{BUCKET}/private/{name}"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == [str(SIGNED_URL_SECONDS)] == ["300"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60
    assert "X-Amz-Signature" in query

    unsigned = location.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(unsigned)
    assert refused.value.code == 403  # the object itself is closed
    status, headers, data = fetch(location)
    assert status == 200 and data == audio
    assert headers["content-type"] == "audio/mpeg"
    assert headers["content-disposition"] == 'inline; filename="the-bond-market.mp3"'
    status, headers, data = fetch(location, Range="bytes=256-511")
    assert status == 206 and data == audio[256:512]  # players seek on the store directly

    download = serve_private_file(
        request,
        private,
        edition,
        content_type="application/pdf",
        filename="issue-22.pdf",
        as_attachment=True,
    )
    status, headers, data = fetch(download["Location"])
    assert data == b"%PDF-1.7 ..."
    assert headers["content-disposition"] == 'attachment; filename="issue-22.pdf"'

    # Every URL of the private storage is signed and expires in five minutes.
    # (moto checks neither signatures nor expiry; S3 and MinIO refuse an
    # expired URL with 403 AccessDenied "Request has expired".)
    assert "X-Amz-Expires=300" in private.url(name)


@pytest.mark.django_db
def test_health_reaches_the_bucket(s3):
    assert check_storage("default") == {"backend": "S3Storage"}
    assert check_storage("private") == {"backend": "S3Storage"}


def test_a_picture_only_in_a_gated_part_stays_in_the_closed_part_of_the_bucket(
    s3, site_tree, django_capture_on_commit_callbacks
):
    picture = make_image("Chart of the secret")
    public_name = picture.file.name
    assert f"media/{public_name}" in keys(s3, "media/")
    with django_capture_on_commit_callbacks(execute=True):
        article = make_article(
            SectionPage.objects.get(slug="finance"),
            body=gated_body(picture),
            access_level="subscribers",
        )
    picture.refresh_from_db()
    rendition = picture.get_rendition("width-300")
    # The original moved and every rendition was made in the closed part.
    assert f"private/{picture.file.name}" in keys(s3, "private/gated/")
    assert f"private/{rendition.file.name}" in keys(s3, "private/gated/images/")
    assert keys(s3, f"media/{public_name}") == []
    assert not [key for key in keys(s3, "media/") if key.startswith("media/gated/")]

    # Its URL is the view that asks the rule: a 403 for a passer-by, a
    # short signed URL of the bucket for a subscriber.
    url = rendition.url
    assert url.startswith("/gated-images/files/gated/images/")
    assert Client().get(url).status_code == 403
    subscriber = make_reader("active", SimpleNamespace(plans=ensure_plans()))
    reader = Client()
    reader.force_login(subscriber)
    response = reader.get(url)
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert "X-Amz-Signature" in location and f"/private/{rendition.file.name}" in location
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(location.split("?")[0])
    assert refused.value.code == 403
    status, _headers, data = fetch(location)
    assert status == 200 and data[:2] == b"\xff\xd8"
    assert article.live
