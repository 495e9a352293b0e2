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

.PHONY: install run test lint typecheck pytest smoke bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PY=/path/to/python3.11)")'
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## run: install, migrate, seed the demo fund, serve http://127.0.0.1:8000 (embedded default)
run: export DEBUG ?= true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: lint, type-check, the whole suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set), then smoke the embedded default
test: install lint typecheck pytest smoke

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

## bench: performance targets of every issue; prints a table and writes var/bench.json
bench: install
	$(BIN)/python -m scripts.bench.run $(BENCH_ARGS)

clean:
	rm -rf var/test var/smoke var/bench .pytest_cache .mypy_cache .ruff_cache
