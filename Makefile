# Linli task runner. Every target creates the virtual environment it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 8000

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

## run: migrate, seed the demo city if the database is empty, serve the API and a worker
run: $(VENV)/.stamp-run
	$(BIN)/linli db upgrade
	$(BIN)/linli demo seed --if-empty
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
