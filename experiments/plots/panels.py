"""Figures for run, sweep and attribution directories.

Every function here only reads DataFrames and dicts (the output contract of a run directory, see
``ARCHITECTURE.md``) and returns a :class:`matplotlib.figure.Figure`; nothing runs a simulation.
Figures are built on :class:`~matplotlib.figure.Figure` directly (no ``pyplot`` state), so the module
works under any backend, including ``Agg``, and never needs ``plt.close``.

Units: prices in index points, times in seconds from the 09:30 ET open (``t``, shown as ET clock
time HH:MM), quantities in contracts, dealer gamma in $ per 1% move (shown in $bn or $m), implied
volatility in vol points, returns and drawdowns in % of the previous close.

Public API:
    run_dashboard, gex_profile, fan_chart, phase_diagram, waterfall: one figure each.
    plot_dir: detect a run, sweep or attribution directory and write its figures to ``DIR/plots/``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

__all__ = [
    "CLASS_COLORS",
    "DASHBOARD_PANELS",
    "DPI",
    "bootstrap_median_ci",
    "clock_label",
    "fan_chart",
    "gex_profile",
    "phase_diagram",
    "plot_dir",
    "run_dashboard",
    "waterfall",
    "wilson_interval",
]

DPI = 130
"""Resolution of written raster figures (dots per inch)."""
FIG_WIDTH_IN = 13.5
OPEN_ET_S = 9 * 3600 + 30 * 60
"""09:30 ET in seconds after midnight; ``t = 0`` in every series."""
TICK_SIZE = 0.25
"""E-mini tick in index points; only a fallback when depth prices do not reveal it."""

CLASSES = ("dealers", "cta", "hedgers", "dip_buyers", "background")
CLASS_COLORS = {
    "dealers": "#d62728",
    "cta": "#ff7f0e",
    "hedgers": "#9467bd",
    "dip_buyers": "#2ca02c",
    "background": "#7f7f7f",
}
"""One colour per agent class, shared by the dashboard's flow panel and the waterfall."""
CLASS_NAMES = {
    "dealers": "option dealers",
    "cta": "CTAs",
    "hedgers": "put-buying hedgers",
    "dip_buyers": "dip buyers",
    "background": "background flow",
}

DASHBOARD_PANELS = ("price", "depth", "dealers", "cta", "dip_buyers", "iv", "flows", "split")
"""Stacked dashboard panels, top to bottom; the dealer panel adds a twin axis (hedge, contracts)."""
_PANEL_HEIGHTS = (3.4, 1.7, 1.4, 1.0, 1.0, 1.0, 1.5, 1.5)
SPLIT_STYLES = {
    "dealer_flow_gamma": ("dealers: gamma (spot)", {"color": "#d62728", "lw": 1.5}),
    "dealer_flow_vanna": ("dealers: vanna (IV)", {"color": "#9467bd", "lw": 1.5}),
    "dealer_flow_charm": ("dealers: charm (time)", {"color": "#8c564b", "lw": 1.5}),
    "dealer_flow_oi": ("dealers: new open interest", {"color": "#1f77b4", "lw": 1.5}),
    "dealer_flow_other": ("dealers: other (expiries)", {"color": "0.55", "lw": 1.0}),
    "cta_flow_signal": ("CTAs: signal", {"color": "#ff7f0e", "lw": 1.3, "ls": "--"}),
    "cta_flow_vol": ("CTAs: vol targeting", {"color": "#ff7f0e", "lw": 1.0, "ls": ":"}),
}
"""Lines of the dashboard's ``split`` panel: column -> (legend label, line style)."""

_LEVEL_STYLE = {
    "prev close": {"color": "0.35", "ls": "--", "lw": 1.1},
    "open": {"color": "#1f77b4", "ls": "-", "lw": 0.9},
    "support": {"color": "#2ca02c", "ls": ":", "lw": 1.5},
    "CTA trigger": {"color": "#ff7f0e", "ls": "-.", "lw": 1.2},
    "gamma flip": {"color": "#9467bd", "ls": "--", "lw": 1.3},
}
_EVENT_COLOR = "0.45"
_BUY_COLOR, _SELL_COLOR = "#2ca02c", "#d62728"
_FAN_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
_MAX_TRADE_DOTS = 20_000
_MAX_HEATMAP_COLUMNS = 800
_MAX_HEATMAP_ROWS = 40
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


# --------------------------------------------------------------------------------------- helpers


def _new_figure(height_in: float, width_in: float = FIG_WIDTH_IN) -> Figure:
    """A figure with constrained layout (legends and labels outside the axes get room)."""
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def clock_label(t_s: float, _pos: Any = None) -> str:
    """ET clock time ``HH:MM`` of ``t_s`` seconds from the 09:30 open (negative = pre-open)."""
    minutes = int(round((OPEN_ET_S + float(t_s)) / 60.0)) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_CLOCK_STEPS_S = {60: 15, 120: 30, 300: 60, 600: 300, 900: 300, 1800: 600, 3600: 900, 7200: 1800}


