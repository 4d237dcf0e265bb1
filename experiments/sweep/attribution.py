"""Counterfactual flow attribution: what each agent class adds to the crash.

The scenario is run as is (the *baseline*) and once with each agent class switched off in turn
(override ``<class>.enabled=false``), with the same seeds, through :func:`experiments.sweep.run_sweep`
(so an attribution is resumable and can run on a Dask cluster). For each class and metric the
contribution is paired by seed::

    d_s = metric(baseline, seed s) - metric(class switched off, seed s)

and reported as the mean of ``d_s`` over the seeds where both runs succeeded, with a Student-t
confidence interval (``mean +- t_{(1+c)/2, n-1} * sd / sqrt(n)``). Metrics are in percentage points
of the previous close (``max_drawdown_pct``, ``close_return_pct``), so a contribution is in
percentage points too: a positive contribution to ``max_drawdown_pct`` means the drawdown is that
much larger with the class present. Contributions need not add up to the total move: agents
interact, and knocking two out at once is not the sum of knocking each out.

Outputs in ``out_dir`` (besides the sweep's ``sweep.json``, ``runs/`` and ``runs.parquet``):
``attribution.parquet`` and ``attribution.csv`` (one row per class and metric) and the marker
``attribution.json`` describing the attribution.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.agent_classes import AGENT_CLASSES
from experiments.atomic_io import replace_write
from experiments.sweep.engine import run_sweep
from experiments.sweep.spec import DEFAULT_RUNNER, SweepConfigError

__all__ = ["DEFAULT_CLASSES", "METRICS", "attribution_table", "paired_contribution", "run_attribution"]

DEFAULT_CLASSES = tuple(c for c in AGENT_CLASSES if c not in ("stop_sellers", "letf"))
"""Agent classes switched off in turn by default (scenario tables with an ``enabled`` flag); the
stop-loss sellers (on only in ``nov20_2025_stops``, ``nov20_2025_paced`` and
``nov20_2025_protected``) and the leveraged ETFs (on only in ``nov20_2025_protected``) are
attributed when named, e.g. ``--classes dealers,cta,hedgers,dip_buyers,stop_sellers,letf``."""
METRICS = ("max_drawdown_pct", "close_return_pct")
"""Summary metrics attributed (percentage points of the previous close)."""
MARKER_FILE = "attribution.json"
TABLE_FILE = "attribution.parquet"
CSV_FILE = "attribution.csv"
_CLASS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def paired_contribution(
    baseline: np.ndarray, knockout: np.ndarray, confidence: float = 0.95
) -> dict[str, float]:
    """Mean paired difference ``baseline - knockout`` with a Student-t confidence interval.

    Args:
        baseline: Metric of the baseline runs, one per seed (same order as ``knockout``).
        knockout: Metric of the knockout runs for the same seeds.
        confidence: Two-sided confidence level in (0, 1).

    Returns:
        ``mean``, ``ci_low``, ``ci_high``, ``std`` (sample sd of the differences), ``n`` (pairs with both
        values finite), ``baseline_mean`` and ``knockout_mean`` over those pairs. The interval is NaN
        when ``n < 2``; everything is NaN when ``n == 0``.
    """
    from scipy import stats

    b = np.asarray(baseline, dtype=float)
    k = np.asarray(knockout, dtype=float)
    keep = np.isfinite(b) & np.isfinite(k)
    b, k = b[keep], k[keep]
    d = b - k
    n = int(d.size)
    nan = math.nan
    if n == 0:
        return {
            "mean": nan,
            "ci_low": nan,
            "ci_high": nan,
            "std": nan,
            "n": 0,
            "baseline_mean": nan,
            "knockout_mean": nan,
        }
    mean = float(d.mean())
    if n < 2:
        lo = hi = std = nan
    else:
        std = float(d.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
        lo, hi = mean - half, mean + half
    return {
        "mean": mean,
        "ci_low": lo,
        "ci_high": hi,
        "std": std,
        "n": n,
        "baseline_mean": float(b.mean()),
        "knockout_mean": float(k.mean()),
    }


def attribution_table(
    runs: pd.DataFrame,
    classes: Sequence[str] = DEFAULT_CLASSES,
    metrics: Sequence[str] = METRICS,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per-class paired contributions from the runs table of an attribution sweep.

    Baseline rows are those where no ``<class>.enabled`` column is set; the knockout rows of a class
    are those with ``<class>.enabled == False``. Rows with ``status != "ok"`` are left out (their seed
    loses its pair and is counted in ``n_missing``).

    Args:
        runs: ``runs.parquet`` of the attribution sweep.
        classes: Agent classes, in report order.
        metrics: Summary metrics to attribute.
        confidence: Two-sided confidence level of the intervals.

    Returns:
        One row per (class, metric): ``class``, ``metric``, ``mean`` (baseline - knockout, in the
        metric's unit), ``ci_low``, ``ci_high``, ``std``, ``n`` (seed pairs), ``n_missing`` (seeds
        without a successful pair), ``baseline_mean``, ``knockout_mean``, ``confidence``.
    """
    flags = [f"{c}.enabled" for c in classes]
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    present = [f for f in flags if f in runs.columns]
    is_base = ok[present].isna().all(axis=1) if present else pd.Series(True, index=ok.index)
    base = ok[is_base].drop_duplicates("seed").set_index("seed")
    all_seeds = pd.unique(runs["seed"])
    rows = []
    for cls, flag in zip(classes, flags, strict=True):
        if flag in ok.columns:
            off = ok[flag].map(lambda v: isinstance(v, bool | np.bool_) and not v).astype(bool)
            ko = ok[off].drop_duplicates("seed").set_index("seed")
        else:
            ko = ok.iloc[0:0].set_index("seed")
        seeds = base.index.intersection(ko.index)
        for metric in metrics:
            if metric in ok.columns:
                b = pd.to_numeric(base.loc[seeds, metric], errors="coerce").to_numpy(dtype=float)
                k = pd.to_numeric(ko.loc[seeds, metric], errors="coerce").to_numpy(dtype=float)
            else:
                b = k = np.empty(0)
            stats = paired_contribution(b, k, confidence)
            rows.append(
                {
                    "class": cls,
                    "metric": metric,
                    **stats,
                    "n_missing": len(all_seeds) - stats["n"],
                    "confidence": confidence,
                }
            )
    columns = [
        "class",
        "metric",
        "mean",
        "ci_low",
        "ci_high",
        "std",
        "n",
        "n_missing",
        "baseline_mean",
        "knockout_mean",
        "confidence",
    ]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype({"n": "int64", "n_missing": "int64"})


