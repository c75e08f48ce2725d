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

.PHONY: help install sync test lint bench serve worker sandbox-up sandbox-down sandbox-status clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)-uv/bin/uv:
	python3 -m venv $(VENV)-uv && $(VENV)-uv/bin/pip install --quiet "uv>=0.9,<1"

$(VENV)/.installed: pyproject.toml $(wildcard */*/pyproject.toml) | $(UV)
	$(UV) sync --all-packages --quiet
	@touch $@

install: $(VENV)/.installed ## create/refresh .venv with every plugin (idempotent)

sync: install ## bring up the sandbox (unless MELTANO_ENVIRONMENT=prod), run every job, print a summary
	$(PY) -m ops.sync

test: install ## run the whole test suite (starts its own servers)
	$(PY) -m pytest

lint: install ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy sandbox ops pipelines service $(wildcard libs/*/ taps/*/ targets/*/ mappers/*/)

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
	rm -rf $(VENV) $(VENV)-uv .sandbox .meltano data output
