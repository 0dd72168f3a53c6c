"""A task for the reliability tests: it does its work once however often
it runs, and sleeps in the middle so a test can kill its worker there.

Every attempt appends "start <pid>" to attempts.log; the work is creating
<key>.done, published with a hard link (which fails when the file is
already there), so a second run, or one racing a first, leaves one file.
"""

import os
import time
from pathlib import Path

from django_tasks import task


@task()
def write_marker(folder, key, seconds=0.0):
    folder = Path(folder)
    log = folder / "attempts.log"
    with open(log, "a") as handle:
        handle.write(f"start {os.getpid()}\n")
    done = folder / f"{key}.done"
    if done.exists():
        return "already done"
    (folder / f"{key}.running").write_text(str(os.getpid()))
    time.sleep(seconds)
    temporary = folder / f".{key}.{os.getpid()}.tmp"
    temporary.write_text(f"{os.getpid()}\n")
    try:
        os.link(temporary, done)
        outcome = "done"
    except FileExistsError:
        outcome = "already done"
    finally:
        temporary.unlink()
    with open(log, "a") as handle:
        handle.write(f"finish {os.getpid()} {outcome}\n")
    return outcome


@task()
def fail_loudly(message):
    raise ValueError(message)
