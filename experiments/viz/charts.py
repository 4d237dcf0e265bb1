"""The page's live charts: the run dashboard's panels (:mod:`experiments.plots.panels`) on small figures.

Each chart is one persistent :class:`~matplotlib.figure.Figure` (building a figure costs about as
much as drawing it); :meth:`LiveChart.update` removes what it drew last time and draws the series so
far with the same panel function the dashboard uses, so the page and ``cascade run --plot`` show
the same thing. Only what the small page needs differs: legends above the axes, 8-point text, the
clock in the price chart's title. Nothing here imports Solara, so notebooks and tests draw them headless.

Units as everywhere: prices in index points, ``t`` in seconds from the 09:30 ET open, futures in
contracts, dealer gamma in $ per 1% move, implied vol in vol points.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context, ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from experiments.plots.panels import (
    _cta_panel,
    _dealer_panel,
    _dip_panel,
    _events,
    _flows_panel,
    _iv_panel,
    _level_lines,
    _price_window,
)
from experiments.plots.style import _EVENT_COLOR, _LEVEL_STYLE, CLASS_COLORS, _clock_axis, _thousands
from market.units import SESSION_SECONDS

CHART_SIZE_IN = (5.4, 4.4)
"""Size of one live chart (inches): at :data:`CHART_DPI` about 490 x 400 pixels, the shape of a cell of
``SolaraViz``'s grid (half the page wide, 390 pixels high)."""
CHART_DPI = 90
T_RANGE = (-5400.0, SESSION_SECONDS)
"""Default x range of a chart (seconds from the open): 08:00 to 16:00 ET."""
_CHART_RC = {"axes.titley": 1.0, "axes.titlepad": 4.0, "font.size": 8.0}  # fixed title: no layout pass
_TITLE_PAD = 15.0  # points: room for one row of legend between the axes and the title


@dataclass
class Levels:
    """Reference levels the charts draw (index points; event times in seconds from the open)."""

    prev_close: float
    supports: tuple[float, ...] = ()
    cta_triggers: tuple[float, ...] = ()
    gamma_flip: float | None = None
    events: list[tuple[float, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The levels as the ``summary.json`` fields the dashboard's panels read."""
        markers = {"supports": list(self.supports), "cta_triggers": list(self.cta_triggers),
                   "gamma_flip": self.gamma_flip, "events": [{"t": t, "label": s} for t, s in self.events]}
        return {"prev_close": self.prev_close, "markers": markers}  # fmt: skip


def _figure(twin: bool = False) -> Figure:
    # Fixed margins instead of a layout engine: constrained layout doubles the cost of a redraw. The
    # strip above the axes holds the legend, the title sits above it.
    fig = Figure(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    fig.subplots_adjust(left=0.18, right=0.83 if twin else 0.97, bottom=0.08, top=0.86)
    return fig


def _legend_above(ax: Axes, handles: Sequence[Any], ncols: int) -> None:
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1, fontsize=7,
              ncols=ncols, frameon=False, handlelength=1.6, columnspacing=1.0)  # fmt: skip


def figure_bytes(fig: Figure, fmt: str = "svg") -> bytes:
    """The figure as ``svg`` (text kept as text: the fastest to draw) or ``png``."""
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt)
    return buf.getvalue()


def _reset(ax: Axes) -> None:
    """Remove what a panel drew and undo what it set on the y axis, keeping the axes and their ticks.

    Cheaper than ``ax.cla()``, which rebuilds both axes and their ticks (about twice the redraw time).
    """
    for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches, *ax.images]:
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    ax.yaxis.set_major_locator(ticker.AutoLocator())
    ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
    ax.set_ylabel("")
    ax.grid(False)
    ax.relim()
    ax.set_autoscaley_on(True)


