# The two set-up commands of the README: `make demo` (the main job, embedded, no servers) and
# `make test` (the whole suite; needs PostgreSQL, see README). Both build .venv from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

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

test: lint
	$(BIN)/pytest

bench: $(BIN)/ingest
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) ingest-demo.db ingest-demo.db-* .mypy_cache .ruff_cache .pytest_cache
