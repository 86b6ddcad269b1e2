# Portico: `make run` serves the portal with the demo loaded; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export SITE_URL ?= http://127.0.0.1:$(PORT)
export PORTICO_PORT := $(PORT)
# Azurite's port follows the portal's (10000 for 8000), so two checkouts run on
# two PORTs do not share one Azurite.
export AZURITE_BLOB_PORT ?= $(shell echo $$(( $(PORT) + 2000 )))
# Azurite keeps its data with the rest of this checkout's state.
export AZURITE_LOCATION ?= $(or $(PORTAL_VAR_DIR),$(CURDIR)/var)/azurite
PIP := $(BIN)/pip install --disable-pip-version-check -q

.PHONY: run test install install-test browser setup bench lint clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt $(VENV)/.installed
	$(PIP) -r requirements.txt -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

# Azurite (the local blob storage of BES jobs), pinned in package-lock.json.
# `make run` leaves out the devDependencies: the tests' OpenAPI documents
# alone unpack to about 400 MB.
node_modules/.installed: package.json package-lock.json
	npm ci --omit=dev --no-audit --no-fund --loglevel=error
	touch $@

# Everything in package.json, with what only the tests use (axe-core, public
# OpenAPI documents). It serves `make run` too.
node_modules/.installed-test: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed $@

install-test: $(VENV)/.installed-test

# Debian's Chromium for the browser tests (Playwright's own download does not
# work offline). Installed when we are root and it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing: browser tests are skipped (and fail under CI=true)."; \
	  fi; }

# `make run` is how the product runs: DEBUG is off unless DEBUG=1 is given
# (the portal's own error pages, static files by whitenoise from collectstatic).
run: export DEBUG ?= 0

setup: install
	$(BIN)/python manage.py migrate --no-input -v0
	$(BIN)/python manage.py collectstatic --no-input -v0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py ensure_admin

run: setup node_modules/.installed
	@echo "Portico at $(SITE_URL)/  (admin: $(SITE_URL)/admin/)"
	$(BIN)/honcho start -f Procfile

test: install-test browser node_modules/.installed-test
	CACHE_KEY_PREFIX=portico-test-$$$$ $(BIN)/python -m pytest $(PYTEST_ARGS)

# The README's screenshots (docs/*-1280.png, docs/*-390.png), retaken by the browser tests.
screenshots: install-test browser node_modules/.installed-test
	UPDATE_SCREENSHOTS=1 CACHE_KEY_PREFIX=portico-shots-$$$$ $(BIN)/python -m pytest -m browser -q $(PYTEST_ARGS)

bench: install-test node_modules/.installed-test
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/openapi.py
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/rrs.py
	$(BIN)/python bench/bes.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/schema_pages.py

lint: install-test
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var node_modules staticfiles
