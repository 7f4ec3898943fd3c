# Two commands on a fresh machine with only Python >= 3.11 and make:
#   make demo   - an offline demo through the real SDK clients
#   make test   - the whole suite, ruff and mypy --strict included
# Each creates .venv (once) and installs what it needs into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUICK ?=

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "costwrap needs Python >= 3.11; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[openai,anthropic,google]'
	@touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[all,test,bench]'
	@touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(BIN)/costwrap demo

lint: $(VENV)/.test
	$(BIN)/ruff check costwrap tests examples benchmarks scripts
	$(BIN)/ruff format --check costwrap tests examples benchmarks scripts

typecheck: $(VENV)/.test
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info costwrap-demo.db
