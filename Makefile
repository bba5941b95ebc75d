# Cumulo's tasks. `make help` lists them. Each installs what it needs into .venv,
# idempotently (re-run only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
TESTING := $(VENV)/.installed-test
WORKERS ?= auto

.PHONY: help serve test lint format typecheck check docs bench

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

serve: $(RUNTIME)  ## run Cumulo on its embedded defaults (data in ./data)
	$(BIN)/cumulo serve $(ARGS)

test: $(TESTING)  ## run the whole test suite in parallel (real servers, real clients)
	$(BIN)/pytest -n $(WORKERS) $(ARGS)

lint: $(TESTING)  ## ruff lint and format check, import layers
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(TESTING)  ## format the tree
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(TESTING)  ## mypy (strict) on the package
	$(BIN)/mypy

check: lint typecheck test  ## everything CI runs

bench: $(RUNTIME)  ## benchmark Cumulo beside the installed peers (bench/README.md)
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python -m bench.run $(ARGS)

docs: $(RUNTIME)  ## regenerate the generated docs (settings, S3 operation coverage)
	$(BIN)/cumulo settings --markdown > docs/settings.md
	$(BIN)/python -c "from cumulo.s3.router import coverage_markdown as m; print(m(), end='')" \
		> docs/s3-operations.md

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TESTING): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(RUNTIME) $@
