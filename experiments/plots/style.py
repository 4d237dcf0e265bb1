"""Shared style of the figures: sizes, colours, level styles, the ET clock axis, number formats.

Colours per agent class, line styles of the reference levels, money / percent / thousands labels.

Units: ``t`` in seconds from the 09:30 ET open, prices in index points, money in $.
Names with a leading underscore are shared inside :mod:`experiments.plots` only (not public API).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.agent_classes import FLOW_GROUPS
from experiments.metrics import et_clock
from market.units import OPEN_ET_S, TICK_POINTS  # noqa: F401 - OPEN_ET_S re-exported by experiments.plots

DPI = 130
"""Resolution of written raster figures (dots per inch)."""
FIG_WIDTH_IN = 13.5
TICK_SIZE = TICK_POINTS
"""E-mini tick in index points; only a fallback when depth prices do not reveal it."""

CLASSES = FLOW_GROUPS
"""The flow groups, in the order the figures draw them."""
CLASS_COLORS = {
    "dealers": "#d62728",
    "cta": "#ff7f0e",
    "hedgers": "#9467bd",
    "dip_buyers": "#2ca02c",
    "stop_sellers": "#8c564b",
    "letf": "#e377c2",
    "background": "#7f7f7f",
}
"""One colour per agent class, shared by the dashboard's flow panel and the waterfall."""
CLASS_NAMES = {
    "dealers": "option dealers",
    "cta": "CTAs",
    "hedgers": "put-buying hedgers",
    "dip_buyers": "dip buyers",
    "stop_sellers": "stop-loss sellers",
    "letf": "leveraged ETFs",
    "background": "background flow",
}

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


# --------------------------------------------------------------------------------------- helpers


def _new_figure(height_in: float, width_in: float = FIG_WIDTH_IN) -> Figure:
    """A figure with constrained layout (legends and labels outside the axes get room)."""
    return Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")


def clock_label(t_s: float, _pos: Any = None) -> str:
    """ET clock ``HH:MM`` of ``t_s`` seconds from the 09:30 open, to the nearest minute (tick formatter)."""
    return et_clock(float(t_s), nearest=True)


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


class MoneyFormatter(ticker.EngFormatter):
    """Dollar tick labels with a k/m/bn/tn suffix, e.g. ``$2.5bn``: matplotlib's engineering formatter.

    Args:
        dollar: Prefix ``$`` (``False``: ``2.5bn``, how the page writes amounts).
    """

    ENG_PREFIXES = {0: "", 3: "k", 6: "m", 9: "bn", 12: "tn"}

    def __init__(self, dollar: bool = True):
        super().__init__(unit="", places=None, sep="")
        self.dollar = dollar

    def format_data(self, value: float) -> str:
        """``$2.5bn`` for 2.5e9 (``%g`` of the mantissa; amounts below $1k as they are)."""
        text = super().format_data(abs(float(value)))
        return ("-" if value < 0 else "") + ("$" if self.dollar else "") + text


_MONEY = MoneyFormatter()


def _money_label(x: float, _pos: Any = None) -> str:
    """Dollar label with k/m/bn/tn suffix, e.g. ``$2.5bn`` (see :class:`MoneyFormatter`)."""
    return _MONEY.format_data(x)


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


def _fmt_num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)
