"""Figures over many runs: the crash-path fan chart and the phase diagram of a swept parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from experiments.plots.stats import bootstrap_median_ci, wilson_interval
from experiments.plots.style import (
    _FAN_COLORS,
    MoneyFormatter,
    _clock_axis,
    _finite,
    _money_label,
    _new_figure,
)

_MAX_PHASE_VALUES = 12
_PHASE_BINS = 8
_FAILED_STATUS = ("err", "fail", "exception", "timeout", "crash")
_METRICS = ("close_return_pct", "max_drawdown_pct")
SHAPE_METRICS = ("close_location", "rebound_share", "fall_duration_min", "steepest_30min_share",
                 "high_time_s", "low_time_s", "fall_low_time_s")  # fmt: skip
"""Path-shape metrics of ``summary.json`` (see ``experiments.metrics.path_shape_stats``)."""
METRIC_LABELS = {
    "max_drawdown_pct": "max drawdown from day's high (%)",
    "close_return_pct": "close vs prev close (%)",
    "close_location": "close location (close-low)/(high-low)",
    "rebound_share": "rebound share of the fall from the high",
    "fall_duration_min": "fall duration, high to its low (min)",
    "steepest_30min_share": "steepest 30 min / (high - close)",
    "high_time_s": "time of the high (s after 09:30 ET)",
    "low_time_s": "time of the low (s after 09:30 ET)",
    "fall_low_time_s": "time of the low after the high (s after 09:30 ET)",
}
"""Axis labels (with units) of the metrics :func:`phase_diagram` can plot; any numeric column works."""
PHASE_METRICS = ("max_drawdown_pct", "close_location", "rebound_share", "fall_duration_min",
                 "steepest_30min_share")  # fmt: skip
"""Metrics ``cascade plot`` draws a phase diagram of for each swept parameter (when present)."""


def _run_column(df: pd.DataFrame) -> str | None:
    return next((c for c in ("run_id", "seed", "run") if c in df.columns), None)


def _paths_pct(df: pd.DataFrame, prev_close: float | None) -> tuple[pd.DataFrame, str]:
    """Wide frame (index t, one column per run) in % of the reference, and the reference's name."""
    if {"t", "mid"} <= set(df.columns):
        run = _run_column(df)
        long = df.assign(_run=df[run] if run else df.groupby("t").cumcount())
        wide = long.pivot_table(index="t", columns="_run", values="mid", aggfunc="mean")
        ref_name = "prev close"
        if prev_close is not None:
            ref = pd.Series(prev_close, index=wide.columns)
        elif "prev_close" in long.columns:
            ref = long.groupby("_run")["prev_close"].first().reindex(wide.columns)
        else:
            ref, ref_name = None, "first sample"
    else:
        wide = df.set_index("t") if "t" in df.columns else df
        wide = wide.apply(pd.to_numeric, errors="coerce")
        ref, ref_name = (pd.Series(prev_close, index=wide.columns), "prev close") if prev_close else (
            None, "first sample")
    wide = wide.sort_index().interpolate(method="index", limit_area="inside")
    if ref is None:
        ref = wide.apply(lambda col: col.dropna().iloc[0] if col.notna().any() else np.nan)
    return (wide / ref - 1.0) * 100.0, ref_name


