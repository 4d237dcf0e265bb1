# Every target sets itself up: a fresh clone needs nothing but python3.11 and make.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: setup test demo bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## The whole test suite (what CI runs).
test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -q

## The main job.
demo: setup
	$(BIN)/python benchmarks/bench_lob.py

bench: setup
	$(BIN)/python benchmarks/bench_lob.py

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .hypothesis runs
