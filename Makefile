# Two entry points do all set-up on a fresh machine with only Python 3.11 and make:
#   make demo   -> simulator -> ingest -> summary
#   make test   -> ruff, mypy and the whole test suite on SQLite, PostgreSQL and MariaDB
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install lint typecheck pytest bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements/app.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/app.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(VENV)/.app-installed $@

demo: $(VENV)/.app-installed
	$(BIN)/retrovue demo

# The app alone (no dev tools), for using Retrovue with your own Plex server: .venv/bin/retrovue
install: $(VENV)/.app-installed

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

pytest: $(VENV)/.dev-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-pin dependencies after editing pyproject.toml (needs network access to PyPI).
lock:
	$(PYTHON) -m pip install -q uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra gui --python-version 3.11 --no-header -o requirements/app.lock
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements/dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
