"""Every benchmark in bench/, one after another (`make bench`).

    .venv/bin/python bench/run_all.py [NAME ...] [--list]

With names (`paywall`, `long_tail`, ...), only those. Each runs with its own
defaults in its own process, so one that fails does not stop the others; the
end prints each one's outcome and wall time, and the exit status is 1 if any
failed. The figures are each benchmark's own tables, printed as it runs: read
them as ratios to the reference in the same run, never across machines.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Not benchmarks: the helpers the others import.
HELPERS = {"common", "run_all"}


def benchmarks():
    return sorted(path.stem for path in HERE.glob("*.py") if path.stem not in HELPERS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args()
    known = benchmarks()
    if args.list:
        print("\n".join(known))
        return 0
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(known)})")
    outcomes = []
    for name in args.names or known:
        print(f"\n=== {name} ===", flush=True)
        began = time.monotonic()
        status = subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent)
        outcomes.append((name, status.returncode, time.monotonic() - began))
    print("\n=== outcomes ===")
    for name, code, seconds in outcomes:
        print(f"{name:<28} {'ok' if code == 0 else f'FAILED ({code})':<12} {seconds:7.0f} s")
    return 1 if any(code for _, code, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
