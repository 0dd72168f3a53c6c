# Masthead: `make run` serves the demo magazine; `make test` runs the suite.
# Both set up everything they need on a fresh Debian machine (root, Python 3.11).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
# Every command of `make run` sees the address it serves on: SITE_URL follows
# it (see masthead/settings.py), and ensure_site_tree gives it to the site.
SERVE_ENV := HOST=$(HOST) PORT=$(PORT)
# `make run DEMO=0` skips the demo magazine (a publisher moving a magazine in).
DEMO ?= 1
# Debian packages that running needs: WeasyPrint's libraries and a font for
# the PDF editions, espeak-ng for the light narration engine.
RUN_APT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	fonts-dejavu-core espeak-ng
# And those that testing adds: the browser for e2e tests, epubcheck and
# pdftotext to check the editions, nginx and wrk for the benchmarks, and the
# Liberation fonts the web fonts' stand-ins are measured against.
TEST_APT_PACKAGES := chromium epubcheck poppler-utils nginx wrk fonts-liberation
# axe-core, for the accessibility test; scripts/vendor_static.sh puts it there.
AXE_JS := var/vendor/axe-core/axe.min.js
RUN_APT_STAMP := $(VENV)/.apt-run-$(shell echo $(RUN_APT_PACKAGES) | md5sum | cut -c1-8)
TEST_APT_STAMP := $(VENV)/.apt-test-$(shell echo $(TEST_APT_PACKAGES) | md5sum | cut -c1-8)
RUN_PIP_STAMP := $(VENV)/.pip-run-$(shell cat requirements.txt | md5sum | cut -c1-8)
TEST_PIP_STAMP := $(VENV)/.pip-test-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-8)

.PHONY: run test test-only lint setup setup-run setup-test demo screenshots bench breaking-news clean

# What `make run` needs; `make test` adds the test and benchmark tools.
setup-run: $(RUN_APT_STAMP) $(RUN_PIP_STAMP) static/insights/vendor/chart.umd.js
setup-test: setup-run $(TEST_APT_STAMP) $(TEST_PIP_STAMP) $(AXE_JS)
setup: setup-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_PIP_STAMP): requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	rm -f $(VENV)/.pip-run-*
	touch $@

$(TEST_PIP_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.pip-test-*
	touch $@

# $(call apt_install,packages): install those of the packages not installed yet.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
endef

# Browser libraries (chart.js for the Insights dashboard), from npm into static/;
# and axe-core, which the accessibility test injects into each page, into var/.
static/insights/vendor/chart.umd.js $(AXE_JS) &: package.json package-lock.json scripts/vendor_static.sh
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm)
	sh scripts/vendor_static.sh

$(RUN_APT_STAMP): | $(VENV)/bin/python
	$(call apt_install,$(RUN_APT_PACKAGES))
	rm -f $(VENV)/.apt-run-*
	touch $@

$(TEST_APT_STAMP): | $(VENV)/bin/python
	$(call apt_install,$(TEST_APT_PACKAGES))
	rm -f $(VENV)/.apt-test-*
	touch $@

run: setup-run
	$(SERVE_ENV) $(MANAGE) migrate --noinput
	$(SERVE_ENV) $(MANAGE) collectstatic --noinput --verbosity 0
	$(SERVE_ENV) $(MANAGE) ensure_site_tree
	if [ "$(DEMO)" != "0" ]; then $(SERVE_ENV) $(MANAGE) load_demo_magazine --if-empty; fi
	$(SERVE_ENV) $(MANAGE) ensure_admin
	$(SERVE_ENV) $(BIN)/python -m masthead.core.serve

test: setup-test test-only

test-only:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	MASTHEAD_TESTING=1 $(BIN)/mypy
	MASTHEAD_TESTING=1 $(MANAGE) makemigrations --check --dry-run
	MASTHEAD_TESTING=1 $(BIN)/pytest -n 2 $(PYTEST_ARGS)

demo: setup-run
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_magazine

# Every page type of the demo magazine at desktop and phone width, for each
# kind of reader, as PNGs in var/screenshots/ (a throwaway database, not run's).
screenshots: setup-test
	$(BIN)/python scripts/screenshots.py var/screenshots

bench: setup
	$(BIN)/python bench/run_all.py

# One hot article, readers and subscribers, an editor's correction: embedded,
# PostgreSQL + Redis (needs both on 127.0.0.1), and behind deploy/'s nginx.
breaking-news: setup
	$(BIN)/python bench/breaking_news.py

clean:
	rm -rf $(VENV) var
