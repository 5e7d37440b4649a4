# The two commands (README): `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_OWNER_URL ?= postgresql+psycopg://ledger_owner:ledger_owner@127.0.0.1:5432/ledger_test
PG_APP_URL ?= postgresql+psycopg://ledger_app:ledger_app@127.0.0.1:5432/ledger_test
export LEDGER_TEST_PG_OWNER_URL ?= $(PG_OWNER_URL)
export LEDGER_TEST_PG_APP_URL ?= $(PG_APP_URL)
# Dev-only secrets for `make run`: generated once under var/, never committed.
DEV_ENV = LEDGER_KEY_PASSPHRASE_FILE=var/dev-passphrase

.PHONY: install run test test-fast postgres bench clean demo verify schema

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

var/dev-passphrase:
	mkdir -p var && umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(24))" > $@

# The main job on the embedded SQLite default (var/ledger.db).
run: install var/dev-passphrase
	$(DEV_ENV) $(BIN)/ledger db upgrade
	$(DEV_ENV) $(BIN)/ledger demo --entries 6000 --seed 1
	$(DEV_ENV) $(BIN)/ledger checkpoint
	$(DEV_ENV) $(BIN)/ledger verify
	$(DEV_ENV) $(BIN)/ledger summary
	@echo "Serving the demo ledger (Ctrl-C stops it). Demo tokens follow; each lasts 7 days."
	$(DEV_ENV) $(BIN)/ledger serve --demo-tokens --port $(PORT)

postgres:
	bash .ci/postgres-up

# Every test, against SQLite and PostgreSQL.
test: install postgres
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

test-fast: install
	$(BIN)/python -m pytest -q -x -m "not slow"

# Benchmarks (docs/benchmarks.md); `make bench ARGS=--quick` for a short run.
bench: install postgres
	$(BIN)/python bench/append.py $(ARGS) --json var/bench-append.json
	$(BIN)/python bench/proofs.py $(ARGS) --json var/bench-proofs.json
	$(BIN)/python bench/status.py $(ARGS) --json var/bench-status.json
	$(BIN)/python bench/api.py $(ARGS) --json var/bench-api.json

# Re-export graphql/schema.graphql after changing ledger/api (a test checks it is current).
schema: install
	$(BIN)/python -m ledger.api.schema > graphql/schema.graphql

clean:
	rm -rf var .pytest_cache .hypothesis
