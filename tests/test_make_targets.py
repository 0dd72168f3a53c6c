"""What the Makefile runs is there: a target naming a script that does not
exist fails only when someone types it."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_script_a_make_target_runs_exists():
    makefile = (REPO / "Makefile").read_text()
    scripts = set(re.findall(r"(?:python|sh) ((?:bench|scripts)/[\w/.-]+\.(?:py|sh))", makefile))
    assert "bench/run_all.py" in scripts
    assert [script for script in sorted(scripts) if not (REPO / script).is_file()] == []


def run_all(*args):
    return subprocess.run(
        [sys.executable, "bench/run_all.py", *args], cwd=REPO, capture_output=True, text=True
    )


def test_make_bench_runs_each_benchmark_and_no_helper():
    listed = run_all("--list").stdout.split()
    scripts = {path.stem for path in (REPO / "bench").glob("*.py")}
    assert set(listed) == scripts - {"common", "run_all"}
    assert {"paywall", "long_tail", "cold_render", "breaking_news"} <= set(listed)


def test_make_bench_refuses_a_name_it_does_not_know():
    refused = run_all("paywal")
    assert refused.returncode == 2
    assert "no such benchmark: paywal" in refused.stderr
