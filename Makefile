# Two commands for users: `make run` (install, prepare, serve) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format data model index bench loadtest clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Ingest the raw exports only when the committed records are missing.
data/actions.jsonl: | $(STAMP)
	$(BIN)/reco ingest data/raw -o data/actions.jsonl

data: data/actions.jsonl

model: $(STAMP)
	$(BIN)/reco model build --if-missing

index: data model
	$(BIN)/reco build

run: index
	$(BIN)/python app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Performance figures side by side -> BENCHMARKS.md (BENCH_ARGS=--all adds USE, --quick is tiny).
bench: index
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf index cache .pytest_cache
