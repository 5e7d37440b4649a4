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

.PHONY: install run test test-fast lint postgres browser softhsm redis bench clean demo verify schema reconcile vendor

# Extras by use (pyproject.toml): `make run` installs the core only; `make test`
# adds the suite, the gates, Airflow and the browser driver; `make reconcile`
# adds Airflow; `make bench` adds the baselines.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(STAMP)

TEST_STAMP := $(VENV)/.test-installed
$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test,console-test]'
	touch $(TEST_STAMP)

AIRFLOW_STAMP := $(VENV)/.airflow-installed
$(AIRFLOW_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[airflow]'
	touch $(AIRFLOW_STAMP)

# The console's browser dependencies from the npm registry (package-lock.json pins
# them; decision 0026): `npm ci`, then the built file is copied into the console's
# static folder and served from its own origin (no CDN). Redone when the lock changes.
VENDOR := ledger/console/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
$(VENDOR_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/chart.js/dist/chart.umd.js $(VENDOR)/chart.umd.js
	cp node_modules/chart.js/LICENSE.md $(VENDOR)/chart.js.LICENSE.md
	touch $(VENDOR_STAMP)

vendor: $(VENDOR_STAMP)

install: $(STAMP) $(VENDOR_STAMP)

var/dev-passphrase:
	mkdir -p var && umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(24))" > $@

# The main job on the embedded SQLite default (var/ledger.db).
run: install var/dev-passphrase
	$(DEV_ENV) $(BIN)/ledger db upgrade
	$(DEV_ENV) $(BIN)/ledger demo --entries 6000 --seed 1
	$(DEV_ENV) $(BIN)/ledger checkpoint
	$(DEV_ENV) $(BIN)/ledger verify
	$(DEV_ENV) $(BIN)/ledger summary
	@echo "The server holds the log key only (var/private-keys); the demo authorities' keys are in var/authority-keys,"
	@echo "which it never reads: records arrive as signed statements (docs/decisions/0015-no-authority-key-on-the-api-host.md)."
	@echo "Serving the demo ledger (Ctrl-C stops it). Demo tokens follow; each lasts 7 days."
	$(DEV_ENV) $(BIN)/ledger serve --demo-tokens --port $(PORT)

# The nightly DAG once (`airflow dags test`) on the demo ledger against the
# simulated funding system, then the report scored against the ground truth.
# A night is reconciled only once it is over (docs/reconciliation.md): the demo
# ledger is recorded on the last finished night in Asia/Shanghai, in its own
# database and state (var/reconcile/), and the DAG run is the one whose data
# interval ends at the last local midnight.
NIGHT := $(shell TZ=Asia/Shanghai date -d yesterday +%F)
NIGHT_END := $(shell TZ=Asia/Shanghai date +%F)T00:00:00+08:00
RECONCILE_ENV = LEDGER_DATABASE_URL=sqlite:///$(CURDIR)/var/reconcile/ledger.db LEDGER_STATE_DIR=$(CURDIR)/var/reconcile
AIRFLOW_ENV = AIRFLOW_HOME=$(CURDIR)/var/airflow AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING \
	AIRFLOW_VAR_LEDGER_FUNDING_SOURCE=$(CURDIR)/var/funding/funding.csv AIRFLOW_VAR_LEDGER_REPORT_DIR=$(CURDIR)/var/reports
reconcile: install $(AIRFLOW_STAMP) var/dev-passphrase
	mkdir -p var/reconcile
	$(DEV_ENV) $(RECONCILE_ENV) $(BIN)/ledger db upgrade
	$(DEV_ENV) $(RECONCILE_ENV) $(BIN)/ledger demo --entries 6000 --seed 1 --recorded-on $(NIGHT)
	$(DEV_ENV) $(RECONCILE_ENV) $(BIN)/ledger demo-funding --as-of $(NIGHT) --out var/funding --seed 1
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate > /dev/null
	$(DEV_ENV) $(RECONCILE_ENV) $(AIRFLOW_ENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/airflow dags test ledger_nightly $(NIGHT_END) > var/airflow-nightly.log 2>&1 \
		|| (tail -40 var/airflow-nightly.log; exit 1)
	$(BIN)/ledger score-findings var/reports/reconciliation-$(NIGHT)/report.json var/funding/ground-truth.json
	@echo "reports: var/reports/reconciliation-$(NIGHT)/ (report.json, findings.csv, summary.html); DAG log: var/airflow-nightly.log"

postgres:
	bash .ci/postgres-up

# Headless Chromium (Debian's package) for the console's browser tests.
browser:
	bash .ci/browser-up

# SoftHSM2 (Debian's package): a PKCS#11 token for the hardware-key tests.
softhsm:
	bash .ci/softhsm-up

# Redis (Debian's package): the Celery broker for the nightly DAG across machines
# (tests/test_celery_night.py starts its own server on a free port).
redis:
	bash .ci/redis-up

# The gates, then every test against SQLite and PostgreSQL, the console in a real
# browser and keys on a PKCS#11 token (required here: a missing SoftHSM2 fails).
test: install $(TEST_STAMP) lint postgres browser softhsm redis
	LEDGER_TEST_REQUIRE_SOFTHSM=1 $(BIN)/python -m pytest -n 2 --dist loadfile -q

# Types and lint (docs/decisions/0010): ruff everywhere; mypy strict on log, signing
# and domain, default elsewhere; the layer contracts (import-linter, .importlinter).
lint: install $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test-fast: install $(TEST_STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow"

# Benchmarks: every script under bench/, then docs/benchmarks.md (bench/run.py).
# `make bench ARGS=--quick` for the short run (var/bench/quick/benchmarks.md).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP) postgres
	$(BIN)/python bench/run.py $(ARGS)

# Re-export graphql/schema.graphql after changing ledger/api (a test checks it is current).
schema: install
	$(BIN)/python -m ledger.api.schema > graphql/schema.graphql

clean:
	rm -rf var .pytest_cache .hypothesis node_modules $(VENDOR)
