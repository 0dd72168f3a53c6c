"""Media in S3 buckets: the backup lists every object with its ETag instead
of copying it, and a restore names those no longer in the bucket as they
were (to be brought back from the bucket's versions)."""

import json
import tarfile

from django.core.files.storage import storages

from masthead.backups.restore import missing_from_buckets
from masthead.backups.snapshot import make_backup
from masthead.core.storage import save_atomically
from tests.scaleout.test_s3 import BUCKET


def test_bucket_media_is_listed_with_etags_and_missing_objects_are_named(
    transactional_db, s3, settings, tmp_path
):
    settings.BACKUP_DIR = tmp_path / "backups"
    public = save_atomically(storages["default"], "images/cover.jpg", b"\xff\xd8 cover")
    private = save_atomically(storages["private"], "audio/narration.mp3", b"\xff\xfb audio")

    archive = make_backup()
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert not [name for name in tar.getnames() if name.startswith(("media/", "private/"))]
    listed = {
        area: {entry["name"]: entry["etag"] for entry in entries}
        for area, entries in manifest["buckets"].items()
    }
    assert public in listed["media"] and private in listed["private"]
    assert listed["private"][private] == s3.head_object(Bucket=BUCKET, Key=f"private/{private}")[
        "ETag"
    ].strip('"')
    assert missing_from_buckets(manifest) == []

    storages["private"].delete(private)
    assert missing_from_buckets(manifest) == [f"private/{private}"]
