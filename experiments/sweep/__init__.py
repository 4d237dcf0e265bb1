"""Sweeps: run a scenario over design points x seeds, resumably, on local workers or a Dask cluster.

One job per module:

* :mod:`~experiments.sweep.designs`: grids, random and Latin-hypercube points, run seeds.
* :mod:`~experiments.sweep.spec`: what a sweep is (``sweep.json``), run ids, the tasks.
* :mod:`~experiments.sweep.store`: the run store on disk (atomic per-run records, lock, resume checks,
  the ``runs.parquet`` table, :func:`collect_runs`).
* :mod:`~experiments.sweep.worker`: what runs in a worker (the runner called for one task).
* :mod:`~experiments.sweep.executors`: where runs execute (this process, local workers, Dask).
* :mod:`~experiments.sweep.engine`: :func:`run_sweep`, the loop that ties them together.
* :mod:`~experiments.sweep.attribution`: counterfactual attribution (one knockout per agent class).
* :mod:`~experiments.sweep.cli`: the ``cascade sweep`` and ``cascade attribute`` subcommands.

The names below are imported lazily (on first use), so ``cascade run``, which only registers the
subcommands, does not load the engine. Workers started elsewhere (``dask worker``) need
``NUMBA_CACHE_DIR`` set in their own environment (one folder per machine), must be able to import
``experiments`` and the runner's module, and, with ``keep_series=True``, see ``out_dir`` on a shared
filesystem.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.sweep.engine import run_sweep
    from experiments.sweep.executors import numba_cache_dir
    from experiments.sweep.spec import (
        DEFAULT_RUNNER,
        RunTask,
        SweepConfigError,
        is_sweep_dir,
        make_run_id,
        read_sweep_spec,
        scenario_identity,
    )
    from experiments.sweep.store import collect_runs

__all__ = [
    "DEFAULT_RUNNER",
    "RunTask",
    "SweepConfigError",
    "collect_runs",
    "is_sweep_dir",
    "make_run_id",
    "numba_cache_dir",
    "read_sweep_spec",
    "run_sweep",
    "scenario_identity",
]

_WHERE = {
    "DEFAULT_RUNNER": "spec",
    "RunTask": "spec",
    "SweepConfigError": "spec",
    "collect_runs": "store",
    "is_sweep_dir": "spec",
    "make_run_id": "spec",
    "numba_cache_dir": "executors",
    "read_sweep_spec": "spec",
    "run_sweep": "engine",
    "scenario_identity": "spec",
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
