"""A damaged archive is refused with the reason, and nothing is restored; a
magazine's database is not overwritten unless the operator says so."""

import gzip
import io
import tarfile
import zlib

import pytest
from django.core.management import CommandError, call_command

from masthead.backups.snapshot import add_media, make_backup, prune_backups


@pytest.fixture
def site(transactional_db, settings, tmp_path):
    from masthead.accounts.models import User

    member = User.objects.create_user("reader@example.com")
    picture = tmp_path / "media" / "images" / "cover.jpg"
    picture.parent.mkdir(parents=True)
    picture.write_bytes(b"\xff\xd8 a cover " * 500)
    settings.BACKUP_DIR = tmp_path / "backups"
    return {"member": member, "picture": picture, "archive": make_backup()}


def _restore_is_refused(archive, picture, member, reason):
    before = picture.read_bytes()
    picture.write_bytes(b"changed since the backup")
    with pytest.raises(CommandError, match=reason):
        call_command("restore", str(archive), "--force")
    assert picture.read_bytes() == b"changed since the backup"
    assert type(member).objects.filter(pk=member.pk).exists()
    return before


def _flipped(original, position):
    data = bytearray(original)
    data[position] ^= 0x01
    return bytes(data)


def _changes_what_it_holds(original, damaged):
    """A few bits of a deflate stream (padding) hold nothing: flipping one
    leaves the archive whole, which is nothing to refuse."""
    try:
        return gzip.decompress(damaged) != gzip.decompress(original)
    except (OSError, EOFError, zlib.error):
        return True


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_a_flipped_byte_is_refused(site, where):
    archive = site["archive"]
    original = archive.read_bytes()
    position = int(len(original) * where)
    while not _changes_what_it_holds(original, _flipped(original, position)):
        position += 1
    archive.write_bytes(_flipped(original, position))
    _restore_is_refused(archive, site["picture"], site["member"], "is damaged")


def test_a_changed_file_is_refused_by_name(site, tmp_path):
    archive = site["archive"]
    changed = tmp_path / "changed.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(changed, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()
            if member.name == "media/images/cover.jpg":
                data = data.replace(b"cover", b"COVER", 1)
            target.addfile(member, io.BytesIO(data))
    _restore_is_refused(
        changed,
        site["picture"],
        site["member"],
        "media/images/cover.jpg does not match its checksum",
    )


def test_a_magazine_is_not_overwritten_without_force(site):
    with pytest.raises(CommandError, match="already holds a magazine"):
        call_command("restore", str(site["archive"]))


def test_a_file_deleted_during_the_walk_is_skipped_and_noted(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    (root / "kept.jpg").write_bytes(b"kept")
    manifest = {"files": {}, "skipped": []}
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as archive:
        add_media(archive, "media", root, ["deleted.jpg", "kept.jpg"], manifest)
    assert manifest["skipped"] == ["media/deleted.jpg"]
    assert list(manifest["files"]) == ["media/kept.jpg"]


def test_old_backups_beyond_the_retention_are_deleted(site, settings):
    import os

    settings.BACKUP_KEEP = 2
    made = [site["archive"]]
    for age in (1, 2, 3):
        older = site["archive"].with_name(f"masthead-2020010{age}-000000.tar.gz")
        older.write_bytes(b"old")
        os.utime(older, (1_600_000_000 - age * 86400,) * 2)
        made.append(older)
    assert prune_backups() == made[2:]
    assert sorted(p.name for p in settings.BACKUP_DIR.iterdir()) == sorted(p.name for p in made[:2])
