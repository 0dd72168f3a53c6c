"""`make run` installs what running needs; `make test` adds the test tools.

Read from `make -n -B`, which prints every command a target would run from a
fresh machine without running any of them.
"""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = ["chromium", "epubcheck", "poppler-utils", "nginx", "wrk", "requirements-dev.txt"]
RUNTIME = ["libpango-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core", "espeak-ng"]


def commands(target):
    return subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize("target", ["run", "demo"])
def test_running_installs_no_test_or_benchmark_tool(target):
    printed = commands(target)
    assert "pip install --quiet -r requirements.txt" in printed
    for package in RUNTIME:
        assert package in printed
    for tool in TEST_TOOLS:
        assert tool not in printed, tool


def test_testing_installs_the_runtime_and_the_test_tools():
    printed = commands("test")
    for name in [*RUNTIME, *TEST_TOOLS]:
        assert name in printed, name


def test_the_test_run_checks_lint_format_layers_and_types():
    printed = commands("test-only")
    for check in ["ruff check .", "ruff format --check .", "lint-imports", "mypy"]:
        assert check in printed, check


def test_make_run_on_another_port_tells_every_command_the_port():
    printed = subprocess.run(
        ["make", "-n", "-B", "run", "PORT=8123"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("ensure_site_tree", "load_demo_magazine", "masthead.core.serve"):
        line = next(line for line in printed.splitlines() if command in line)
        assert "PORT=8123 " in line, line
