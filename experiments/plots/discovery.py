"""Finding what a directory on disk holds (run, sweep or attribution) and writing its figures.

``runs.parquet`` is data, not trusted paths: series files are opened only when their run id is a
plain name and the file lies directly inside ``DIR/series/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from experiments.plots.attribution import waterfall
from experiments.plots.run_figures import gex_profile, run_dashboard
from experiments.plots.style import _FAN_COLORS, CLASS_NAMES, DPI
from experiments.plots.sweep_figures import PHASE_METRICS, _ok_runs, _value_label, fan_chart, phase_diagram


def _read_json(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def _read_optional(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def _dir_kind(d: Path) -> str | None:
    """The kind of folder: 'attribution', 'sweep', 'run' or None.

    An attribution folder is also a sweep folder (its runs are the baseline and the knockouts), so
    the attribution table wins, then the sweep's runs table.
    """
    if (d / "attribution.parquet").is_file():
        return "attribution"
    if (d / "runs.parquet").is_file():
        return "sweep"
    if (d / "summary.json").is_file() and (d / "timeseries.parquet").is_file():
        return "run"
    return None


def _save(fig: Figure, out: Path, name: str, formats: Sequence[str]) -> list[Path]:
    written = []
    for fmt in formats:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=DPI)
        written.append(path)
    return written


def _run_figures(d: Path) -> Iterable[tuple[str, Figure]]:
    summary = _read_json(d / "summary.json")
    ts = pd.read_parquet(d / "timeseries.parquet")
    trades, depth = _read_optional(d / "trades.parquet"), _read_optional(d / "depth.parquet")
    yield "dashboard", run_dashboard(ts, summary, trades=trades, depth=depth)
    gex = _read_optional(d / "gex.parquet")
    if gex is not None and not gex.empty:
        yield "gex", gex_profile(gex, summary)


def _swept_params(d: Path, runs: pd.DataFrame) -> list[str]:
    """Swept parameters: as ``sweep.json`` declares them (grid/params), else dotted-key columns."""
    meta = _read_json(d / "sweep.json") if (d / "sweep.json").is_file() else {}
    declared: list[str] = []
    for key in ("grid", "params", "parameters"):
        value = meta.get(key)
        if isinstance(value, Mapping):
            declared += [str(k) for k in value]
        elif isinstance(value, list):  # ["key=v1,v2", ...] as given on the command line, or plain keys
            declared += [k.split("=", 1)[0].strip() for k in value if isinstance(k, str)]
    params = [c for c in dict.fromkeys(declared) if c in runs.columns and runs[c].nunique() >= 2]
    if params:
        return params
    n = len(runs)
    return [c for c in runs.columns if "." in str(c) and 2 <= runs[c].nunique() <= min(20, max(n - 1, 2))]


_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")


def _series_file(series_dir: Path, run_id: object) -> Path | None:
    """``series_dir/<run_id>.parquet`` if it is safe to open, else None.

    ``runs.parquet`` is data, not trusted paths: ``run_id`` must be a plain name and the file, links
    resolved, a regular file directly inside ``series_dir``.
    """
    if isinstance(run_id, int | np.integer) and not isinstance(run_id, bool):
        run_id = str(int(run_id))
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        return None
    path = (series_dir / f"{run_id}.parquet").resolve()
    if path.parent != series_dir or not path.is_file():
        return None
    return path


def _series_paths(d: Path, runs: pd.DataFrame, labels: pd.Series) -> dict[str, pd.DataFrame]:
    """Label -> long frame of its runs' (t, mid, run_id, prev_close) read from ``DIR/series/``.

    ``labels`` gives each run's label (same index as ``runs``); runs without a series file are skipped.
    """
    if "run_id" not in runs.columns or not (d / "series").is_dir():
        return {}
    series_dir = (d / "series").resolve()
    paths = {}
    for label, group in runs.groupby(labels, sort=False):
        frames = []
        for row in group.itertuples(index=False):
            path = _series_file(series_dir, row.run_id)
            if path is None:
                continue
            frame = pd.read_parquet(path, columns=["t", "mid"]).assign(run_id=str(row.run_id))
            if "prev_close" in group.columns:
                frame["prev_close"] = float(row.prev_close)
            frames.append(frame)
        if frames:
            paths[str(label)] = pd.concat(frames, ignore_index=True)
    return paths


def _sweep_figures(d: Path) -> Iterable[tuple[str, Figure]]:
    runs_all = pd.read_parquet(d / "runs.parquet")
    runs, _ = _ok_runs(runs_all)
    params = _swept_params(d, runs_all)
    fan_param = next((p for p in params if runs[p].nunique() <= len(_FAN_COLORS)), None)
    if fan_param:
        x = pd.to_numeric(runs[fan_param], errors="coerce")
        order = runs.assign(_k=x if x.notna().all() else runs[fan_param].astype(str)).sort_values("_k").index
        runs = runs.loc[order]
        labels = runs[fan_param].map(lambda v: _value_label(fan_param, v).split(" = ", 1)[1])
    else:
        labels = pd.Series("all runs", index=runs.index)
    paths = _series_paths(d, runs, labels)
    if paths:
        yield "fan", fan_chart(paths, legend_title=fan_param)
    for param in params:
        others = [p for p in params if p != param]
        by = others[0] if len(others) == 1 and runs_all[others[0]].nunique() <= len(_FAN_COLORS) else None
        yield f"phase_{param}", phase_diagram(runs_all, param, by=by)
        for metric in PHASE_METRICS[1:]:
            if metric in runs_all.columns and pd.to_numeric(runs_all[metric], errors="coerce").notna().any():
                yield f"phase_{param}_{metric}", phase_diagram(runs_all, param, by=by, metric=metric)


def _configuration(row: pd.Series, flags: Sequence[str]) -> str:
    """'baseline', or 'without <class>' for the first ``<class>.enabled`` flag set to false."""
    for flag in flags:
        value = row[flag]
        if isinstance(value, bool | np.bool_) and not value:
            cls = flag.removesuffix(".enabled")
            return f"without {CLASS_NAMES.get(cls, cls)}"
    return "baseline"


def _attribution_figures(d: Path) -> Iterable[tuple[str, Figure]]:
    meta = _read_json(d / "attribution.json") if (d / "attribution.json").is_file() else {}
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    yield "waterfall", waterfall(pd.read_parquet(d / "attribution.parquet"), title=title)
    if (d / "runs.parquet").is_file() and (d / "series").is_dir():
        runs, _ = _ok_runs(pd.read_parquet(d / "runs.parquet"))
        flags = [c for c in runs.columns if str(c).endswith(".enabled")]
        labels = runs.apply(_configuration, axis=1, flags=flags) if len(runs) else pd.Series(dtype=str)
        paths = _series_paths(d, runs, labels)
        if paths:
            yield "fan", fan_chart(paths, title="Price path with each agent class switched off in turn",
                                   legend_title="configuration")


def plot_dir(path: str | Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the figures of a run, sweep or attribution directory into ``DIR/plots/``.

    A run directory (``summary.json`` + ``timeseries.parquet``) gives ``dashboard`` and, with
    ``gex.parquet``, ``gex``; a sweep directory (``runs.parquet``, marked by ``sweep.json``) gives
    ``fan`` (when ``series/<run_id>.parquet`` exist; one colour per value of the first swept
    parameter with at most 8 values) and ``phase_<param>`` per swept parameter (max drawdown) plus
    ``phase_<param>_<metric>`` for the path-shape metrics of :data:`PHASE_METRICS`; an attribution
    directory (``attribution.parquet``; it is also a sweep folder) gives ``waterfall`` and, when
    its runs kept their series, ``fan`` (baseline vs each class switched off).

    Args:
        path: the directory.
        formats: file formats matplotlib can write, e.g. ``("png", "svg")``.

    Returns:
        The written files, in order.

    Raises:
        ValueError: if ``path`` is not a directory of any of these kinds, or a format is unknown.
    """
    d = Path(path)
    kind = _dir_kind(d) if d.is_dir() else None
    if kind is None:
        raise ValueError(
            f"{d} is not a run (summary.json + timeseries.parquet), sweep (runs.parquet) or attribution "
            "(attribution.parquet) directory"
        )
    supported = Figure().canvas.get_supported_filetypes()
    unknown = [f for f in formats if f not in supported]
    if unknown:
        raise ValueError(f"unknown figure format(s) {unknown}; supported: {sorted(supported)}")
    out = d / "plots"
    out.mkdir(exist_ok=True)
    makers = {"run": _run_figures, "sweep": _sweep_figures, "attribution": _attribution_figures}
    written: list[Path] = []
    for name, fig in makers[kind](d):
        written += _save(fig, out, name, formats)
    return written
