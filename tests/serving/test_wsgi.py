"""The production WSGI module loads: serving's wrapper is set up only once
Django is (its modules import models)."""

import os
import subprocess
import sys
from pathlib import Path


def test_the_wsgi_module_loads_in_a_fresh_process(tmp_path):
    env = {
        **os.environ,
        "MASTHEAD_TESTING": "1",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    loaded = subprocess.run(
        [sys.executable, "-c", "import masthead.wsgi as w; print(type(w.application).__name__)"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "AnonymousPageCache"
