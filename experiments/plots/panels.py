"""The run dashboard's panels: each draws one view of a run's time series onto given axes.

Every ``_*_panel(ax, ts, ...)`` takes the axes and the ``timeseries.parquet`` frame (``t`` in seconds
from 09:30 ET) and draws into them; missing, all-NaN or all-zero columns give a labelled empty panel.
:func:`experiments.plots.run_figures.run_dashboard` stacks them; the interactive page reuses them.
Also here: the reference levels of a run summary (previous close, supports, CTA triggers, gamma
flip) and their labels, shared with the GEX profile.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.axes import Axes

from experiments.plots.style import (
    _BUY_COLOR,
    _EVENT_COLOR,
    _LEVEL_STYLE,
    _SELL_COLOR,
    CLASS_COLORS,
    CLASS_NAMES,
    CLASSES,
    TICK_SIZE,
    _column,
    _finite,
    _money_scale,
    _no_data,
    _num,
    _thousands,
    clock_label,
)

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
_MAX_TRADE_DOTS = 20_000
_MAX_HEATMAP_COLUMNS = 800
_MAX_HEATMAP_ROWS = 40


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


def _level_lines(
    ax: Axes, summary: Mapping[str, Any], window: tuple[float, float]
) -> tuple[list[tuple[float, str]], list[str], tuple[float, float]]:
    """Horizontal level lines within reach of ``window`` (index points); sets the y limits.

    Returns:
        The drawn ``(level, kind)`` pairs, labels of the off-scale levels and the y limits.
    """
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
    return shown, off, (lo, hi)


def _draw_levels(ax: Axes, summary: Mapping[str, Any], window: tuple[float, float]) -> list[str]:
    """Horizontal level lines with labels in the right margin; returns labels of off-scale levels."""
    prev_close = _num(summary, "prev_close")
    shown, off, (lo, hi) = _level_lines(ax, summary, window)
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


def _dealer_panel(ax: Axes, ts: pd.DataFrame, twin: Axes | None = None) -> Axes:
    """Dealer gamma (fill, left axis) and futures hedge position (line, twin right axis).

    ``twin``: the right axis to draw the hedge on (default: a new ``ax.twinx()``); returned.
    """
    twin = ax.twinx() if twin is None else twin
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


def _dip_panel(ax: Axes, ts: pd.DataFrame, off_text: str = "no dip buying in this run") -> None:
    """Dip-buy capital deployed ($m or $bn); ``off_text`` is shown while it is all zero."""
    values = _column(ts, "dip_capital_deployed")
    div, unit = _money_scale(values if values is not None else [])
    if unit == "$":
        div, unit = 1e6, "$m"
    scaled = ts.assign(_dip=values / div) if values is not None else ts
    _series_panel(ax, scaled, "_dip", f"dip capital\ndeployed ({unit})", off_text,
                  color=CLASS_COLORS["dip_buyers"])
    if values is not None:
        ax.set_ylim(bottom=0)


def _iv_panel(ax: Axes, ts: pd.DataFrame) -> None:
    iv = _column(ts, "iv_atm")
    scaled = ts.assign(_iv=iv * 100.0) if iv is not None else ts
    _series_panel(ax, scaled, "_iv", "ATM IV\n(vol points)", "no implied vol recorded", color="#8c564b")


def _flows_panel(ax: Axes, ts: pd.DataFrame, legend: str = "right") -> None:
    """Cumulative net flow per agent class (contracts); ``legend``: "right" of the axes or "above"."""
    off = []
    for cls in CLASSES:
        values = _column(ts, f"flow_{cls}")
        if values is None:
            off.append(CLASS_NAMES[cls])
            continue
        ax.plot(ts["t"], values, color=CLASS_COLORS[cls], lw=1.4, label=CLASS_NAMES[cls])
    if _cumulative_axes(ax, "cum. net flow\n(contracts)", "+ = net bought", legend):
        if off and legend == "right":
            ax.text(1.01, 0.0, "no flow:\n" + "\n".join(off), transform=ax.transAxes, fontsize=7.5,
                    color="0.5", va="bottom", ha="left")
    else:
        _no_data(ax, "no flows recorded")


def _cumulative_axes(ax: Axes, ylabel: str, legend_title: str, legend: str = "right") -> bool:
    """Zero line, label, grid and a legend of a cumulative-contracts panel; False if empty.

    ``legend``: "right" of the axes (with ``legend_title``) or "above" them, 3 a row (no title).
    """
    ax.axhline(0.0, color="0.3", lw=0.6)
    ax.set_ylabel(ylabel)
    _thousands(ax)
    ax.grid(alpha=0.25)
    handles = ax.get_legend_handles_labels()[0]
    if not handles:
        return False
    if legend == "above":
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1, fontsize=7,
                  ncols=min(len(handles), 3), frameon=False, handlelength=1.6, columnspacing=1.0)
        return True
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title=legend_title, title_fontsize=8)
    return True



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
