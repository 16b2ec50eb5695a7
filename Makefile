# The two commands: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev lint format migrate seed bench clean messages

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) install -q -e '.[dev]'
	touch $@

# The pages' and mails' translations (SPEC §10): each locale/<lang>/LC_MESSAGES/django.po is
# compiled (compilemessages, which needs gettext's msgfmt) to the .mo Django reads; the .mo
# files are not committed.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)
$(MO_FILES): %.mo: %.po | $(VENV)/.base
	@command -v msgfmt >/dev/null || { echo "msgfmt not found: install gettext"; exit 1; }
	DEBUG=$${DEBUG:-true} $(PY) manage.py compilemessages --ignore=.venv --ignore=staticfiles \
	  --locale $(word 2,$(subst /, ,$@))

install: $(VENV)/.base $(MO_FILES)
install-dev: $(VENV)/.dev $(MO_FILES)

# After changing a page's or an invitee mail's text: collect the strings into the .po files
# (then translate the new entries; tests/test_i18n.py fails on an empty or fuzzy one).
messages: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py makemessages --locale de --locale fr --locale es \
	  --no-obsolete --add-location file --ignore .venv --ignore staticfiles --ignore tests \
	  --ignore benchmarks --ignore 'scheduler/admin/*' --ignore 'templates/admin/*'

migrate: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput

seed: migrate
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo

# Serves http://$(HOST):$(PORT) with a background worker beside it (mail, calendar writes).
# Links use SITE_URL (default http://$(HOST):$(PORT)); mail goes to var/mail/*.eml (one line
# per message here) unless EMAIL_URL is set. The demo's login, token and links come last.
run: migrate
	@export DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)}; \
	[ -n "$${EMAIL_URL:-}" ] || export MAIL_DIR=$${MAIL_DIR:-var/mail}; \
	mkdir -p var; \
	$(PY) manage.py seed_demo > var/demo.txt || { cat var/demo.txt; exit 1; }; \
	$(PY) manage.py db_worker --batch; \
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & server=$$!; \
	trap "kill $$worker $$server 2>/dev/null" EXIT INT TERM; \
	$(PY) -c "import socket, time; [time.sleep(0.2) for _ in range(100) if socket.socket().connect_ex(('$(HOST)', $(PORT)))]"; \
	echo; echo "Serving $$SITE_URL/  (Ctrl-C stops the server and the worker)"; \
	cat var/demo.txt; \
	wait $$server

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
	rm -rf $(VENV) db.sqlite3 .test-db*.sqlite3* staticfiles test-artifacts var