def _check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(classes, str):
        classes = [c for c in classes.split(",") if c.strip()]
    out = tuple(str(c).strip() for c in classes)
    if not out:
        raise SweepConfigError("no agent classes to switch off")
    for c in out:
        if not _CLASS.fullmatch(c):
            raise SweepConfigError(f"agent class {c!r} is not a scenario table name like dip_buyers")
    if len(set(out)) != len(out):
        raise SweepConfigError("agent classes repeat")
    return out


def run_attribution(
    scenario: str,
    seeds: Sequence[int],
    out_dir: str | os.PathLike[str],
    *,
    classes: Sequence[str] = DEFAULT_CLASSES,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: str | Callable[..., Any] = DEFAULT_RUNNER,
    overrides: Sequence[str] = (),
    progress: bool = True,
    retry_errors: bool = False,
    keep_series: bool = False,
    confidence: float = 0.95,
    metrics: Sequence[str] = METRICS,
    scheduler_timeout_s: float = 4.0,
    worker_timeout_s: float = 60.0,
    validate: Callable[[str, tuple[str, ...]], object] | None | str = "auto",
) -> pd.DataFrame:
    """Run the baseline and one knockout per agent class over the same seeds; attribute the move.

    Args:
        scenario: Shipped scenario name or TOML path.
        seeds: Seeds shared by every configuration (paired comparison); >= 2 for an interval.
        out_dir: Output folder (a sweep folder: resumable, refused if it holds a different sweep).
        classes: Agent classes to switch off in turn, via ``<class>.enabled=false``.
        workers: Local worker processes (a Dask ``LocalCluster``; default ``os.cpu_count()``).
        scheduler: Dask scheduler address instead of local workers.
        runner: ``"module:function"`` of the runner (see :func:`experiments.sweep.run_sweep`).
        overrides: ``dotted.key=value`` applied to every run (baseline and knockouts).
        progress: Show a progress bar on stderr.
        retry_errors: Re-run failed runs of an earlier attempt.
        keep_series: Keep each run's timeseries in ``out_dir/series/``.
        confidence: Two-sided confidence level of the intervals, in (0, 1).
        metrics: Summary metrics to attribute.
        scheduler_timeout_s: How long to try to reach the scheduler, in seconds.
        worker_timeout_s: How long a scheduler without workers may take to get one, in seconds.
        validate: Up-front check of each configuration (see :func:`experiments.sweep.run_sweep`).

    Returns:
        The attribution table (see :func:`attribution_table`), also written to
        ``attribution.parquet`` and ``attribution.csv``; ``attribution.json`` marks the folder.

    Raises:
        SweepConfigError: Before anything is written, for bad arguments (see ``run_sweep``).
    """
    classes = _check_classes(classes)
    if not 0 < confidence < 1:
        raise SweepConfigError(f"confidence must be in (0, 1), got {confidence!r}")
    metrics = tuple(metrics)
    if not metrics:
        raise SweepConfigError("no metrics to attribute")
    points: list[dict[str, Any]] = [{}] + [{f"{c}.enabled": False} for c in classes]
    design = {"kind": "attribution", "classes": list(classes)}
    runs = run_sweep(
        scenario,
        points,
        seeds,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        keep_series=keep_series,
        runner=runner,
        progress=progress,
        overrides=overrides,
        retry_errors=retry_errors,
        design=design,
        scheduler_timeout_s=scheduler_timeout_s,
        worker_timeout_s=worker_timeout_s,
        validate=validate,
    )
    table = attribution_table(runs, classes, metrics, confidence)
    table.attrs["n_skipped"] = runs.attrs.get("n_skipped", 0)
    out = Path(out_dir)
    replace_write(out / TABLE_FILE, lambda p: table.to_parquet(p, index=False))
    replace_write(out / CSV_FILE, lambda p: table.to_csv(p, index=False))
    n_ok = int((runs["status"] == "ok").sum()) if len(runs) else 0
    marker: Mapping[str, Any] = {
        "kind": "attribution",
        "scenario": scenario,
        "classes": list(classes),
        "metrics": list(metrics),
        "seeds": [int(s) for s in seeds],
        "overrides": list(overrides),
        "contribution": "baseline - class switched off, paired by seed (metric units)",
        "interval": f"Student-t, {confidence:g} two-sided",
        "runs_ok": n_ok,
        "runs_error": int(len(runs) - n_ok),
        "title": f"Flow attribution, {Path(scenario).stem}: what each agent class adds "
        f"({len(seeds)} seeds, mean and {confidence:.0%} CI, percentage points)",
        "files": [TABLE_FILE, CSV_FILE, "runs.parquet"],
        "written_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    replace_write(out / MARKER_FILE, lambda p: p.write_text(json.dumps(marker, indent=1) + "\n"))
    return table
