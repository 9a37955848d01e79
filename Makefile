# The two set-up commands of the README: `make demo` (the main job, embedded, no servers) and
# `make test` (the whole suite; needs PostgreSQL, see README). Both build .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean backstage backstage-test

$(BIN)/ingest: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(BIN)/ingest
	$(BIN)/ingest demo

lint: $(BIN)/ingest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The Backstage side (backstage/: an npm workspace, one lockfile): node_modules from the lockfile,
# then the module's build; `make test` runs its type check and unit tests, and pytest's
# Backstage end-to-end test starts backstage/e2e-backend with the built module.
NPM ?= npm
BACKSTAGE := backstage
BACKSTAGE_MODULE := $(BACKSTAGE)/catalog-backend-module-catalog-ingest

$(BACKSTAGE)/node_modules/.installed: $(BACKSTAGE)/package-lock.json $(BACKSTAGE)/package.json $(wildcard $(BACKSTAGE)/*/package.json)
	cd $(BACKSTAGE) && $(NPM) ci --no-audit --no-fund
	@touch $@

$(BACKSTAGE_MODULE)/dist/index.js: $(BACKSTAGE)/node_modules/.installed $(wildcard $(BACKSTAGE_MODULE)/src/*.ts) $(wildcard $(BACKSTAGE_MODULE)/tsconfig*.json)
	cd $(BACKSTAGE) && $(NPM) run build
	@touch $@

backstage: $(BACKSTAGE_MODULE)/dist/index.js

backstage-test: backstage
	cd $(BACKSTAGE) && $(NPM) run lint && $(NPM) test

test: lint backstage-test
	$(BIN)/pytest

bench: $(BIN)/ingest
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) ingest-demo.db ingest-demo.db-* .mypy_cache .ruff_cache .pytest_cache \
		$(BACKSTAGE)/node_modules $(BACKSTAGE)/*/node_modules $(BACKSTAGE)/*/dist
