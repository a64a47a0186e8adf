# Two entry points do all set-up on a fresh machine with Python 3.11 (or 3.12/3.13) and make:
#   make demo   -> simulator -> ingest -> summary
#   make test   -> ruff, mypy and the whole test suite on SQLite, PostgreSQL and MariaDB
# python3.11 when present, else the newest of python3.13 / python3.12 (scripts/pick-python);
# PYTHON=/path/to/python overrides, and is checked the same way.
PICKED := $(shell PYTHON='$(PYTHON)' /bin/sh scripts/pick-python)
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install lint typecheck pytest bench lock clean

$(BIN)/python:
	@test -n "$(PICKED)" || { echo "make: Retrovue needs Python 3.11, 3.12 or 3.13 and found none$(if $(PYTHON), (PYTHON=$(PYTHON) is not one of them)); install one (python3.11 or python3.13 on PATH), or run make PYTHON=/path/to/python3.13" >&2; exit 1; }
	@echo "make: creating $(VENV) with $(PICKED) ($$($(PICKED) --version 2>&1))"
	$(PICKED) -m venv $(VENV)

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

# The suite runs in PYTEST_WORKERS processes (pytest-xdist), each taking a whole test file at a time.
# Most tests wait on HTTP servers and databases, so more workers than cores pays; PYTEST_WORKERS=0 runs
# everything in this one process (easier to debug with -x or pdb).
PYTEST_WORKERS ?= 4
pytest: $(VENV)/.dev-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-pin dependencies after editing pyproject.toml (needs network access to PyPI).
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q uv
	$(BIN)/python -m uv pip compile pyproject.toml --extra gui --python-version 3.11 --no-header -o requirements/app.lock
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o requirements/dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
