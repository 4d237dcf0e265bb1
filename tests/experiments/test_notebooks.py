"""The notebooks in ``notebooks/``: stored without outputs, and each runs top to bottom.

Running them needs the ``notebooks`` extra (nbclient, nbformat, ipykernel); without it those tests are
skipped with the reason. ``pytest --nbmake --nbmake-timeout=300 notebooks/`` (the nbmake plugin) runs
the same notebooks the same way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:3] == [
        "01_nov20_cascade.ipynb",
        "02_dip_buy_capital.ipynb",
        "03_mechanisms.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {i} has stored outputs"
            assert cell["execution_count"] is None, f"{path.name} cell {i} has an execution count"


def _missing() -> str | None:
    for module in ("nbclient", "nbformat", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            return f"python package {module!r} not installed (the notebooks extra)"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    missing = _missing()
    if missing:
        pytest.skip(missing)
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache")))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError with the cell and its traceback on any error
    elapsed = time.perf_counter() - t0
    print(f"\n{path.name}: {elapsed:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = sum(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert images >= 2, f"{path.name} drew {images} figures"
