# Linli task runner. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 8000
# OSRM road engine tools (`make osrm`); tests/dispatch/test_osrm.py needs them.
PYTHON312     ?= $(shell PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null || command -v python3.12)
VENV_OSRM     := .venv-osrm
OSRM_BINDINGS ?= osrm-bindings==26.10.0
OSRM_STAMP    := $(VENV_OSRM)/.stamp

.PHONY: run test lint fmt check-compose bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-run
	$(PIP) -e '.[dev]'
	@touch $@

venv: $(VENV)/.stamp-dev

## run: migrate, seed the demo city and its accounts if the database is empty, serve the API and a worker
run: $(VENV)/.stamp-run
	$(BIN)/linli db upgrade
	$(BIN)/linli demo seed --if-empty
	$(BIN)/linli demo history --if-empty
	$(BIN)/linli demo accounts --if-empty
	$(BIN)/linli serve --host $(HOST) --port $(PORT)

## test: the whole suite, on SQLite and on PostgreSQL + Redis
test: $(VENV)/.stamp-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## lint: ruff, mypy --strict, import-linter, the Compose file
lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

fmt: $(VENV)/.stamp-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

## osrm: a Python 3.12 venv with osrm-bindings (osrm-extract/contract/partition/customize/routed
## and the car/foot/bicycle profiles; the wheel exists only for Python ≥ 3.12)
.PHONY: osrm
$(OSRM_STAMP):
	@test -n "$(PYTHON312)" || { echo "osrm: no Python 3.12 found (pyenv 3.12.1 or python3.12)" >&2; exit 1; }
	$(PYTHON312) -m venv $(VENV_OSRM)
	$(VENV_OSRM)/bin/python -m pip install -q $(OSRM_BINDINGS)
	@touch $@

osrm: $(OSRM_STAMP)
