"""Figures of one run: the stacked dashboard and the dealer gamma profile at the open."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from experiments.plots.panels import (
    _PANEL_HEIGHTS,
    DASHBOARD_PANELS,
    _cta_panel,
    _dealer_panel,
    _depth_heatmap,
    _depth_lines,
    _dip_panel,
    _events,
    _flows_panel,
    _iv_panel,
    _level_text,
    _levels,
    _price_panel,
    _split_panel,
    _stagger_above,
)
from experiments.plots.style import (
    _EVENT_COLOR,
    _LEVEL_STYLE,
    _clock_axis,
    _fmt_num,
    _fmt_pct,
    _money_scale,
    _new_figure,
    _num,
)


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