def _clock_axis(ax: Axes, t0: float, t1: float, label: bool = True, minor: bool = True) -> None:
    """ET clock ticks (multiples of a round step counted from 09:30) on the x axis of ``ax``.

    ``minor=False`` leaves out the minor ticks: on the 8 shared axes of the dashboard they cost
    about 0.8 s per saved file.
    """
    span = max(float(t1) - float(t0), 1.0)
    step = next((s for s in _CLOCK_STEPS_S if span / s <= 14), 7200)
    ax.xaxis.set_major_locator(ticker.MultipleLocator(step))
    minor_locator = ticker.MultipleLocator(_CLOCK_STEPS_S[step]) if minor else ticker.NullLocator()
    ax.xaxis.set_minor_locator(minor_locator)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(clock_label))
    ax.set_xlim(t0, t1)
    if label:
        ax.set_xlabel("time (ET)")


def _finite(values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def _column(df: pd.DataFrame | None, name: str) -> np.ndarray | None:
    """The column as floats, or ``None`` if absent, all NaN or all zero (agent class switched off)."""
    if df is None or name not in df.columns:
        return None
    arr = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
    vals = _finite(arr)
    if vals.size == 0 or not np.any(vals != 0.0):
        return None
    return arr


def _money_scale(values: Any) -> tuple[float, str]:
    """Divisor and unit ('$bn', '$m' or '$') that keep dollar amounts readable."""
    vals = _finite(values)
    peak = float(np.max(np.abs(vals))) if vals.size else 0.0
    if peak >= 1e9:
        return 1e9, "$bn"
    if peak >= 1e6:
        return 1e6, "$m"
    return 1.0, "$"


def _money_label(x: float, _pos: Any = None) -> str:
    """Dollar tick label with k/m/bn suffix, e.g. ``$2.5bn``."""
    ax_ = abs(x)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if ax_ >= div:
            return f"${x / div:g}{suffix}"
    return f"${x:g}"


def _thousands(ax: Axes, decimals: int = 0) -> None:
    ax.yaxis.set_major_formatter(ticker.StrMethodFormatter(f"{{x:,.{decimals}f}}"))


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.5", fontsize=9)
    ax.set_yticks([])


def _num(summary: Mapping[str, Any], key: str) -> float | None:
    """A finite number from ``summary`` or ``None``."""
    try:
        value = float(summary.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt_pct(value: float | None, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}%" if signed else f"{value:.2f}%"


def _markers(summary: Mapping[str, Any]) -> dict[str, Any]:
    markers = summary.get("markers") or {}
    return dict(markers) if isinstance(markers, Mapping) else {}


def _levels(summary: Mapping[str, Any], with_open: bool = False) -> list[tuple[float, str]]:
    """Horizontal reference levels ``(index points, kind)`` from a run summary."""
    markers = _markers(summary)
    out: list[tuple[float, str]] = []
    for key, kind in (("prev_close", "prev close"), ("open", "open")):
        value = _num(summary, key)
        if value is not None and (kind == "prev close" or with_open):
            out.append((value, kind))
    for key, kind in (("supports", "support"), ("cta_triggers", "CTA trigger")):
        out.extend((float(v), kind) for v in _finite(markers.get(key) or []))
    flip = markers.get("gamma_flip")
    if flip is not None and np.isfinite(float(flip)):
        out.append((float(flip), "gamma flip"))
    return out


CTA_TRIGGER_GROUP_PCT = 0.4  # CTA triggers closer than this (% of the level) share one label


def _grouped_labels(
    shown: Sequence[tuple[float, str]], prev_close: float | None
) -> list[tuple[float, str, str]]:
    """``(level, kind, text)`` per label, sorted by level.

    CTA triggers (one per CTA and lookback) that lie within ``CTA_TRIGGER_GROUP_PCT`` of each other
    share one label with their count and range.
    """
    out: list[tuple[float, str, str]] = []
    group: list[float] = []

    def flush() -> None:
        if len(group) == 1:
            out.append((group[0], "CTA trigger", _level_text(group[0], "CTA trigger", prev_close)))
        elif group:
            mid = float(np.median(group))
            text = f"{len(group)} CTA triggers {min(group):,.0f}-{max(group):,.0f}"
            if prev_close:
                lo_pct, hi_pct = ((x / prev_close - 1) * 100 for x in (min(group), max(group)))
                text += f" ({lo_pct:+.1f}..{hi_pct:+.1f}%)"
            out.append((mid, "CTA trigger", text))
        group.clear()

    for level, kind in sorted(shown):
        if kind == "CTA trigger":
            if group and level - group[-1] > CTA_TRIGGER_GROUP_PCT / 100 * level:
                flush()
            group.append(level)
            continue
        out.append((level, kind, _level_text(level, kind, prev_close)))
    flush()
    return sorted(out, key=lambda x: x[0])


def _level_text(level: float, kind: str, prev_close: float | None) -> str:
    text = f"{kind} {level:,.0f}" if kind != "prev close" else f"prev close {level:,.2f}"
    if prev_close and kind != "prev close":
        text += f" ({(level / prev_close - 1.0) * 100:+.1f}%)"
    return text


def _spread_positions(pos: Sequence[float], gap: float, lo: float = 0.0, hi: float = 1.0) -> list[float]:
    """Push sorted positions apart by at least ``gap`` while keeping them inside ``[lo, hi]``."""
    order = np.argsort(pos)
    out = np.asarray(pos, dtype=float)[order].copy()
    for i in range(1, out.size):
        out[i] = max(out[i], out[i - 1] + gap)
    if out.size and out[-1] > hi:
        out -= out[-1] - hi
        for i in range(out.size - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    result = np.empty_like(out)
    result[order] = np.maximum(out, lo - gap * out.size)
    return result.tolist()


def _stagger_above(ax: Axes, xs: Sequence[float], texts: Sequence[str], colors: Sequence[str]) -> int:
    """Write labels just above ``ax`` at data x positions, in as many rows as needed; returns rows."""
    x0, x1 = ax.get_xlim()
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    char_frac = 8 * 0.55 / 72 / max(width_in, 1e-6)
    row_end: list[float] = []
    for x, text, color in sorted(zip(xs, texts, colors, strict=True), key=lambda item: item[0]):
        start = (x - x0) / (x1 - x0)
        end = start + len(text) * char_frac
        row = next((r for r, last in enumerate(row_end) if start > last + 0.01), len(row_end))
        if row == len(row_end):
            row_end.append(end)
        row_end[row] = end
        ax.annotate(
            text, xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 3 + 11 * row),
            textcoords="offset points", fontsize=8, color=color, ha="left", va="bottom",
            annotation_clip=False, zorder=10 - row,  # lower rows hide the connectors of higher ones
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none"},
            arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "relpos": (0.0, 0.0),
                        "shrinkA": 0, "shrinkB": 0},
        )
    return len(row_end)


# ----------------------------------------------------------------------------------- dashboard


def _price_window(ts: pd.DataFrame, trades: pd.DataFrame | None, prev_close: float | None) -> tuple:
    prices = [_finite(ts["mid"])]
    if trades is not None and "price" in trades.columns:
        prices.append(_finite(trades["price"]))
    if prev_close is not None:
        prices.append(np.array([prev_close]))
    allp = np.concatenate(prices)
    if allp.size == 0:
        return 0.0, 1.0
    lo, hi = float(np.min(allp)), float(np.max(allp))
    pad = max(0.08 * (hi - lo), 0.001 * abs(hi) if hi else 1.0)
    return lo - pad, hi + pad


def _draw_trades(ax: Axes, trades: pd.DataFrame) -> None:
    """Trades as faint dots (green buyer-initiated, red seller-initiated), at most 20k of them."""
    if not {"time_s", "price"} <= set(trades.columns) or trades.empty:
        return
    stride = max(1, int(math.ceil(len(trades) / _MAX_TRADE_DOTS)))
    sub = trades.iloc[::stride]
    side = sub["side"].to_numpy() if "side" in sub.columns else np.ones(len(sub))
    color = np.where(side > 0, _BUY_COLOR, _SELL_COLOR)
    ax.scatter(sub["time_s"], sub["price"], s=3, c=color, alpha=0.25, lw=0, rasterized=True, zorder=1)


def _draw_levels(ax: Axes, summary: Mapping[str, Any], window: tuple[float, float]) -> list[str]:
    """Horizontal level lines with labels in the right margin; returns labels of off-scale levels."""
    prev_close = _num(summary, "prev_close")
    lo, hi = window
    reach = 0.35 * (hi - lo)
    shown, off = [], []
    for level, kind in _levels(summary):
        if lo - reach <= level <= hi + reach:
            shown.append((level, kind))
        else:
            off.append(f"{kind} {level:,.0f}")
    if shown:
        lo = min(lo, min(v for v, _ in shown) - 0.03 * (hi - lo))
        hi = max(hi, max(v for v, _ in shown) + 0.03 * (hi - lo))
    ax.set_ylim(lo, hi)
    for level, kind in shown:
        ax.axhline(level, zorder=2, label=f"_{kind}", gid=kind, **_LEVEL_STYLE[kind])
    labels = _grouped_labels(shown, prev_close)
    fracs = [(v - lo) / (hi - lo) for v, _, _ in labels]
    for (_, kind, text), frac, y in zip(labels, fracs, _spread_positions(fracs, 0.045), strict=True):
        color = _LEVEL_STYLE[kind]["color"]
        ax.annotate(
            text, xy=(1.0, frac), xycoords="axes fraction",
            xytext=(1.015, y), textcoords="axes fraction", fontsize=8, color=color, va="center",
            arrowprops={"arrowstyle": "-", "color": color, "lw": 0.6, "shrinkA": 0, "shrinkB": 0},
            annotation_clip=False,
        )
    return off


def _events(summary: Mapping[str, Any]) -> list[tuple[float, str]]:
    out = []
    for event in _markers(summary).get("events") or []:
        try:
            out.append((float(event["t"]), str(event.get("label", ""))))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _price_panel(
    ax: Axes, ts: pd.DataFrame, summary: Mapping[str, Any], trades: pd.DataFrame | None, t_range: tuple
) -> None:
    prev_close = _num(summary, "prev_close")
    window = _price_window(ts, trades, prev_close)
    if trades is not None:
        _draw_trades(ax, trades)
    ax.plot(ts["t"], ts["mid"], color="black", lw=1.2, zorder=3)
    off = _draw_levels(ax, summary, window)
    ax.set_ylabel("S&P 500 mid\n(index points)")
    _thousands(ax)
    ax.grid(alpha=0.25)
    events = [(t, lab) for t, lab in _events(summary) if t_range[0] <= t <= t_range[1]]
    early = [f"{clock_label(t)} {lab}" for t, lab in _events(summary) if t < t_range[0]]
    ax.set_xlim(*t_range)
    texts = [f"{clock_label(t)} {lab}" for t, lab in events]
    rows = _stagger_above(ax, [t for t, _ in events], texts, [_EVENT_COLOR] * len(events))
    ohlc = {k: _num(summary, k) for k in ("open", "high", "low", "close")}
    parts = [f"{k} {v:,.2f}" for k, v in ohlc.items() if v is not None]
    note = "  ·  ".join(parts) + " (index points)"
    if trades is not None:
        note += "  ·  dots: trades (green buyer-, red seller-initiated)"
    if early:
        note += "\nbefore the window: " + "; ".join(early)
    if off:
        note += ("\n" if not early else "  ·  ") + "off scale: " + ", ".join(off)
    ax.set_title(note, loc="left", fontsize=8.5, color="0.25", pad=6 + 11 * rows)


def _depth_grid(depth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time edges (s), distance-from-mid edges (index points) and mean contracts per cell."""
    df = depth[["t", "price", "side", "qty"]].dropna()
    best_bid = df[df["side"] > 0].groupby("t")["price"].max()
    best_ask = df[df["side"] < 0].groupby("t")["price"].min()
    mid = ((best_bid + best_ask) / 2).reindex(best_bid.index.union(best_ask.index))
    mid = mid.fillna(best_bid).fillna(best_ask)
    prices = np.unique(df["price"].to_numpy(dtype=float))
    steps = np.diff(prices)
    tick = round(float(np.min(steps[steps > 1e-6])), 6) if np.any(steps > 1e-6) else TICK_SIZE
    rows = np.floor((df["price"].to_numpy() - mid.reindex(df["t"]).to_numpy()) / tick + 1e-9).astype(int)
    reach = int(min(np.nanpercentile(np.abs(rows + 0.5), 99) + 1, _MAX_HEATMAP_ROWS)) if rows.size else 1
    times = np.sort(df["t"].unique())
    n_cols = min(times.size, _MAX_HEATMAP_COLUMNS)
    if times.size > 1:
        dt = float(np.median(np.diff(times)))
        t_edges = np.linspace(times[0] - dt / 2, times[-1] + dt / 2, n_cols + 1)
    else:
        t_edges = np.array([times[0] - 30.0, times[0] + 30.0])
    col_of_time = np.clip(np.searchsorted(t_edges, times, side="right") - 1, 0, n_cols - 1)
    samples = np.bincount(col_of_time, minlength=n_cols).astype(float)
    cols = col_of_time[np.searchsorted(times, df["t"].to_numpy())]
    keep = np.abs(rows + 0.5) <= reach
    grid = np.zeros((n_cols, 2 * reach))
    np.add.at(grid, (cols[keep], rows[keep] + reach), df["qty"].to_numpy(dtype=float)[keep])
    grid /= np.maximum(samples, 1.0)[:, None]
    return t_edges, np.arange(-reach, reach + 1) * tick, grid


def _depth_heatmap(ax: Axes, depth: pd.DataFrame) -> None:
    t_edges, y_edges, grid = _depth_grid(depth)
    positive = grid[grid > 0]
    if positive.size == 0:
        _no_data(ax, "empty order book")
        return
    norm = mcolors.LogNorm(vmin=max(float(np.percentile(positive, 2)), 0.5), vmax=float(positive.max()))
    mesh = ax.pcolormesh(
        t_edges, y_edges, np.ma.masked_less_equal(grid.T, 0), cmap="viridis", norm=norm,
        shading="flat", rasterized=True,
    )
    ax.axhline(0.0, color="white", lw=0.6, alpha=0.8)
    ax.set_facecolor("0.92")
    ax.set_ylabel("distance from mid\n(index points)")
    box = {"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8}
    ax.text(0.005, 0.95, "asks", transform=ax.transAxes, va="top", fontsize=8, color=_SELL_COLOR, bbox=box)
    ax.text(0.005, 0.05, "bids", transform=ax.transAxes, va="bottom", fontsize=8, color=_BUY_COLOR, bbox=box)
    cax = ax.inset_axes((1.012, 0.0, 0.012, 1.0))
    bar = ax.figure.colorbar(mesh, cax=cax)
    bar.set_label("contracts\nper level", fontsize=8)
    bar.ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    bar.ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    bar.ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    bar.ax.tick_params(labelsize=7)


def _depth_lines(ax: Axes, ts: pd.DataFrame) -> None:
    """Fallback depth panel: bids mirrored below zero, asks above (contracts within 10 ticks)."""
    bid, ask = _column(ts, "depth_bid"), _column(ts, "depth_ask")
    if bid is None and ask is None:
        _no_data(ax, "no depth recorded")
        return
    t = ts["t"].to_numpy(dtype=float)
    if ask is not None:
        ax.fill_between(t, 0, ask, color=_SELL_COLOR, alpha=0.35, lw=0, step="mid")
    if bid is not None:
        ax.fill_between(t, 0, -bid, color=_BUY_COLOR, alpha=0.35, lw=0, step="mid")
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _p: f"{abs(v):,.0f}"))
    ax.set_ylabel("depth within 10 ticks\n(contracts)")
    ax.text(0.005, 0.95, "asks", transform=ax.transAxes, va="top", fontsize=8, color=_SELL_COLOR)
    ax.text(0.005, 0.05, "bids", transform=ax.transAxes, va="bottom", fontsize=8, color=_BUY_COLOR)


def _dealer_panel(ax: Axes, ts: pd.DataFrame) -> Axes:
    """Dealer gamma (fill, left axis) and futures hedge position (line, twin right axis)."""
    twin = ax.twinx()
    gamma, hedge = _column(ts, "dealer_gamma"), _column(ts, "dealer_hedge")
    t = ts["t"].to_numpy(dtype=float)
    if gamma is None and hedge is None:
        _no_data(ax, "no option dealers in this run")
        twin.set_yticks([])
        return twin
    if gamma is not None:
        div, unit = _money_scale(gamma)
        g = gamma / div
        ax.fill_between(t, 0, g, where=g >= 0, color="#2ca02c", alpha=0.35, lw=0, interpolate=True)
        ax.fill_between(t, 0, g, where=g < 0, color="#d62728", alpha=0.35, lw=0, interpolate=True)
        ax.plot(t, g, color="0.25", lw=0.8)
        ax.set_ylabel(f"dealer gamma\n({unit} per 1%)")
    ax.axhline(0.0, color="0.2", lw=0.8)
    if hedge is not None:
        twin.plot(t, hedge, color="#1f77b4", lw=1.3)
        twin.set_ylabel("dealer futures\nhedge (contracts)", color="#1f77b4")
        twin.tick_params(axis="y", colors="#1f77b4")
        twin.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    else:
        twin.set_yticks([])
    return twin


def _series_panel(ax: Axes, ts: pd.DataFrame, column: str, ylabel: str, off_text: str, **style: Any) -> None:
    values = _column(ts, column)
    if values is None:
        _no_data(ax, off_text)
        ax.set_ylabel(ylabel)
        return
    ax.plot(ts["t"], values, **({"color": "black", "lw": 1.2} | style))
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.25)


def _cta_panel(ax: Axes, ts: pd.DataFrame) -> None:
    _series_panel(ax, ts, "cta_position", "CTA position\n(contracts)", "no CTAs in this run",
                  color=CLASS_COLORS["cta"])
    ax.axhline(0.0, color="0.3", lw=0.6)
    _thousands(ax)


def _dip_panel(ax: Axes, ts: pd.DataFrame) -> None:
    values = _column(ts, "dip_capital_deployed")
    div, unit = _money_scale(values if values is not None else [])
    if unit == "$":
        div, unit = 1e6, "$m"
    scaled = ts.assign(_dip=values / div) if values is not None else ts
    _series_panel(ax, scaled, "_dip", f"dip capital\ndeployed ({unit})", "no dip buying in this run",
                  color=CLASS_COLORS["dip_buyers"])
    if values is not None:
        ax.set_ylim(bottom=0)


def _iv_panel(ax: Axes, ts: pd.DataFrame) -> None:
    iv = _column(ts, "iv_atm")
    scaled = ts.assign(_iv=iv * 100.0) if iv is not None else ts
    _series_panel(ax, scaled, "_iv", "ATM IV\n(vol points)", "no implied vol recorded", color="#8c564b")


def _flows_panel(ax: Axes, ts: pd.DataFrame) -> None:
    off = []
    for cls in CLASSES:
        values = _column(ts, f"flow_{cls}")
        if values is None:
            off.append(CLASS_NAMES[cls])
            continue
        ax.plot(ts["t"], values, color=CLASS_COLORS[cls], lw=1.4, label=CLASS_NAMES[cls])
    if _cumulative_axes(ax, "cum. net flow\n(contracts)", "+ = net bought"):
        if off:
            ax.text(1.01, 0.0, "no flow:\n" + "\n".join(off), transform=ax.transAxes, fontsize=7.5,
                    color="0.5", va="bottom", ha="left")
    else:
        _no_data(ax, "no flows recorded")


def _cumulative_axes(ax: Axes, ylabel: str, legend_title: str) -> bool:
    """Zero line, label, grid and a legend right of a cumulative-contracts panel; False if empty."""
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.set_ylabel(ylabel)
    _thousands(ax)
    ax.grid(alpha=0.25)
    if not ax.get_legend_handles_labels()[0]:
        return False
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title=legend_title, title_fontsize=8)
    return True


def _fmt_num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _split_panel(ax: Axes, ts: pd.DataFrame) -> None:
    """Cumulative dealer hedge need by greek and CTA target change by cause (contracts, + = buy)."""
    for col, (label, style) in SPLIT_STYLES.items():
        values = _column(ts, col)
        if values is not None:
            ax.plot(ts["t"], values, label=label, **style)
    if _cumulative_axes(ax, "cum. hedge need\nby cause (contracts)", "+ = buy futures"):
        ax.set_title("target changes, not trades: dealers execute theirs with a lag (band, clip and "
                     "participation caps); CTAs in slices", loc="left", fontsize=8, color="0.35")
    else:
        _no_data(ax, "no dealer or CTA target changes recorded")


def _title(summary: Mapping[str, Any]) -> str:
    """Two lines: scenario, seed, close and drawdown; then the path shape (when the summary has it)."""
    scenario = summary.get("scenario", "run")
    seed = summary.get("seed", "?")
    close = _fmt_pct(_num(summary, "close_return_pct"))
    drawdown = _fmt_pct(_num(summary, "max_drawdown_pct"), signed=False)
    head = f"{scenario}  ·  seed {seed}  ·  close {close} vs prev close  ·  max drawdown {drawdown}"
    if "close_location" not in summary and "high_time_et" not in summary:
        return head
    shape = (
        f"high {summary.get('high_time_et') or 'n/a'} ET  ·  "
        f"low {summary.get('low_time_et') or 'n/a'} ET  ·  "
        f"close location {_fmt_num(_num(summary, 'close_location'), '.2f')}  ·  "
        f"rebound {_fmt_num(_num(summary, 'rebound_share'), '.2f')}  ·  "
        f"fall {_fmt_num(_num(summary, 'fall_duration_min'), '.0f')} min  ·  "
        f"steepest 30 min {_fmt_num(_num(summary, 'steepest_30min_share'), '.2f')} of the fall"
    )
    return f"{head}\n{shape}"


def run_dashboard(
    ts: pd.DataFrame,
    summary: Mapping[str, Any],
    trades: pd.DataFrame | None = None,
    depth: pd.DataFrame | None = None,
) -> Figure:
    """One run on stacked panels sharing an ET clock x axis.

    Panels (see :data:`DASHBOARD_PANELS`): mid price in index points with the previous close,
    supports, CTA triggers and the gamma flip as labelled horizontal lines, event markers and
    (optionally) trades as faint dots; order-book depth (a heatmap of contracts per level against
    distance from mid in index points when ``depth`` is given, else ``depth_bid``/``depth_ask`` in
    contracts); dealer gamma ($bn or $m per 1% move) with a zero line and the dealers' futures hedge
    (contracts, twin axis); CTA position (contracts); dip-buy capital deployed ($bn or $m); ATM
    implied vol (vol points); cumulative net flow per agent class (contracts, + = net bought);
    the cumulative change of the dealer book's hedge target split by cause (``dealer_flow_gamma``,
    ``_vanna``, ``_charm``, ``_oi``, ``_other``) and of the CTAs' targets (``cta_flow_signal``,
    ``cta_flow_vol``), in contracts (+ = buy futures): needs, which the agents execute with a lag.

    Args:
        ts: ``timeseries.parquet`` of a run: ``t`` in seconds from 09:30 ET plus the contract columns;
            missing, all-NaN or all-zero columns give a labelled empty panel.
        summary: ``summary.json`` of the run (scenario, seed, prices in index points, returns in %,
            ``markers`` with events, supports, cta_triggers and gamma_flip).
        trades: optional ``trades.parquet`` (time_s, price in index points, side +1 buy aggressor).
        depth: optional ``depth.parquet`` (t, price, side +1 bid / -1 ask, qty in contracts).

    Returns:
        The figure (about 13.5 x 18.5 in); 9 axes: the 8 panels plus the dealer hedge twin axis.
    """
    if "t" not in ts.columns or "mid" not in ts.columns:
        raise ValueError("timeseries needs columns 't' (seconds from 09:30 ET) and 'mid' (index points)")
    ts = ts.sort_values("t").reset_index(drop=True)
    t = ts["t"].to_numpy(dtype=float)
    t_range = (float(t.min()), max(float(t.max()), float(t.min()) + 60.0)) if t.size else (0.0, 23400.0)
    fig = _new_figure(18.5)
    axes = fig.subplots(len(DASHBOARD_PANELS), 1, sharex=True, gridspec_kw={"height_ratios": _PANEL_HEIGHTS})
    panels = dict(zip(DASHBOARD_PANELS, axes, strict=True))
    _clock_axis(axes[-1], *t_range, minor=False)
    _price_panel(panels["price"], ts, summary, trades, t_range)
    if depth is not None and not depth.empty:
        _depth_heatmap(panels["depth"], depth)
    else:
        _depth_lines(panels["depth"], ts)
    _dealer_panel(panels["dealers"], ts)
    _cta_panel(panels["cta"], ts)
    _dip_panel(panels["dip_buyers"], ts)
    _iv_panel(panels["iv"], ts)
    _flows_panel(panels["flows"], ts)
    _split_panel(panels["split"], ts)
    for t_event, _ in _events(summary):
        if t_range[0] <= t_event <= t_range[1]:
            for ax in axes:
                ax.axvline(t_event, color=_EVENT_COLOR, lw=0.8, ls=":", zorder=0)
    fig.align_ylabels(axes)
    fig.suptitle(_title(summary), fontsize=13, fontweight="bold")
    return fig


# ----------------------------------------------------------------------------------------- GEX


def gex_profile(gex_df: pd.DataFrame, summary: Mapping[str, Any]) -> Figure:
    """Dealer gamma exposure against spot, computed at the open with IV rules held fixed.

    Args:
        gex_df: ``gex.parquet``: ``spot`` (index points) and ``gex_usd_per_pct`` (dealer gamma in $
            per 1% move at that spot).
        summary: the run's summary (prev_close, open, high, low in index points, ``markers``).

    Returns:
        Figure with gamma ($bn or $m per 1%) vs spot (index points): green where dealers are long
        gamma (they dampen moves), red where short (they amplify), vertical lines at the gamma flip,
        CTA triggers, supports, previous close and open, and the day's low-high range shaded.
    """
    if not {"spot", "gex_usd_per_pct"} <= set(gex_df.columns):
        raise ValueError("gex frame needs columns 'spot' (index points) and 'gex_usd_per_pct' ($ per 1%)")
    df = gex_df.sort_values("spot")
    spot = df["spot"].to_numpy(dtype=float)
    div, unit = _money_scale(df["gex_usd_per_pct"])
    g = df["gex_usd_per_pct"].to_numpy(dtype=float) / div
    fig = _new_figure(5.6)
    ax = fig.subplots()
    ax.fill_between(spot, 0, g, where=g >= 0, color="#2ca02c", alpha=0.3, lw=0, interpolate=True,
                    label="dealers long gamma (dampen)")
    ax.fill_between(spot, 0, g, where=g < 0, color="#d62728", alpha=0.3, lw=0, interpolate=True,
                    label="dealers short gamma (amplify)")
    ax.plot(spot, g, color="black", lw=1.4)
    ax.axhline(0.0, color="0.2", lw=0.8)
    low, high = _num(summary, "low"), _num(summary, "high")
    if low is not None and high is not None:
        ax.axvspan(low, high, color="0.5", alpha=0.12, lw=0, label="day's low-high range")
    ax.set_xlim(spot.min(), spot.max())
    levels = [(v, k) for v, k in _levels(summary, with_open=True) if spot.min() <= v <= spot.max()]
    for value, kind in levels:
        ax.axvline(value, **_LEVEL_STYLE[kind])
    prev_close = _num(summary, "prev_close")
    _stagger_above(ax, [v for v, _ in levels], [_level_text(v, k, prev_close) for v, k in levels],
                   [_LEVEL_STYLE[k]["color"] for _, k in levels])
    ax.set_xlabel("S&P 500 spot (index points)")
    ax.set_ylabel(f"dealer gamma ({unit} per 1% move)")
    ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(f"Dealer gamma profile at the open  ·  {summary.get('scenario', 'run')}  ·  "
                 f"seed {summary.get('seed', '?')}", fontsize=12, fontweight="bold")
    return fig


# ----------------------------------------------------------------------------------- fan chart


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


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k/n`` (default 95%); ``(nan, nan)`` if n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_median_ci(
    values: Iterable[float], rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``values`` (units of the values)."""
    vals = _finite(list(values))
    if vals.size == 0:
        return math.nan, math.nan
    if vals.size == 1:
        return float(vals[0]), float(vals[0])
    medians = np.median(vals[rng.integers(0, vals.size, size=(n_boot, vals.size))], axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100.0 - tail))


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
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_money_label))
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


