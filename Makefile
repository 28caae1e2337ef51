# Timbre — the two quick-start commands are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
DEV := DEBUG=1

.PHONY: run test test-postgres test-browser lint check-migrations schemathesis ci clean

$(VENV)/bin/activate:
	@python=$$(scripts/find-python) && "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

## run: install, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite, no services)
run: $(VENV)/.runtime
	$(DEV) $(PY) manage.py migrate --no-input
	$(DEV) $(PY) manage.py seed_demo
	$(DEV) $(PY) manage.py runserver 127.0.0.1:8000

## test: install and run the whole suite on SQLite, tasks in-process, no services needed
test: $(VENV)/.dev
	$(PY) -m pytest

## test-postgres: the same suite on PostgreSQL with a real Celery worker over Redis (CI)
test-postgres: $(VENV)/.dev
	TIMBRE_REQUIRE_SERVICES=1 $(PY) -m pytest

## test-browser: Playwright journeys in Debian's Chromium (CI installs it)
test-browser: $(VENV)/.dev
	$(PY) -m pytest --browser tests/browser

## lint: ruff, the floors (import-linter contracts in pyproject.toml) and mypy
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(DEV) $(VENV)/bin/mypy timbre core verifier registry licensing royalties payments credentials transparency
	$(PY) scripts/check-type-ignores

check-migrations: $(VENV)/.dev
	$(DEV) $(PY) manage.py makemigrations --check --dry-run

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
