# Two commands do all the set-up from a fresh clone:
#   make run    the whole loop on this machine (offline model, SQLite, local Ray head)
#   make test   ruff, mypy and the test suite (what .ci/run calls)
# Both create or reuse .venv from this project's own pyproject.toml.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit bench schemas clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,litellm]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/agentcluster run --local-stack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -q -m "not rabbitmq and not postgres and not ray" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

schemas: $(STAMP)
	$(BIN)/python -m contracts.schemas

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