def _fan_bands(ax: Axes, pct: pd.DataFrame, color: str, outline_outer: bool) -> tuple[float, float]:
    """Median, 25-75% fill and 5-95% band (fill, or dashed edges when many labels share the axes)."""
    t = pct.index.to_numpy(dtype=float)
    q = np.nanquantile(pct.to_numpy(dtype=float), [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    if outline_outer:
        ax.plot(t, q[0], color=color, lw=0.8, ls="--", alpha=0.8)
        ax.plot(t, q[4], color=color, lw=0.8, ls="--", alpha=0.8)
        ax.fill_between(t, q[1], q[3], color=color, alpha=0.2, lw=0)
    else:
        ax.fill_between(t, q[0], q[4], color=color, alpha=0.13, lw=0)
        ax.fill_between(t, q[1], q[3], color=color, alpha=0.28, lw=0)
    ax.plot(t, q[2], color=color, lw=2.2, gid="median")
    return float(t.min()), float(t.max())


def fan_chart(
    paths: Mapping[str, pd.DataFrame],
    prev_close: float | Mapping[str, float] | None = None,
    title: str | None = None,
    legend_title: str | None = None,
) -> Figure:
    """Quantile bands of the price path across seeds, one colour per label (swept value).

    Args:
        paths: label -> either a long frame with ``t`` (seconds from 09:30 ET) and ``mid`` (index
            points), one path per ``run_id``/``seed``/``run`` value (optionally a per-run
            ``prev_close`` column), or a wide frame indexed by ``t`` with one column per run.
        prev_close: reference price in index points (one for all labels or one per label). When
            absent, a ``prev_close`` column is used, else each path's first sample.
        title: figure title; a default names the bands.
        legend_title: heading of the legend, e.g. the swept parameter's name.

    Returns:
        Figure with, per label, the median line, the 25-75% band and the 5-95% band (filled for up
        to two labels, dashed edges beyond) of the price in % of the previous close, against ET
        clock time.
    """
    if not paths:
        raise ValueError("fan_chart needs at least one label -> paths frame")
    fig = _new_figure(6.2)
    ax = fig.subplots()
    outline = len(paths) > 2
    handles, t_lo, t_hi, ref_names = [], math.inf, -math.inf, set()
    for i, (label, df) in enumerate(paths.items()):
        ref = prev_close.get(label) if isinstance(prev_close, Mapping) else prev_close
        pct, ref_name = _paths_pct(df, ref)
        ref_names.add(ref_name)
        color = _FAN_COLORS[i % len(_FAN_COLORS)]
        lo, hi = _fan_bands(ax, pct, color, outline)
        handles.append(Line2D([], [], color=color, lw=2.2, label=f"{label}  (n={pct.shape[1]})"))
        t_lo, t_hi = min(t_lo, lo), max(t_hi, hi)
    ax.axhline(0.0, color="0.3", lw=0.9, ls="--")
    handles += [Line2D([], [], color="0.3", lw=2.2, label="median"),
                Patch(color="0.5", alpha=0.4, label="25-75%"),
                Line2D([], [], color="0.4", lw=0.8, ls="--", label="5-95%") if outline
                else Patch(color="0.5", alpha=0.18, label="5-95%")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False,
              title=legend_title, title_fontsize=8.5)
    _clock_axis(ax, t_lo, t_hi)
    ref_label = "prev close" if ref_names == {"prev close"} else "reference (prev close or first sample)"
    ax.set_ylabel(f"S&P 500 vs {ref_label} (%)")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _p: f"{v:+.1f}%"))
    ax.grid(alpha=0.25)
    fig.suptitle(title or "Crash-path fan: median, 25-75% and 5-95% of the price path across seeds",
                 fontsize=12, fontweight="bold")
    return fig


# ------------------------------------------------------------------------------- phase diagram

