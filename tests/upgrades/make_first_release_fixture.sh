#!/usr/bin/env bash
# Rebuilds tests/upgrades/first_release.sqlite3.xz: the database of the first
# release, b0efc3a, with the demo magazine and a few members in it.
#
# Why that commit: it is the earliest landing where every app with models has
# its migrations, the demo loads, and billing exists, so the fixture holds
# members and subscriptions as well as articles and issues (the commits before
# it either lacked billing's migrations or were a work-in-progress snapshot).
# It runs with today's virtualenv as it is.
#
# The first release's code is unpacked with `git archive` into a temporary
# folder, pointed at a fresh SQLite file with nothing from this shell's
# configuration (no DATABASE_URL, REDIS_URL or S3), and then:
#   manage.py migrate; manage.py load_demo_magazine;
#   manage.py shell < first_release_members.py (members, through that
#   release's own actions).
# That release had no NARRATE_ON_PUBLISH: its narrations are only queued, on the
# database queue, and no worker runs here, so none is synthesised; editions
# were not built by its loader. The pictures it draws stay in the temporary
# folder: the migration test needs the database only.
set -euo pipefail

FIRST_RELEASE=b0efc3af8c44a4a2f4f42f580d7848ed4650cd4a
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$HERE" rev-parse --show-toplevel)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

mkdir "$WORK/src" "$WORK/var"
git -C "$REPO" archive "$FIRST_RELEASE" | tar -x -C "$WORK/src"

run() {
  (cd "$WORK/src" && env -u DATABASE_URL -u REDIS_URL -u MEDIA_STORAGE -u TASKS_BACKEND \
    -u MASTHEAD_TESTING -u DJANGO_SETTINGS_MODULE -u CACHE_KEY_PREFIX \
    MASTHEAD_VAR_DIR="$WORK/var" "$PYTHON" "$@")
}

run manage.py migrate --noinput --verbosity 0
run manage.py load_demo_magazine
run manage.py shell --no-imports < "$HERE/first_release_members.py"

# One self-contained file: fold the write-ahead log in and compact it.
"$PYTHON" - "$WORK/var/masthead.sqlite3" <<'PY'
import sqlite3
import sys

connection = sqlite3.connect(sys.argv[1])
connection.execute("PRAGMA journal_mode=DELETE")
connection.execute("VACUUM")
connection.close()
PY
xz -9 -T1 -c "$WORK/var/masthead.sqlite3" > "$HERE/first_release.sqlite3.xz"
ls -l "$HERE/first_release.sqlite3.xz"