def _contribution_column(attr: pd.DataFrame) -> str:
    for name in ("mean", "contribution", "mean_contribution", "mean contribution"):
        if name in attr.columns:
            return name
    raise ValueError(f"attribution frame needs a 'mean' contribution column; has {list(attr.columns)}")


def _waterfall_panel(ax: Axes, rows: pd.DataFrame, metric: str, level: str) -> None:
    """Bars chained end to start (one per class), CI whiskers at each bar's end, then a hatched sum bar."""
    start, names = 0.0, []
    for i, row in enumerate(rows.itertuples(index=False)):
        cls, known = str(row.cls), bool(np.isfinite(row.mean))
        mean = float(row.mean) if known else 0.0
        ax.bar(i, mean, bottom=start, color=CLASS_COLORS.get(cls, "#1f77b4"), alpha=0.8, width=0.62,
               edgecolor="0.2", lw=0.6)
        end = start + mean
        if np.isfinite(row.lo) and np.isfinite(row.hi):
            ax.errorbar(i, end, yerr=[[max(mean - row.lo, 0)], [max(row.hi - mean, 0)]], color="black",
                        capsize=4, lw=1.1)
        ax.plot([i + 0.31, i + 0.69], [end, end], color="0.45", lw=0.8, ls=":")
        ci = f"\n[{row.lo:+.2f}, {row.hi:+.2f}]" if np.isfinite(row.lo) and np.isfinite(row.hi) else ""
        name = CLASS_NAMES.get(cls, cls).replace(" ", "\n", 1)
        names.append(f"{name}\n{mean:+.2f}{ci}" if known else f"{name}\nn/a")
        start = end
    ax.bar(len(rows), start, facecolor="white", width=0.62, edgecolor="0.15", lw=1.0, hatch="///")
    names.append(f"sum of means\n{start:+.2f}")
    ax.axhline(0.0, color="0.2", lw=0.8)
    ax.set_xticks(range(len(names)), names, fontsize=8)
    what = {"max_drawdown_pct": "max drawdown", "close_return_pct": "close return"}.get(metric, metric)
    ax.set_ylabel(f"contribution to {what} (pp)")
    n = rows["n"].dropna()
    n_text = "" if n.empty else f"  ·  n = {int(n.min())}" if n.min() == n.max() else \
        f"  ·  n = {int(n.min())}-{int(n.max())}"
    ax.set_title(f"{what}: mean contribution, whiskers {level} CI{n_text}", fontsize=9.5, loc="left")
    ax.grid(axis="y", alpha=0.25)
    ax.margins(x=0.03, y=0.08)