def _ok_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Runs with finite metrics, and how many were dropped as failed."""
    ok = np.ones(len(runs), dtype=bool)
    if "status" in runs.columns:
        status = runs["status"].astype(str).str.lower()
        ok &= ~status.str.startswith(_FAILED_STATUS).to_numpy()
    for metric in _METRICS:
        if metric in runs.columns:
            ok &= np.isfinite(pd.to_numeric(runs[metric], errors="coerce").to_numpy(dtype=float))
    return runs[ok], int((~ok).sum())


def _x_scale(ax: Axes, values: np.ndarray, param: str) -> None:
    """Log x (symlog when 0 is included) when positive values span >= 2 decades; $ labels for *usd*."""
    positive = values[values > 0]
    if positive.size >= 2 and positive.max() / positive.min() >= 100 and np.all(values >= 0):
        if np.any(values == 0):
            ax.set_xscale("symlog", linthresh=float(positive.min()), linscale=0.5)
        else:
            ax.set_xscale("log")
    if "usd" in param.lower():
        ax.xaxis.set_major_formatter(MoneyFormatter())
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _value_label(param: str, value: Any) -> str:
    """``param = value`` with dollar formatting for *usd* parameters."""
    shown = _money_label(float(value)) if "usd" in param.lower() else f"{value:g}" if isinstance(
        value, float) else str(value)
    return f"{param} = {shown}"


def _param_label(param: str) -> str:
    lower = param.lower()
    unit = " ($)" if "usd" in lower else " (%)" if lower.endswith("pct") else ""
    return param + unit


def _phase_x(values: pd.Series) -> tuple[pd.Series, list[str] | None, str]:
    """Numeric x per run, category labels (or None) and a note for the title.

    Numbers stay as they are; more than 12 distinct numbers (a random or Latin-hypercube design) are
    binned into up to 8 quantile bins, each shown at its median; text and booleans become category
    positions 0, 1, ... in sorted order.
    """
    present = values.dropna()
    numeric = pd.to_numeric(values, errors="coerce")
    is_bool = len(present) > 0 and bool(present.map(lambda v: isinstance(v, bool | np.bool_)).all())
    if is_bool or numeric[values.notna()].isna().any():
        cats = sorted(present.astype(str).unique())
        position = {c: float(i) for i, c in enumerate(cats)}
        x = values.map(lambda v: position.get(str(v), np.nan) if v is not None and v == v else np.nan)
        return x.astype(float), cats, ""
    if numeric.nunique() <= _MAX_PHASE_VALUES:
        return numeric, None, ""
    edges = np.unique(np.quantile(numeric.dropna(), np.linspace(0, 1, _PHASE_BINS + 1)))
    bins = pd.Series(np.clip(np.searchsorted(edges, numeric, side="right") - 1, 0, edges.size - 2),
                     index=values.index).where(numeric.notna())
    centre = numeric.groupby(bins).median()
    return bins.map(centre), None, f"  ·  {centre.size} quantile bins (x = bin median)"


def _phase_stats(
    runs: pd.DataFrame,
    x_col: str,
    close_below_pct: float,
    rng: np.random.Generator,
    metric: str = "max_drawdown_pct",
) -> pd.DataFrame:
    """Per parameter value: n, P(close below) with Wilson bounds, median ``metric`` with bootstrap band."""
    rows = []
    for value, group in runs.groupby(x_col, sort=True):
        close = _finite(group["close_return_pct"]) if "close_return_pct" in group else np.array([])
        k, n = int(np.sum(close < close_below_pct)), int(close.size)
        lo, hi = wilson_interval(k, n)
        dd = _finite(pd.to_numeric(group[metric], errors="coerce")) if metric in group else np.array([])
        dd_lo, dd_hi = bootstrap_median_ci(dd, rng)
        rows.append({"x": float(value), "n": n, "p": k / n if n else math.nan, "p_lo": lo, "p_hi": hi,
                     "dd": float(np.median(dd)) if dd.size else math.nan, "dd_lo": dd_lo, "dd_hi": dd_hi})
    return pd.DataFrame(rows)


def _phase_lines(
    ax_p: Axes, ax_d: Axes, stats: pd.DataFrame, color: str, label: str | None, band_alpha: float = 0.2
) -> Any:
    """Probability with Wilson whiskers (returns the errorbar container) and median drawdown band."""
    err = np.clip(np.vstack([stats["p"] - stats["p_lo"], stats["p_hi"] - stats["p"]]) * 100, 0, None)
    container = ax_p.errorbar(stats["x"], stats["p"] * 100, yerr=err, color=color, marker="o", ms=5,
                              capsize=3, lw=1.5, label=label)
    ax_d.fill_between(stats["x"], stats["dd_lo"], stats["dd_hi"], color=color, alpha=band_alpha, lw=0)
    ax_d.plot(stats["x"], stats["dd"], color=color, marker="o", ms=5, lw=1.5, label=label)
    return container


def phase_diagram(
    runs: pd.DataFrame,
    param: str,
    close_below_pct: float = 0.0,
    by: str | None = None,
    seed: int = 0,
    metric: str = "max_drawdown_pct",
) -> Figure:
    """Swept parameter against crash probability and the median of a summary metric.

    Args:
        runs: ``runs.parquet`` of a sweep: the parameter column, ``close_return_pct`` and
            ``max_drawdown_pct`` (in %), optionally ``status`` (failed runs are left out and counted).
        param: the swept column (dotted key), e.g. ``dip_buyers.capital_usd``.
        close_below_pct: level, in % of the previous close, that a close "below" is counted against.
        by: optional second parameter: one line per value of it instead of pooling over it.
        seed: seed of the bootstrap generator (the figure is reproducible).
        metric: the summary column of the right panel: ``max_drawdown_pct`` (default) or any numeric
            column, e.g. a path-shape metric (:data:`PHASE_METRICS`, labels in :data:`METRIC_LABELS`);
            runs where it is NaN are left out of its median only.

    Returns:
        Figure with two panels over ``param`` (log x when its positive values span >= 2 decades):
        the probability of closing below the level with Wilson 95% intervals, and the median of
        ``metric`` (max drawdown in % by default) with a bootstrap 95% band.
    """
    if param not in runs.columns:
        raise ValueError(f"runs has no column {param!r}; columns: {sorted(map(str, runs.columns))}")
    if metric not in runs.columns:
        raise ValueError(f"runs has no metric column {metric!r}; columns: {sorted(map(str, runs.columns))}")
    ok, failed = _ok_runs(runs)
    x, categories, note = _phase_x(ok[param])
    ok = ok.assign(_x=x).dropna(subset=["_x"])
    rng = np.random.default_rng(seed)
    fig = _new_figure(5.0)
    ax_p, ax_d = fig.subplots(1, 2)
    groups = list(ok.groupby(by, sort=True)) if by and by in ok.columns else [(None, ok)]
    bars = []
    for i, (key, group) in enumerate(groups):
        stats = _phase_stats(group, "_x", close_below_pct, rng, metric)
        if not stats.empty:
            label = _value_label(str(by), key) if key is not None else None
            alpha = 0.2 if len(groups) <= 2 else 0.1
            bars.append(_phase_lines(ax_p, ax_d, stats, _FAN_COLORS[i % len(_FAN_COLORS)], label, alpha))
    for ax in (ax_p, ax_d):
        if categories is not None:
            ax.set_xticks(range(len(categories)), categories)
            ax.set_xlim(-0.5, len(categories) - 0.5)
        else:
            _x_scale(ax, ok["_x"].to_numpy(dtype=float), param)
        ax.set_xlabel(_param_label(param))
        ax.grid(alpha=0.25)
    for i, container in enumerate(bars):  # side by side, after autoscaling (offsets are in inches)
        dodge = offset_copy(ax_p.transData, fig=fig, x=0.06 * (i - (len(bars) - 1) / 2), units="inches")
        for artist in container.get_children():
            artist.set_transform(dodge)
    ax_p.set_ylim(-3, 103)
    level = "prev close" if close_below_pct == 0 else f"{close_below_pct:+.2f}% vs prev close"
    ax_p.set_ylabel(f"P(close below {level}) (%)")
    ax_p.set_title("probability with Wilson 95% interval", fontsize=9.5, loc="left")
    ax_d.set_ylabel(f"median {METRIC_LABELS.get(metric, metric)}")
    ax_d.set_title("median with bootstrap 95% band", fontsize=9.5, loc="left")
    if by and len(groups) > 1:
        ax_d.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    counts = ok.groupby("_x").size()
    n_text = "no runs" if counts.empty else f"{counts.min()}" if counts.min() == counts.max() else \
        f"{counts.min()}-{counts.max()}"
    extra = f"  ·  {failed} failed run(s) left out" if failed else ""
    what = "" if metric == "max_drawdown_pct" else f"  ·  {metric}"
    fig.suptitle(f"Phase diagram over {param}{what}  ·  {n_text} runs per value{note}{extra}", fontsize=12,
                 fontweight="bold")
    return fig


# ----------------------------------------------------------------------------------- waterfall
