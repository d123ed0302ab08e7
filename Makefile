# PartnerHub: `make run` starts everything on the sandbox, `make test` runs every test,
# `make test-fast` all but the browser and worker-kill tests, `make reset-demo` deletes
# the demo's database and starts everything over.
#
# pytest runs in parallel (pytest-xdist): one worker per core, at most 4 (each takes a
# Redis database of its own, see README "Tests and benchmarks"); PYTEST_WORKERS=0
# runs it in one process. `--dist loadgroup` keeps each `xdist_group` on one worker.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: run reset-demo test test-fast lint typecheck pytest pytest-fast bench chaos install migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: install
	$(BIN)/python -m partnerhub.devrun

reset-demo: install
	$(BIN)/python -m partnerhub.devrun --reset-demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy partnerhub migrations_app partner_center sandbox

pytest: install
	$(BIN)/pytest $(PYTEST_PARALLEL)

pytest-fast: install
	$(BIN)/pytest $(PYTEST_PARALLEL) -m 'not e2e and not slow'

test: lint typecheck pytest

test-fast: lint typecheck pytest-fast

bench: install
	$(BIN)/python -m bench

# 300 migrations under faults, worker kills and a Redis restart (bench/README.md).
CHAOS_ARGS ?= --migrations 300
chaos: install
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
