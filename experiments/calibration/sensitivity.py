"""Global sensitivity analysis (SALib: Sobol or Morris) of a scenario's outcomes, run by the sweep engine.

The SALib sample (Saltelli/Sobol' sequence for ``sobol``, trajectories for ``morris``) becomes the
points of one sweep (``DIR/sweep/``: recorded, resumable, local processes or Dask); each point runs
the same seeds and its outcome is the **mean over those seeds** (so the indices are those of the
seed-averaged outcome; with one seed, of that seed's day). Log parameters are sampled uniformly in
log10 space. Outputs::

    DIR/sensitivity.json   the design (method, parameters, N, seeds) and the indices
    DIR/indices.csv        one row per (metric, parameter): S1, S1_conf, ST, ST_conf (sobol) or
                           mu_star, mu_star_conf, sigma, mu (morris); conf = half-width of the 95% interval
    DIR/samples.parquet    the sample matrix and each row's outcomes
    DIR/plots/indices.png  bar chart with the intervals
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.calibration.params import ParamSpec, check_params
from experiments.calibration.targets import moment_values
from experiments.sweep.designs import format_value
from experiments.sweep.engine import run_sweep
from experiments.sweep.spec import DEFAULT_RUNNER, SweepConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_METRICS", "METHODS", "run_sensitivity", "salib_problem", "sample_points"]

DEFAULT_METRICS = ("max_drawdown_pct", "close_return_pct", "close_location", "fall_duration_min")
METHODS = ("sobol", "morris")


def salib_problem(params: Sequence[ParamSpec]) -> dict[str, Any]:
    """The SALib problem dict (log parameters as log10 bounds)."""
    bounds = [[math.log10(p.lo), math.log10(p.hi)] if p.log else [p.lo, p.hi] for p in params]
    return {"num_vars": len(params), "names": [p.key for p in params], "bounds": bounds}


def sample_points(
    params: Sequence[ParamSpec], method: str, n: int, root_seed: int = 0, morris_levels: int = 4
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """SALib sample matrix (in SALib's space) and the scenario points (natural units) it stands for.

    Args:
        params: The varied parameters.
        method: ``"sobol"`` (``n`` a power of 2: ``n * (D + 2)`` rows) or ``"morris"`` (``n``
            trajectories: ``n * (D + 1)`` rows).
        n: Base sample size.
        root_seed: Seeds SALib's sampler.
        morris_levels: Grid levels of the Morris design.
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = salib_problem(params)
    seed = int(np.random.SeedSequence(root_seed).generate_state(1)[0])
    if method == "sobol":
        if n < 2 or n & (n - 1):
            raise SweepConfigError(f"--n {n}: Sobol sampling needs a power of 2 (e.g. 64, 128, 1024)")
        x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    elif method == "morris":
        if n < 2:
            raise SweepConfigError(f"--n {n}: Morris needs at least 2 trajectories")
        x = morris_sample.sample(problem, n, num_levels=morris_levels, seed=seed)
    else:
        raise SweepConfigError(f"method {method!r}: must be one of {', '.join(METHODS)}")
    points = []
    for row in x:
        point: dict[str, Any] = {}
        for p, v in zip(params, row, strict=True):
            value = 10.0 ** float(v) if p.log else float(v)
            point[p.key] = int(round(value)) if p.integer else value
        points.append(point)
    return x, points


def run_sensitivity(
    scenario: str,
    params: Sequence[ParamSpec],
    out_dir: str | os.PathLike[str],
    *,
    method: str = "sobol",
    n: int = 64,
    seeds: Sequence[int] = (0,),
    metrics: Sequence[str] = DEFAULT_METRICS,
    root_seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: str = DEFAULT_RUNNER,
    overrides: Sequence[str] = (),
    progress: bool = True,
    plots: bool = True,
) -> pd.DataFrame:
    """Sample, run (resumably, through the sweep engine) and analyse; return the indices table.

    Returns:
        One row per (metric, parameter) with the method's indices and their 95% half-widths
        (also ``DIR/indices.csv``).

    Raises:
        SweepConfigError: Bad arguments (nothing written).
        KeyboardInterrupt: After Ctrl-C; finished runs are kept (re-run to resume).
    """
    import pandas as pd
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    params = check_params(params)
    if not metrics:
        raise SweepConfigError("give at least one metric")
    out = Path(out_dir)
    x, points = sample_points(params, method, n, root_seed)
    # Morris trajectories (and rounding of integers) can repeat a point: run each distinct point once
    keys = [tuple(format_value(v) for v in p.values()) for p in points]
    uniq: dict[tuple[str, ...], int] = {}
    for k in keys:
        uniq.setdefault(k, len(uniq))
    distinct: list[dict[str, Any]] = []
    for k, p in zip(keys, points, strict=True):
        if uniq[k] == len(distinct):
            distinct.append(p)
    ours = (out / "sensitivity.json").exists() or (out / "sweep" / "sweep.json").exists()
    if out.exists() and any(out.iterdir()) and not ours:
        raise SweepConfigError(f"output folder {str(out)!r} is not empty and holds no sensitivity analysis")
    runs = run_sweep(
        scenario,
        distinct,
        list(seeds),
        out / "sweep",
        workers=workers,
        scheduler=scheduler,
        runner=runner,
        overrides=overrides,
        progress=progress,
        design={"sensitivity": method, "n": n, "root_seed": root_seed},
    )
    values = pd.DataFrame(
        [
            moment_values(r, metrics) | {"point": r["point"]}
            for r in runs[runs["status"] == "ok"].to_dict("records")
        ]
    )
    per_point = (
        values.groupby("point")[list(metrics)].mean() if len(values) else pd.DataFrame(columns=metrics)
    )
    row_point = np.array([uniq[k] for k in keys])
    problem = salib_problem(params)
    seed = int(np.random.SeedSequence([root_seed, 1]).generate_state(1)[0])
    rows = []
    samples = pd.DataFrame(x, columns=[p.key for p in params])
    for metric in metrics:
        y = (
            per_point[metric].reindex(row_point).to_numpy(float)
            if metric in per_point
            else np.full(len(x), np.nan)
        )
        samples[metric] = y
        n_bad = int(np.sum(~np.isfinite(y)))
        if n_bad:
            # a failed run or an undefined metric: SALib needs every row; fill with the mean (reported)
            y = np.where(np.isfinite(y), y, np.nanmean(y) if np.isfinite(y).any() else 0.0)
        if method == "sobol":
            res = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            res = morris_analyze.analyze(problem, x, y, conf_level=0.95, num_levels=4, seed=seed)
            keys = ("mu_star", "mu_star_conf", "sigma", "mu")
        for i, p in enumerate(params):
            rows.append({"metric": metric, "param": p.key, **{k: res[k][i] for k in keys}, "n_filled": n_bad})
    table = pd.DataFrame(rows)
    table.to_csv(out / "indices.csv", index=False)
    samples.to_parquet(out / "samples.parquet", index=False)
    info = {
        "kind": "sensitivity",
        "scenario": scenario,
        "method": method,
        "n": n,
        "n_rows": len(x),
        "n_points": len(distinct),
        "seeds": [int(s) for s in seeds],
        "params": [p.spec() for p in params],
        "metrics": list(metrics),
        "overrides": list(overrides),
        "n_runs_ok": int((runs["status"] == "ok").sum()),
        "n_runs": len(runs),
        "indices": json.loads(table.to_json(orient="records")),
    }
    (out / "sensitivity.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    if plots:
        from experiments.plots.calibration import plot_sensitivity

        plot_sensitivity(out)
    return table
