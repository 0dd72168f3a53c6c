"""`make screenshots`: every page type of the demo magazine, at desktop and
phone width, as an anonymous reader, a free member and a subscriber, saved
as full-page PNGs named page-type--state--width.png (var/screenshots/ unless
a folder is given).

The site is built in a fresh database in a temporary folder, never the one
`make run` uses: the demo magazine, its plans, an offer and the readers
(tests/e2e/tour.py, which the accessibility test shares). It is served from
a thread of this process on a free port and photographed in Debian's
chromium. Billing runs in test mode; tasks are queued, never run.

    python scripts/screenshots.py [OUTPUT_FOLDER] [--only PAGE_TYPE,...]
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", type=Path, default=ROOT / "var" / "screenshots")
    parser.add_argument("--only", default="", help="Comma-separated page types (default: all).")
    args = parser.parse_args(argv)
    only = {name for name in args.only.split(",") if name}
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="masthead-screenshots-") as var_dir:
        saved = shoot(args.output, var_dir, only)
    print(f"Saved {len(saved)} screenshots in {args.output}.")
    return saved


def shoot(output, var_dir, only):
    for name in ("MEDIA_ROOT", "PRIVATE_MEDIA_ROOT", "STATIC_ROOT"):
        os.environ.pop(name, None)  # under MASTHEAD_VAR_DIR instead
    os.environ.update(
        {
            # Everything in the temporary folder, whatever the shell says.
            "MASTHEAD_VAR_DIR": var_dir,
            "DATABASE_URL": f"sqlite:///{var_dir}/masthead.sqlite3",
            "REDIS_URL": "",
            "MEDIA_STORAGE": "",
            "MASTHEAD_TESTING": "1",  # settings for a throwaway site: no static manifest
            "TASKS_BACKEND": "database",  # queued, never run: no worker here
            "STRIPE_SECRET_KEY": "",  # billing's test mode
            "DJANGO_SETTINGS_MODULE": "masthead.settings",
            # Playwright's sync API runs an event loop in this thread.
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
        }
    )
    # The folder `collectstatic` would fill: without it WhiteNoise warns.
    (Path(var_dir) / "static").mkdir()
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from tests.e2e import tour
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    call_command("migrate", verbosity=0, interactive=False)
    site = tour.build_site()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base_url = f"http://127.0.0.1:{server.port}"
    settings.SITE_URL = base_url
    saved = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for state in tour.STATES:
                for width in tour.WIDTHS:
                    for page_type, _path, _response, page in tour.walk(
                        browser, base_url, site, state, width, only
                    ):
                        saved.append(tour.save_screenshot(page, output, page_type, state, width))
            browser.close()
    finally:
        server.terminate()
    return saved


if __name__ == "__main__":
    main()
