#!/bin/sh
# Copy the browser libraries named in package.json (pinned by
# package-lock.json) into static/, so pages load them from this site and
# never from a CDN; and axe-core into var/vendor/, where the accessibility
# test (tests/e2e/test_accessibility.py) reads it to inject into each page.
# Run by `make` (setup-run); needs npm at build time only.
set -eu
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --ignore-scripts --silent
mkdir -p static/insights/vendor
# Without its source map comment: the map is not shipped, and collectstatic's
# manifest storage fails on a reference to a file it cannot find.
sed '/^\/\/# sourceMappingURL=/d' node_modules/chart.js/dist/chart.umd.min.js \
    > static/insights/vendor/chart.umd.js
cp node_modules/chart.js/LICENSE.md static/insights/vendor/chart.js-LICENSE.md
mkdir -p var/vendor/axe-core
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE var/vendor/axe-core/
