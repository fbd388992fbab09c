# The README's commands. Everything installs into .venv from this project's own files.
# The newest Python 3.11-3.14 on the PATH (or PYTHON=/path/to/python3.X).
SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 15))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.14 python3.13 python3.12 python3.11 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c '$(SUPPORTED)' 2>/dev/null && { echo $$p; break; }; done)
endif
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench clean chromium screenshots

$(BIN)/python:
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(SUPPORTED)' 2>/dev/null; then \
	  echo "make: followups needs Python 3.11, 3.12, 3.13 or 3.14 (python3.14 ... python3.11 or python3 on the PATH);" \
	       "none was found$(if $(PYTHON), ($(PYTHON) is not one)). Install one, or name it: make run PYTHON=/path/to/python3.X" >&2; \
	  exit 1; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/followups serve --host $(HOST) --port $(PORT)

# The browser tests drive Debian's Chromium (Playwright downloads no browser here).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "make: $(CHROMIUM) is missing; installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true; \
	  if [ ! -x $(CHROMIUM) ]; then \
	    echo "make: could not install chromium (apt-get install -y chromium); the browser tests need it" >&2; \
	    exit 1; \
	  fi; \
	fi

screenshots: $(VENV)/.installed-dev chromium
	FOLLOWUPS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/web/test_web_browser.py -k sqlite

# Two pytest-xdist workers (tests/conftest.py: a PostgreSQL database each, the process-heavy
# modules on one of them); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev chromium
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup) $(PYTEST_ARGS)

# Benchmarks (bench/RESULTS.md): wrk from Debian, matplotlib and the profilers from the bench
# extras, a PostgreSQL database of their own (emptied), under 10 minutes on 2 cores.
BENCH_PG_ADMIN ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_PG_DB ?= followups_perf_bench
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/$(BENCH_PG_DB)
BENCH_SQLITE ?= bench/.out/followups-bench.db
BENCH_ARGS ?=

$(VENV)/.installed-bench: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

bench: $(VENV)/.installed-bench
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi
	@psql "$(BENCH_PG_ADMIN)" -tAc "SELECT 1 FROM pg_database WHERE datname = '$(BENCH_PG_DB)'" | grep -q 1 \
	  || psql "$(BENCH_PG_ADMIN)" -qc 'CREATE DATABASE "$(BENCH_PG_DB)"'
	@mkdir -p bench/.out
	$(BIN)/python bench/perf.py --pg-url $(BENCH_PG_URL) --sqlite-url sqlite:///$(BENCH_SQLITE) \
	  --plot bench/scaling.png --json bench/.out/followups-bench.json $(BENCH_ARGS)
	$(BIN)/python bench/sweep.py --url $(BENCH_PG_URL) --batch 20000
	$(BIN)/python bench/sweep.py --url sqlite:///$(BENCH_SQLITE) --batch 20000

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
