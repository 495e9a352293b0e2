# PMS — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?= -n 2 --dist loadfile
HOST ?= 127.0.0.1
PORT ?= 8000
SMOKE_DIR := var/smoke

.PHONY: install lock run test lint typecheck pytest smoke image-build monitoring-check bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PY=/path/to/python3.11)")'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## lock: compile requirements*.in into the hashed lock files (UPGRADE=1: newest allowed releases)
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade --refresh)
lock: install
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.txt

## run: install, migrate, seed the demo fund, serve http://127.0.0.1:8000 (embedded default)
run: export DEBUG ?= true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: lint, type-check, the image's build steps, the monitoring config, the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set), then smoke the embedded default
test: install lint typecheck image-build monitoring-check pytest smoke

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the floor plan: pyproject.toml [tool.importlinter]

typecheck: install
	DEBUG=true $(BIN)/mypy .

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The embedded default on a fresh SQLite file, as `make run` would start it.
smoke: install
	rm -rf $(SMOKE_DIR)
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL DEBUG=true PMS_VAR_DIR=$(SMOKE_DIR) \
		bash -c '$(BIN)/python manage.py migrate --noinput -v0 && \
		         $(BIN)/python manage.py seed_demo --years 1 && \
		         $(BIN)/python manage.py check'
	@echo "smoke: embedded default migrates, seeds and checks"

# What `docker build` runs after installing the packages (deploy/image-build.sh: collectstatic
# with DEBUG=false and the manifest storage, the static names, WeasyPrint, gunicorn's config),
# outside Docker into a temporary folder.
image-build: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
		env -u DATABASE_URL -u REDIS_URL STATIC_ROOT="$$tmp" PYTHON=$(BIN)/python deploy/image-build.sh

## monitoring-check: Prometheus's config, alert rules and their unit tests, Alertmanager's config
# (promtool and amtool: Debian's prometheus and prometheus-alertmanager, deploy/apt-ci.txt). The
# config is checked for syntax only: the files it names exist in the containers (the secret
# /run/secrets/metrics_token), and its rule file is checked on its own. The tests that every
# metric the rules and the dashboard name is exported are in apps/ops/tests/test_monitoring_config.py.
MONITORING := deploy/monitoring
monitoring-check:
	promtool check config --syntax-only $(MONITORING)/prometheus/prometheus.yml
	promtool check rules $(MONITORING)/prometheus/alerts.yml
	promtool test rules $(MONITORING)/prometheus/alerts_test.yml
	amtool check-config $(MONITORING)/alertmanager/alertmanager.yml

## bench: performance targets of every issue; prints a table and writes var/bench.json
bench: install
	$(BIN)/python -m scripts.bench.run $(BENCH_ARGS)

clean:
	rm -rf var/test var/smoke var/bench .pytest_cache .mypy_cache .ruff_cache
