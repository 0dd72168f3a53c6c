"""Backups and restore: an operator's tool.

`snapshot.make_backup` writes one archive holding a consistent copy of the
database (SQLite's online backup API, or `pg_dump` in its custom format),
the public and private media (or, for S3 buckets, a listing with their
checksums) and a manifest: format, migrations applied, every table's row
count and every file's checksum, all taken from the snapshot itself.
`restore.restore_backup` checks an archive against its manifest before it
touches anything, then puts it onto an empty install and migrates forward.

Operator tools sit on top of everything: this app may import any app;
nothing imports it.
"""
