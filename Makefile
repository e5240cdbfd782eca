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

# The model folder and the index are files with prerequisites, so `make run` starts the app
# at once when nothing changed (each of these commands costs ~1 s of Python start-up).
MODEL_STAMP := models/multilingual-e5-small/rebuild.json
# The model adapted to the records (`reco model adapt`: about 15 min of training, once) and its
# ONNX export, which lets the app answer queries without loading torch (e5-adapted).
ADAPTED_STAMP := models/multilingual-e5-small-adapted/onnx/export.json
INDEX_MANIFEST := index/manifest.json
SOURCES := $(wildcard recommender/*.py recommender/*/*.py embeddings/*.py)
# Another encoder, data or index location: let `reco build` decide, every time.
INDEX_FORCE := $(if $(RECO_ENCODERS)$(RECO_INDEX)$(RECO_DATA)$(RECO_MODELS),FORCE,)

$(MODEL_STAMP): $(STAMP)
	$(BIN)/reco model build --if-missing
	touch $@

# Order-only: new records or a rebuilt base model do not retrain an existing adapted model
# (run `reco model adapt` for that, which exports again); a missing export is redone. New
# written needs (data/adapt/needs.json) retrain it when they change its training pairs
# (--if-missing compares them with the model's adapt.json).
$(ADAPTED_STAMP): data/adapt/needs.json | $(MODEL_STAMP) data/actions.jsonl
	$(BIN)/reco model adapt --if-missing
	touch $@

model: $(MODEL_STAMP) $(ADAPTED_STAMP)

# `reco limites` learns the themes of limits and perspectives once (their vectors are cached
# on disk, about 20 s the first time): the app's first answer does not wait for it.
$(INDEX_MANIFEST): data/actions.jsonl $(MODEL_STAMP) $(ADAPTED_STAMP) $(SOURCES) $(INDEX_FORCE)
	$(BIN)/reco build
	@echo "Thèmes des limites et perspectives (une fois, puis en cache)…"
	$(BIN)/reco limites --json > /dev/null

index: $(INDEX_MANIFEST)

FORCE:

run: index
	$(BIN)/python app.py

test: lint
	$(BIN)/python -m pytest -q

# Style, the walls between stages (pyproject.toml [tool.importlinter]), then types (mypy on
# recommender/ and embeddings/, [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Performance figures side by side -> BENCHMARKS.md (BENCH_ARGS=--all adds USE, --quick is tiny).
bench: index
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# 20 concurrent chat sessions x 10 messages against app.py on 127.0.0.1 -> LOADTEST.md
# (bounded: 600 s in all). LOADTEST_ARGS="--concurrency 1,2,4 --time-limit 1500" compares
# Gradio queue settings; --quick is 3 x 3 on a fake-encoder index.
loadtest: index
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)

clean:
	rm -rf index cache .pytest_cache