def waterfall(attr: pd.DataFrame, title: str | None = None) -> Figure:
    """Per-class contributions to max drawdown and close return, stacked as a waterfall.

    Args:
        attr: ``attribution.parquet``: one row per (class, metric) with ``mean`` contribution and
            ``ci_low``/``ci_high`` (percentage points of the previous close) and ``n`` runs.
        title: figure title; a default is used when absent.

    Returns:
        Figure with one panel per metric (drawdown first): each class's bar starts where the previous
        one ended, whiskers show its confidence interval (level from a ``confidence`` column, else
        95%), and a hatched bar gives the sum of the means. A class without a mean shows "n/a".
    """
    mean_col = _contribution_column(attr)
    if attr.empty:
        raise ValueError("attribution frame is empty")
    cls_col = "class" if "class" in attr.columns else "cls"
    df = pd.DataFrame({
        "cls": attr[cls_col].astype(str),
        "metric": attr["metric"].astype(str) if "metric" in attr.columns else "max_drawdown_pct",
        "mean": pd.to_numeric(attr[mean_col], errors="coerce"),
        "lo": pd.to_numeric(attr.get("ci_low", np.nan), errors="coerce"),
        "hi": pd.to_numeric(attr.get("ci_high", np.nan), errors="coerce"),
        "n": pd.to_numeric(attr.get("n", np.nan), errors="coerce"),
    })
    present = set(df["metric"])
    metrics = [m for m in _METRICS[::-1] if m in present] + sorted(present - set(_METRICS))
    first = df[df["metric"] == metrics[0]].sort_values("mean", key=np.abs, ascending=False)
    order = list(dict.fromkeys(list(first["cls"]) + list(df["cls"])))
    conf = _finite(attr["confidence"]) if "confidence" in attr.columns else np.array([])
    level = f"{conf[0]:.0%}" if conf.size and np.all(conf == conf[0]) else "95%"
    fig = _new_figure(5.2)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics, strict=True):
        rows = df[df["metric"] == metric].sort_values("cls", key=lambda c: c.map(order.index))
        _waterfall_panel(ax, rows, metric, level)
    fig.suptitle(title or "Flow attribution: what each agent class adds (percentage points of prev close)",
                 fontsize=12, fontweight="bold")
    return fig


# ------------------------------------------------------------------------------------ plot_dir


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
