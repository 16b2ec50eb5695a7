# The two commands: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint format migrate seed bench clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.base
install-dev: $(VENV)/.dev

migrate: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput

seed: migrate
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo

# Serves http://$(HOST):$(PORT) with a background worker beside it (mail, calendar writes).
run: seed
	@export DEBUG=$${DEBUG:-true}; \
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
	echo "Serving http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the worker)"; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install-dev lint
	$(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: install-dev
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) db.sqlite3 .test-db*.sqlite3* staticfiles test-artifacts