class LiveChart:
    """One chart of the page: a persistent figure redrawn from the time series so far.

    Subclasses set :attr:`title` and :attr:`twin` and implement :meth:`draw` with the dashboard's
    panel functions.

    Args:
        levels: Reference levels (events are drawn on every chart).
        t_range: Fixed x range, seconds from the open.
    """

    title = ""
    twin = False
    title_pad = _TITLE_PAD
    empty_text = "no samples yet: press Step or Play"

    def __init__(self, levels: Levels | None = None, t_range: tuple[float, float] = T_RANGE):
        self.levels = levels
        self.t_range = t_range
        self.summary = levels.summary() if levels is not None else {}
        with rc_context(_CHART_RC):
            self.fig = _figure(self.twin)
            self.ax = self.fig.subplots()
            self.ax2 = self.ax.twinx() if self.twin else None
            self._redraw(pd.DataFrame(), None)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:
        """Draw ``ts`` (at least one row) onto the cleared axes."""

    def heading(self, status: Mapping[str, Any] | None) -> str:
        """The title above the legend strip."""
        return self.title

    def update(self, ts: pd.DataFrame, status: Mapping[str, Any] | None = None) -> LiveChart:
        """Redraw from the series so far (and the model's status, for the price chart's title)."""
        with rc_context(_CHART_RC):
            self._redraw(ts, status)
        return self

    def _redraw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:
        for ax in (self.ax, self.ax2):
            if ax is not None:
                _reset(ax)
        if ts.empty:
            self.ax.text(0.5, 0.5, self.empty_text, transform=self.ax.transAxes, ha="center", va="center",
                         color="0.5", fontsize=9)  # fmt: skip
            for ax in (self.ax, self.ax2):
                if ax is not None:
                    ax.set_yticks([])
        else:
            self.draw(ts, status)
        _clock_axis(self.ax, *self.t_range, label=False, minor=False)
        self.ax.set_title(self.heading(status), fontsize=9, loc="left", pad=self.title_pad)
        for t, _label in _events(self.summary):
            if self.t_range[0] <= t <= self.t_range[1]:
                self.ax.axvline(t, color=_EVENT_COLOR, lw=0.8, ls=":", zorder=0)

    def svg(self) -> bytes:
        """The chart as SVG."""
        return figure_bytes(self.fig, "svg")


