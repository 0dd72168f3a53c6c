"""Lighthouse on the home page and article pages, mobile and desktop.

    .venv/bin/python bench/lighthouse.py

Builds a throwaway demo magazine, starts granian as `make run` does (page
cache on, static files through WhiteNoise), and runs Lighthouse 12.2.3
(from npm, installed on first use into var/lighthouse/, driving Debian's
chromium headless) on:

- the home page;
- a free article;
- a subscriber-only article as an anonymous reader (the paywall);

each in Lighthouse's mobile configuration (the default: a slow 4G network
and a 4x slower CPU, simulated) and its desktop one (--preset=desktop).
Prints the four category scores, LCP, TBT and CLS, the bytes transferred by
resource type (from the resource-summary audit), then every audit scoring
under 0.9 in each category, so that a reader sees what to fix. The JSON
reports are written to bench/results/.

Target (issue 20): at least 95 in performance, accessibility, best
practices and SEO for the home and article pages. The script exits 0 even
below target: it is a measure, not a test.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, app_server, bench_env, cleanup, free_port, prepare_site, wait_for
from paywall import article_paths

VERSION = "12.2.3"  # later versions need Node 22
PREFIX = ROOT / "var" / "lighthouse"
LIGHTHOUSE = PREFIX / "node_modules" / ".bin" / "lighthouse"
RESULTS = ROOT / "bench" / "results"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu"
CATEGORIES = [
    ("performance", "perf"),
    ("accessibility", "a11y"),
    ("best-practices", "bp"),
    ("seo", "seo"),
]
RESOURCES = ["document", "stylesheet", "script", "font", "image", "total"]
TARGET = 95


def ensure_lighthouse():
    """Install the pinned Lighthouse into var/lighthouse/ (ignored by git),
    never into the repository's node_modules."""
    installed = PREFIX / "node_modules" / "lighthouse" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == VERSION:
        return
    print(f"Installing lighthouse@{VERSION} into {PREFIX.relative_to(ROOT)}/ …", flush=True)
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(PREFIX),
            "--save-exact",
            "--no-audit",
            "--no-fund",
            f"lighthouse@{VERSION}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def lighthouse(url, form_factor, report, attempts=3):
    """Run Lighthouse, again on failure up to `attempts` times; its parsed
    JSON report, or None."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    # Headless chromium on a busy machine now and then loses the trace
    # (NO_NAVSTART); Lighthouse's advice is to run again.
    for attempt in range(1, attempts + 1):
        try:
            subprocess.run(
                command,
                env={**os.environ, "CHROME_PATH": CHROME},
                check=True,
                timeout=300,
                capture_output=True,
                text=True,
            )
            break
        except subprocess.CalledProcessError as error:
            problem = error.stderr.strip().splitlines()[-1:] or [f"exit {error.returncode}"]
        except subprocess.TimeoutExpired:
            problem = ["timed out"]
        print(f"  attempt {attempt} failed: {problem[0][-300:]}", flush=True)
    else:
        return None
    data = json.loads(report.read_text())
    if data.get("runtimeError"):
        print(f"  lighthouse runtime error on {url}: {data['runtimeError']}")
    return data


def summary(data):
    scores = {
        key: (
            round(data["categories"][key]["score"] * 100)
            if data["categories"][key]["score"] is not None
            else None
        )
        for key, _ in CATEGORIES
    }
    audits = data["audits"]

    def value(audit):
        return audits.get(audit, {}).get("numericValue")

    sizes = {
        item["resourceType"]: item.get("transferSize", 0)
        for item in (audits.get("resource-summary", {}).get("details") or {}).get("items", [])
    }
    return {
        "scores": scores,
        "lcp_ms": value("largest-contentful-paint"),
        "tbt_ms": value("total-blocking-time"),
        "cls": value("cumulative-layout-shift"),
        "bytes": {kind: sizes.get(kind, 0) for kind in RESOURCES},
    }


def failing(data, threshold=0.9):
    """{category title: [(score, audit title, displayed value)]} for every
    scored audit under `threshold`."""
    found = {}
    for key, _ in CATEGORIES:
        category = data["categories"][key]
        rows = []
        for ref in category["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if audit.get("scoreDisplayMode") in ("notApplicable", "manual", "informative"):
                continue
            if audit.get("score") is None or audit["score"] >= threshold:
                continue
            rows.append((audit["score"], audit["title"], audit.get("displayValue", "")))
        if rows:
            found[category["title"]] = sorted(rows)
    return found


def number(value, digits=0):
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows):
    kinds = [("document", "html"), ("stylesheet", "css"), ("script", "js")]
    kinds += [("font", "font"), ("image", "img"), ("total", "total")]
    head = f"{'page':18} {'form':8}"
    head += "".join(f"{short:>5}" for _, short in CATEGORIES)
    head += f"{'LCP ms':>8}{'TBT ms':>8}{'CLS':>7}"
    head += "".join(f"{short + ' KB':>10}" for _, short in kinds)
    print(head)
    print("-" * len(head))
    for page, form_factor, result in rows:
        line = f"{page:18} {form_factor:8}"
        if result is None:
            print(line + "  (no report)")
            continue
        line += "".join(f"{number(result['scores'][key]):>5}" for key, _ in CATEGORIES)
        line += f"{number(result['lcp_ms']):>8}{number(result['tbt_ms']):>8}"
        line += f"{number(result['cls'], 3):>7}"
        line += "".join(f"{result['bytes'][kind] / 1024:>10.1f}" for kind, _ in kinds)
        print(line)


def main():
    ensure_lighthouse()
    RESULTS.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="masthead-bench-"))
    try:
        env = bench_env(var_dir)
        prepare_site(env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with app_server(env, port):
            # Servers start slowly on a busy machine.
            wait_for(base + "/", timeout=300)
            gated, public = article_paths(base)
            pages = [("home", "/"), ("article (free)", public), ("article (paywall)", gated)]
            for _, path in pages:  # fill the page cache, as readers would have
                wait_for(base + path)
            rows, failures = [], []
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for page, path in pages:
                for form_factor in ("mobile", "desktop"):
                    print(f"Lighthouse: {page} {path} ({form_factor}) …", flush=True)
                    name = page.split(" ")[-1].strip("()")
                    report = RESULTS / f"lighthouse-{stamp}-{name}-{form_factor}.json"
                    data = lighthouse(base + path, form_factor, report)
                    rows.append((page, form_factor, summary(data) if data else None))
                    if data:
                        failures.append((page, path, form_factor, failing(data)))
        print(
            f"\nLighthouse {VERSION}, {CHROME}, granian with the page cache; "
            f"load average {os.getloadavg()[0]:.2f}\n"
        )
        print_table(rows)
        print(
            f"\nTarget (issue 20): at least {TARGET} in each category for the home and "
            "article pages. Bytes are as transferred (compressed)."
        )
        below = [
            f"{page} {form_factor} {key}"
            for page, form_factor, result in rows
            if result
            for key, _ in CATEGORIES
            if result["scores"][key] is None or result["scores"][key] < TARGET
        ]
        print("Below target: " + (", ".join(below) if below else "none"))
        print("\nAudits scoring under 0.9:")
        for page, path, form_factor, found in failures:
            if not found:
                continue
            print(f"\n  {page} {path} ({form_factor})")
            for category, audits in found.items():
                for score, title, shown in audits:
                    extra = f" ({shown})" if shown else ""
                    print(f"    [{category}] {score:.2f} {title}{extra}")
        print(f"\nJSON reports: {RESULTS.relative_to(ROOT)}/lighthouse-{stamp}-*.json")
    finally:
        cleanup(var_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
