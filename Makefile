# Masthead: `make run` serves the demo magazine; `make test` runs the suite.
# Both set up everything they need on a fresh Debian machine (root, Python 3.11).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages: the browser for e2e tests, epubcheck, pdftotext, WeasyPrint's
# libraries, nginx and wrk for the benchmarks.
APT_PACKAGES := chromium epubcheck poppler-utils nginx wrk libpango-1.0-0 \
	libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core espeak-ng
APT_STAMP := $(VENV)/.apt-$(shell echo $(APT_PACKAGES) | md5sum | cut -c1-8)
PIP_STAMP := $(VENV)/.pip-$(shell cat requirements.txt requirements-dev.txt | md5sum | cut -c1-8)

.PHONY: run test test-only lint setup demo bench breaking-news clean

setup: $(APT_STAMP) $(PIP_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(PIP_STAMP): requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.pip-*
	touch $@

$(APT_STAMP): | $(VENV)/bin/python
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	rm -f $(VENV)/.apt-*
	touch $@

run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) load_demo_magazine --if-empty
	$(MANAGE) ensure_site_tree
	$(MANAGE) ensure_admin
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m masthead.core.serve

test: setup test-only

test-only:
	$(BIN)/ruff check .
	MASTHEAD_TESTING=1 $(MANAGE) makemigrations --check --dry-run
	MASTHEAD_TESTING=1 $(BIN)/pytest -n 2 $(PYTEST_ARGS)

demo: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_magazine

bench: setup
	$(BIN)/python bench/run_all.py

# One hot article, readers and subscribers, an editor's correction: embedded,
# PostgreSQL + Redis (needs both on 127.0.0.1), and behind deploy/'s nginx.
breaking-news: setup
	$(BIN)/python bench/breaking_news.py

clean:
	rm -rf $(VENV) var
