# The two commands: `make run` (the whole site, with demo data) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=

# Tests never read the developer's .env; they get a throwaway key of their own.
TEST_ENV := ENV_FILE= SECRET_KEY=test-only-not-secret DEBUG=false SECURE_SSL_REDIRECT=false

.PHONY: help run test lint types install system-deps clean audit screenshots bench-public \
	bench-reminders bench-load bench-faults bench-signup bench-compare vendor-js bench-map

help:
	@echo "make run   - set up everything and start web, worker and beat with demo data"
	@echo "make test  - lint, types, migrations check and the test suite"
	@echo "make bench-public - public page and PDF figures at 100 to 10,000 signers"
	@echo "make bench-load   - page views and signing under gunicorn: none lost or doubled"
	@echo "make bench-faults - a reminder batch through worker, Redis and SMTP failures"
	@echo "make bench-compare - the site against bare baselines, into docs/performance.md"
	@echo "make bench-map     - the network map's data for 2,000 partners and 200 letters"

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (apt-get install python3 python3-venv)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# axe-core, which the browser tests inject into pages (package.json, no build step).
node_modules/axe-core/axe.min.js: package.json package-lock.json
	@$(MAKE) --no-print-directory system-deps SYSTEM_DEPS=test
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.env:
	@printf 'DEBUG=true\nSECRET_KEY=dev-%s\nSITE_URL=http://127.0.0.1:$(PORT)\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(40))')" > .env
	@echo "Wrote a development .env (DEBUG on, a fresh secret key)."

system-deps:
	@scripts/system-deps $(SYSTEM_DEPS)

run: $(STAMP) .env
	@$(MAKE) --no-print-directory system-deps SYSTEM_DEPS=run
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  Coalition is starting on http://127.0.0.1:$(PORT)/ (the login follows)."
	@echo
	@# scripts/dev-run: Ctrl-C stops every process and ends with status 0.
	DEV_PORT=$(PORT) $(BIN)/python scripts/dev-run Procfile.dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r . --severity-level high

types: $(STAMP)
	$(TEST_ENV) $(BIN)/mypy .

test: $(STAMP) node_modules/axe-core/axe.min.js
	@$(MAKE) --no-print-directory system-deps SYSTEM_DEPS=test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r . --severity-level high
	$(TEST_ENV) $(BIN)/mypy .
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest $(if $(REDIS_URL),,-m "not worker") $(PYTEST_ARGS)

# Public page and PDF figures for 100, 1,000 and 10,000 signers (bench/public_page.py).
bench-public: $(STAMP)
	@$(MAKE) --no-print-directory system-deps SYSTEM_DEPS=run
	$(BIN)/python -m bench.public_page
# How long the reminder dispatcher takes to plan and send 10,000 reminders to a
# local SMTP sink (a throwaway copy of the configured database). BENCH_ARGS="--count N".
bench-reminders: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench.reminders $(BENCH_ARGS)

# Known vulnerabilities in the installed dependencies. Needs a vulnerability
# database on the network (PyPI's or OSV's), so it is not part of `make test`.
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable --strict

# Refresh the README's screenshots from the whole-journey browser test (needs
# PostgreSQL or SQLite, and REDIS_URL for its real worker).
screenshots: $(STAMP)
	JOURNEY_SCREENSHOTS=docs/screenshots $(TEST_ENV) $(BIN)/pytest tests/browser/test_journey.py \
		tests/browser/test_network_map.py tests/browser/test_change_requests.py \
		tests/browser/test_phone_layout.py tests/browser/test_invitation_preview.py

# Public page views and concurrent signing under gunicorn for 60 s, then checks
# that no signature was lost or doubled (docs/performance.md). Needs DATABASE_URL
# (PostgreSQL) and REDIS_URL. BENCH_ARGS="--seconds 30".
bench-load: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench.load $(BENCH_ARGS)
# A reminder batch through a real worker and beat while the worker is killed and
# Redis restarted, a second beat runs, and the SMTP server is down for a minute
# (docs/reliability.md). Needs DATABASE_URL (PostgreSQL) and redis-server.
bench-faults: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench.faults $(BENCH_ARGS)

# Sign-up time for a new address and for one with an account: their medians and
# ratio (account enumeration by timing). BENCH_ARGS="--rounds 30".
bench-signup: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench.signup $(BENCH_ARGS)

# The site against bare baselines (hello-world and one-row-insert views, an
# smtplib loop, WeasyPrint alone), interleaved rounds, into docs/performance.md.
# Needs PostgreSQL and Redis on this machine (BENCH_DATABASE_URL or DATABASE_URL;
# BENCH_REDIS_URL, BENCH_CACHE_URL). BENCH_ARGS="--quick" for a smoke run.
bench-compare: $(STAMP)
	@$(MAKE) --no-print-directory system-deps SYSTEM_DEPS=run
	$(TEST_ENV) $(BIN)/python -m bench.compare $(BENCH_ARGS)

# The network map's data for a coalition of 2,000 partners and 200 letters: cold,
# cached and against networkx alone (a throwaway copy of the configured
# database). BENCH_ARGS="--partners 500 --rounds 3".
bench-map: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m bench.network_map $(BENCH_ARGS)

# The network map's drawing libraries, served from static/vendor/ (committed, so
# that `make run` needs no npm): refresh them from the versions in package.json.
# Their source-map comments go, since the maps are not shipped.
VENDOR_JS := sigma/dist/sigma.min.js graphology/dist/graphology.umd.min.js \
	graphology-library/dist/graphology-library.min.js
vendor-js: node_modules/axe-core/axe.min.js
	@mkdir -p static/vendor
	@for f in $(VENDOR_JS); do \
		pkg=$${f%%/*}; \
		sed -e 's|//# sourceMappingURL=.*$$||' node_modules/$$f > static/vendor/$${f##*/}; \
		cp node_modules/$$pkg/LICENSE.txt static/vendor/$$pkg.LICENSE.txt; \
		echo "static/vendor/$${f##*/} from $$pkg $$(node -p "require('./node_modules/$$pkg/package.json').version")"; \
	done

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache node_modules
