# One project venv (.venv) holds meltano, singer-sdk, dlt and every local plugin (editable).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)-uv/bin/uv)
export MELTANO_CLI_DISABLE_VERSION_CHECK := true
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
export UV_COMPILE_BYTECODE := 1
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help install lock sync report check-config dagster test lint bench serve worker sandbox-up sandbox-down sandbox-status clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)-uv/bin/uv:
	python3 -m venv $(VENV)-uv && $(VENV)-uv/bin/pip install --quiet "uv>=0.9,<1"

# Our own packages (the root project and the workspace members), installed editable.
MEMBERS := . $(sort $(dir $(wildcard libs/*/pyproject.toml taps/*/pyproject.toml targets/*/pyproject.toml mappers/*/pyproject.toml)))
# What `make lock` exports: every locked dependency, dev group and the dagster extra included.
EXPORT := $(UV) export --quiet --all-packages --all-groups --extra dagster --no-emit-workspace --format requirements.txt

# Exactly the lock (uv pip sync removes anything else), then our packages without their
# dependencies, then a check that the lock satisfies every pyproject (ops.lockcheck).
$(VENV)/.installed: requirements.lock pyproject.toml $(wildcard */*/pyproject.toml) | $(UV)
	$(UV) venv --quiet --allow-existing $(VENV)
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps $(foreach m,$(MEMBERS),-e $(m))
	$(PY) -m ops.lockcheck
	@touch $@

install: $(VENV)/.installed ## create/refresh .venv from requirements.lock, every plugin editable (idempotent)

lock: | $(UV) ## resolve the pyprojects again and write requirements.lock (pinned, hashed, no index named)
	$(UV) lock --quiet
	$(EXPORT) --output-file requirements.lock

sync: install ## bring up the sandbox (unless MELTANO_ENVIRONMENT=prod), run every job, print the run report
	$(PY) -m ops.sync

report: install ## render reports/*.json (one per sync) as reports/index.html, a throughput chart per job
	$(PY) -m ops.report

check-config: install ## settings each job needs in $(MELTANO_ENVIRONMENT) (default dev) and which are missing; no values shown
	$(PY) -m ops.check_config --environment $(or $(MELTANO_ENVIRONMENT),dev)

dagster: install ## Dagster webserver + daemon on 127.0.0.1:3000 (DAGSTER_PORT) over the same jobs; sandbox up unless prod
	$(PY) -m orchestrate.dev

test: install ## run the whole test suite (starts its own servers)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver)  # tests/admin's browser
	$(PY) -m pytest --numprocesses=auto --maxprocesses=4 --dist=loadfile  # a worker per core

lint: install ## ruff + import-linter (architecture rules in .importlinter) + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy sandbox ops orchestrate pipelines service $(wildcard libs/*/ taps/*/ targets/*/ mappers/*/)

bench: install ## run every benchmark script and print its figures
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

serve: install ## the sandbox, then the service on 127.0.0.1:8080 (SERVICE_PORT) and its worker; exported settings win
	$(PY) -m sandbox up
	$(PY) -m sandbox run -- bash -c '$(PY) -m service.worker & trap "kill $$!" EXIT; $(PY) -m service'

worker: install ## the service's job worker alone (python -m service.worker)
	$(PY) -m service.worker

sandbox-up: install ## start the local stand-ins (Postgres, Mongo-wire, HTTP APIs)
	$(PY) -m sandbox up

sandbox-down: ## stop them
	@[ -x $(PY) ] && $(PY) -m sandbox down || true

sandbox-status: install
	$(PY) -m sandbox status

clean: sandbox-down ## remove the venv and all local state
	rm -rf $(VENV) $(VENV)-uv .sandbox .meltano .dagster data output