class PriceChart(LiveChart):
    """Mid price with the previous close, supports, CTA triggers, gamma flip and news events."""

    title = "Price"

    def heading(self, status: Mapping[str, Any] | None) -> str:  # noqa: D102
        if status is None:
            return self.title
        s = status
        return (f"{s['clock']} ET · {s['mid']:,.2f} ({s['change_pct']:+.2f}% vs prev close)"
                f" · drawdown {s['drawdown_pct']:.2f}%")  # fmt: skip

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:  # noqa: D102
        ax = self.ax
        t, mid = ts["t"].to_numpy(dtype=float), ts["mid"].to_numpy(dtype=float)
        ax.plot(t, mid, color="black", lw=1.2, zorder=3)
        ax.plot(t[-1:], mid[-1:], "o", color="black", ms=4, zorder=4)
        prev_close = self.levels.prev_close if self.levels is not None else None
        lo, hi = _price_window(ts, None, prev_close)
        half = max((hi - lo) / 2, 0.001 * (prev_close or float(mid[-1])))  # early on: at least +-0.1%
        shown, _off, _ylim = _level_lines(ax, self.summary, ((lo + hi) / 2 - half, (lo + hi) / 2 + half))
        kinds = dict.fromkeys(kind for _, kind in shown)
        handles = [Line2D([], [], label=kind, **_LEVEL_STYLE[kind]) for kind in kinds]
        _legend_above(ax, handles, ncols=max(len(kinds), 1))
        for i, (t_event, label) in enumerate(_events(self.summary)):
            if self.t_range[0] <= t_event <= self.t_range[1]:
                ax.annotate(label, (t_event, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(2, -3 - 9 * (i % 3)), textcoords="offset points", fontsize=6.5,
                            color="0.35", va="top")  # fmt: skip
        ax.set_ylabel("S&P 500 mid\n(index points)")
        _thousands(ax)
        ax.grid(alpha=0.25)


class DealerChart(LiveChart):
    """Dealer gamma ($ per 1%, red when short) and the dealers' futures hedge (contracts, twin axis)."""

    title = "Option dealers: gamma and delta hedge"
    twin = True

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:  # noqa: D102
        _dealer_panel(self.ax, ts, twin=self.ax2)
        handles = [Patch(color="#2ca02c", alpha=0.35, label="long gamma (dampens)"),
                   Patch(color="#d62728", alpha=0.35, label="short gamma (amplifies)"),
                   Line2D([], [], color="#1f77b4", lw=1.3, label="futures hedge")]  # fmt: skip
        _legend_above(self.ax, handles, ncols=3)


class CTAChart(LiveChart):
    """CTA futures position (contracts) and dip-buy capital deployed ($m or $bn, twin axis)."""

    title = "CTAs and dip buyers"
    twin = True

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:  # noqa: D102
        _cta_panel(self.ax, ts)
        _dip_panel(self.ax2, ts, off_text="no dip capital deployed (yet)")  # the run is not over
        self.ax2.grid(False)
        handles = [Line2D([], [], color=CLASS_COLORS[cls], lw=1.2, label=label)
                   for cls, label in (("cta", "CTA position"), ("dip_buyers", "dip capital deployed"))]
        _legend_above(self.ax, handles, ncols=2)


class IVChart(LiveChart):
    """30-day ATM implied vol (vol points): the event premium's crush and the re-spike as spot falls."""

    title = "ATM implied volatility, 30-day (vol points)"

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:  # noqa: D102
        _iv_panel(self.ax, ts)
        iv = ts["iv_atm"].to_numpy(dtype=float) if "iv_atm" in ts.columns else np.array([])
        if iv.size and np.isfinite(iv[-1]):
            self.ax.plot(ts["t"].to_numpy(dtype=float)[-1:], 100.0 * iv[-1:], "o", color="#8c564b", ms=4)


class FlowsChart(LiveChart):
    """Cumulative net futures flow per agent class (contracts, + = net bought)."""

    title = "Who bought and sold futures (+ = net bought)"
    title_pad = 2 * _TITLE_PAD  # two rows of legend

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> None:  # noqa: D102
        _flows_panel(self.ax, ts, legend="above")


CHARTS = {"price": PriceChart, "dealers": DealerChart, "cta": CTAChart, "iv": IVChart, "flows": FlowsChart}
"""The page's charts by name, in page order."""


def price_figure(ts: pd.DataFrame, levels: Levels | None = None, t_range: tuple[float, float] = T_RANGE,
                 status: Mapping[str, Any] | None = None) -> Figure:  # fmt: skip
    """A one-off :class:`PriceChart` figure (title from ``status``, a :meth:`CascadeVizModel.status`)."""
    return PriceChart(levels, t_range).update(ts, status).fig


def dealer_figure(
    ts: pd.DataFrame, t_range: tuple[float, float] = T_RANGE, levels: Levels | None = None
) -> Figure:
    """A one-off :class:`DealerChart` figure."""
    return DealerChart(levels, t_range).update(ts).fig


def cta_figure(
    ts: pd.DataFrame, t_range: tuple[float, float] = T_RANGE, levels: Levels | None = None
) -> Figure:
    """A one-off :class:`CTAChart` figure."""
    return CTAChart(levels, t_range).update(ts).fig


def iv_figure(
    ts: pd.DataFrame, t_range: tuple[float, float] = T_RANGE, levels: Levels | None = None
) -> Figure:
    """A one-off :class:`IVChart` figure."""
    return IVChart(levels, t_range).update(ts).fig


def flows_figure(
    ts: pd.DataFrame, t_range: tuple[float, float] = T_RANGE, levels: Levels | None = None
) -> Figure:
    """A one-off :class:`FlowsChart` figure."""
    return FlowsChart(levels, t_range).update(ts).fig
