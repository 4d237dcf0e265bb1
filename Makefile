# Every target sets itself up: a fresh clone needs only python3.11, make (and apt-get, for the
# browser test's Chromium). The virtualenv lives in .venv, numba's cache in .numba_cache.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RUNS    ?= runs
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: setup browser warm test demo bench lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,viz,notebooks]'
	touch $(STAMP)

setup: $(STAMP)

## Headless Chromium for the browser test (Debian package; needs root, skipped when present).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

## Compile the numba kernels into $(NUMBA_CACHE_DIR) once (a few minutes on a fresh machine).
warm: setup
	$(BIN)/cascade run calm --set market.session_end_s=60 --out $(RUNS)/warm-up > /dev/null

## The whole test suite: lint (ruff; lint-imports checks the layers contract in pyproject.toml:
## experiments > agents > market), unit/property/end-to-end tests, the notebooks
## (tests/experiments/test_notebooks.py executes each one with nbclient) and the browser test (tests/experiments/test_viz_browser.py).
test: setup browser warm
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q

## The main job: the Nov-20 day with its dashboard, then a small dip-buy-capital sweep and its plots.
## DEMO_SEED is the scenario's typical day: the seed of 0-99 closest to their medians, as
## `benchmarks/nov20_acceptance.py --seeds 100` prints it (re-read it when the scenario changes).
DEMO_SEED ?= 89
demo: setup
	$(BIN)/cascade run nov20_2025_protected --seed $(DEMO_SEED) --out $(RUNS)/nov20 --plot
	$(BIN)/cascade sweep nov20_2025_protected --grid dip_buyers.capital_usd=3.7e7,3.7e8,3.7e9 --seeds 4 --workers 2 --keep-series --out $(RUNS)/dip_sweep
	$(BIN)/cascade plot $(RUNS)/dip_sweep

## Speed figures; the last one compiles every kernel into a temporary cache (a few minutes of CPU).
bench: setup
	$(BIN)/python benchmarks/bench_lob.py
	$(BIN)/python benchmarks/bench_options.py
	$(BIN)/python benchmarks/bench_day.py
	$(BIN)/python benchmarks/bench_day.py --scenario nov20_2025 --no-scaling
	$(BIN)/python benchmarks/bench_process.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_compile.py --inline-module none

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .hypothesis $(RUNS)
