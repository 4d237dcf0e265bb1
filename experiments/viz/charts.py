"""Helpers for the interactive page (``experiments/viz/app.py``) and the notebooks.

Nothing here imports Solara: the model wrapper and the live charts are plain Python and matplotlib,
so notebooks and tests use them without the browser stack.

* :func:`positioning_overrides` and :func:`knob_overrides` turn the page's knobs into ``--set``
  style overrides (``options.positions[i].customer_qty=...``), so a sweep can use them too.
* :class:`CascadeVizModel` is :class:`~experiments.model.CascadeModel` built from keyword
  parameters (what Mesa's ``SolaraViz`` needs to re-create a model on *Reset*), with the reference
  levels the charts draw and the wall time of every step.
* :func:`price_figure`, :func:`dealer_figure`, :func:`cta_figure`, :func:`iv_figure` draw the live
  charts from the model's time series so far; each returns a :class:`~matplotlib.figure.Figure`.

Units as everywhere: prices in index points, ``t`` in seconds from the 09:30 ET open, futures in
contracts, dealer gamma in $ per 1% move, implied vol annualized (shown in vol points).
"""

from __future__ import annotations

import io
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context, ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from experiments.config import ScenarioConfig, load_scenario
from experiments.model import CascadeModel
from experiments.plots import CLASS_COLORS, clock_label
from market.exposures import gamma_flip, gex_profile

__all__ = [
    "DEFAULT_SCENARIO",
    "CascadeVizModel",
    "CHARTS",
    "Levels",
    "LiveChart",
    "cta_figure",
    "dealer_figure",
    "figure_bytes",
    "flows_figure",
    "format_usd",
    "iv_figure",
    "knob_overrides",
    "parse_usd",
    "positioning_overrides",
    "price_figure",
    "viz_scenario",
]

DEFAULT_SCENARIO = "nov20_2025"
"""Scenario of the page when ``CASCADE_VIZ_SCENARIO`` is not set."""
CHART_SIZE_IN = (5.4, 4.4)
"""Size of one live chart (inches): at :data:`CHART_DPI` about 490 x 400 pixels, the shape of a cell of
``SolaraViz``'s grid (half the page wide, 390 pixels high)."""
CHART_DPI = 90
_USD_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9}
_USD = re.compile(r"\$?\s*([-+]?[0-9][0-9_,]*\.?[0-9]*(?:e[-+]?[0-9]+)?)\s*(k|mn|m|bn|b)?", re.IGNORECASE)


def viz_scenario() -> str:
    """The page's scenario: ``$CASCADE_VIZ_SCENARIO`` (a shipped name or a TOML path), else nov20_2025."""
    return os.environ.get("CASCADE_VIZ_SCENARIO", "").strip() or DEFAULT_SCENARIO


# ----------------------------------------------------------------------------------- overrides


def positioning_overrides(config: ScenarioConfig, scale: float) -> list[str]:
    """Overrides that multiply every option position's ``customer_qty`` by ``scale``.

    ``scale = 1`` keeps the scenario's positioning, ``0`` removes the open interest, and a negative
    scale flips every position: customers short what they were long, so dealers who were short
    gamma become long gamma. Quantities are rounded to whole contracts.

    Args:
        config: The scenario whose ``[[options.positions]]`` are scaled.
        scale: Multiplier of ``customer_qty``.

    Returns:
        One ``options.positions[i].customer_qty=N`` string per position (empty for no positions).
    """
    if not math.isfinite(scale):
        raise ValueError(f"positioning scale must be finite, got {scale!r}")
    return [
        f"options.positions[{i}].customer_qty={int(round(block.customer_qty * scale))}"
        for i, block in enumerate(config.options.positions)
    ]


def knob_overrides(
    config: ScenarioConfig,
    *,
    dip_capital_usd: float | None = None,
    dealer_scale: float = 1.0,
    cta_capital_usd: float | None = None,
) -> list[str]:
    """The page's knobs as ``dotted.key=value`` overrides of ``config`` (None keeps the scenario's value).

    Args:
        config: The scenario as shipped.
        dip_capital_usd: Total dip-buying capital ($), ``dip_buyers.capital_usd``.
        dealer_scale: Multiplier of every option position (see :func:`positioning_overrides`).
        cta_capital_usd: Total CTA risk capital ($), ``cta.capital_usd``.

    Returns:
        Override strings for :func:`experiments.config.load_scenario` or a sweep.
    """
    out: list[str] = []
    if dip_capital_usd is not None:
        out.append(f"dip_buyers.capital_usd={float(dip_capital_usd)!r}")
    if cta_capital_usd is not None:
        out.append(f"cta.capital_usd={float(cta_capital_usd)!r}")
    if float(dealer_scale) != 1.0:
        out.extend(positioning_overrides(config, float(dealer_scale)))
    return out


def parse_usd(value: float | int | str) -> float:
    """A dollar amount from a number or text such as ``3e8``, ``300m``, ``$1.5bn``, ``2,000,000``.

    Raises:
        ValueError: For text that is not an amount, or a negative or non-finite one.
    """
    if isinstance(value, int | float):
        out = float(value)
    else:
        match = _USD.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(f"not a dollar amount: {value!r} (examples: 3e8, 300m, 1.5bn)")
        out = (
            float(match.group(1).replace(",", "").replace("_", ""))
            * _USD_UNITS[(match.group(2) or "").lower()]
        )
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"a dollar amount must be finite and >= 0, got {value!r}")
    return out


def format_usd(value: float) -> str:
    """``300m``, ``1.5bn``, ``250k``: how the page writes a dollar amount (``parse_usd`` reads it back)."""
    for unit, div in (("bn", 1e9), ("m", 1e6), ("k", 1e3)):
        if abs(value) >= div:
            return f"{value / div:g}{unit}"
    return f"{value:g}"


# --------------------------------------------------------------------------------------- model


@dataclass
class Levels:
    """Reference levels the charts draw (index points; event times in seconds from the open)."""

    prev_close: float
    supports: tuple[float, ...] = ()
    cta_triggers: tuple[float, ...] = ()
    gamma_flip: float | None = None
    events: list[tuple[float, str]] = field(default_factory=list)


class CascadeVizModel(CascadeModel):
    """A :class:`CascadeModel` made from keyword parameters, stepping ``step_s`` simulated seconds.

    Args:
        scenario: Shipped scenario name or TOML path (default: :func:`viz_scenario`).
        seed: Random seed.
        dip_capital_usd: Total dip-buying capital ($); None keeps the scenario's.
        dealer_scale: Multiplier of every option position's ``customer_qty``; negative flips the
            dealers to long gamma.
        cta_capital_usd: Total CTA capital ($); None keeps the scenario's.
        step_s: Simulated seconds per :meth:`step` (default: the scenario's sampling interval, 30 s).
            The series keep one row per sampling interval; shorter steps only refresh more often.
        overrides: Further ``dotted.key=value`` overrides.
    """

    def __init__(
        self,
        scenario: str | None = None,
        seed: int | str = 0,
        dip_capital_usd: float | str | None = None,
        dealer_scale: float = 1.0,
        cta_capital_usd: float | str | None = None,
        step_s: float | None = None,
        overrides: Sequence[str] = (),
    ):
        scenario = scenario or viz_scenario()
        base = load_scenario(scenario)
        dip = None if dip_capital_usd in (None, "") else parse_usd(dip_capital_usd)
        cta = None if cta_capital_usd in (None, "") else parse_usd(cta_capital_usd)
        knobs = knob_overrides(
            base, dip_capital_usd=dip, dealer_scale=float(dealer_scale), cta_capital_usd=cta
        )
        config = load_scenario(scenario, [*knobs, *overrides]) if knobs or overrides else base
        seed = int(str(seed).strip())
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        super().__init__(config, seed)
        self.scenario = str(scenario)
        self.overrides = tuple(knobs) + tuple(overrides)
        self.dealer_scale = float(dealer_scale)
        self.step_s = float(step_s) if step_s else float(config.sample_interval_s)
        if not self.step_s > 0:
            raise ValueError(f"step_s must be > 0, got {step_s!r}")
        self.step_wall_s: list[float] = []
        self.levels = self._levels()
        self._series: tuple[int, pd.DataFrame] = (-1, pd.DataFrame())
        # The page draws from another thread than the one that steps (play runs in a worker thread).
        self.lock = threading.RLock()
        self._charts: dict[str, LiveChart] = {}
        self.render_wall_s: list[float] = []

    def series(self) -> pd.DataFrame:
        """:meth:`timeseries`, rebuilt only when a sample was added; safe while another thread steps."""
        with self.lock:
            if self._series[0] != len(self.rows):
                self._series = (len(self.rows), pd.DataFrame(list(self.rows)))
            return self._series[1]

    def chart_svg(self, name: str) -> bytes:
        """Chart ``name`` (a key of :data:`CHARTS`) of the state now, as SVG.

        The charts are built on first use and then updated in place; the model's lock is held while
        drawing, so a step never runs in the middle of a redraw (and one chart is never drawn twice at once).
        The drawing time goes to :attr:`render_wall_s` (the last 60).
        """
        with self.lock:
            t0 = perf_counter()
            chart = self._charts.get(name)
            if chart is None:
                chart = self._charts[name] = CHARTS[name](self.levels, self.t_range)
            ts, status = self.snapshot()
            svg = chart.update(ts, status).svg()
            self.render_wall_s.append(perf_counter() - t0)
            del self.render_wall_s[:-60]
            return svg

    def snapshot(self) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The series and :meth:`status` of one and the same moment (never in the middle of a step)."""
        with self.lock:
            return self.series(), self.status()

    def _levels(self) -> Levels:
        cfg = self.config
        triggers = sorted({round(x, 2) for a in self.agent_groups.get("cta", []) for x in a.trigger_levels()})
        flip = None
        desk = self.options
        if len(desk.book):
            grid = np.linspace(cfg.prev_close_points * 0.94, cfg.prev_close_points * 1.04, 201)
            gex = gex_profile(desk.book, desk.surface, grid, desk.surface.t_seconds, desk.rate_cc)
            flip = gamma_flip(grid, gex, near=cfg.prev_close_points)
        events = [(float(m["t"]), str(m["label"])) for m in self.markers]
        return Levels(cfg.prev_close_points, tuple(cfg.levels.supports), tuple(triggers), flip, events)

    def step(self) -> None:
        """Advance ``step_s`` simulated seconds (at most to the session end); record the wall time."""
        with self.lock:
            t0 = perf_counter()
            self.advance_until(min(self.now_s + self.step_s, self.config.market.session_end_s))
            self.step_wall_s.append(perf_counter() - t0)

    @property
    def t_range(self) -> tuple[float, float]:
        """The session, seconds from the open: the charts' fixed x range."""
        m = self.config.market
        return float(m.session_start_s), float(m.session_end_s)

    def status(self) -> dict[str, Any]:
        """The state now: clock (HH:MM ET), mid, change vs prev close (%), drawdown from high (%)."""
        mid = self.exchange.mid_points()
        prev = self.config.prev_close_points
        return {
            "clock": clock_label(self.now_s),
            "t_s": self.now_s,
            "mid": mid,
            "change_pct": 100.0 * (mid / prev - 1.0),
            "drawdown_pct": self.drawdown_pct(),
            "steps": self.steps,
            "running": bool(self.running),
        }

    def describe(self) -> str:
        """One line with what this run is: scenario, seed and the knobs' values ("off": class disabled)."""
        c = self.config
        dip = format_usd(c.dip_buyers.capital_usd) + ("" if c.dip_buyers.enabled else " (off)")
        cta = format_usd(c.cta.capital_usd) + ("" if c.cta.enabled else " (off)")
        has_dealers = c.dealers.enabled and bool(c.options.positions)
        dealers = f"x{self.dealer_scale:g}" + ("" if has_dealers else " (no dealers)")
        return (
            f"{self.scenario} · seed {self.seed_value} · dip-buy capital ${dip}"
            f" · dealer positioning {dealers} · CTA capital ${cta}"
            f" · {self.step_s:g} s per step"
        )


# -------------------------------------------------------------------------------------- charts
#
# Each chart is built once per model and then only updated (line data, limits, title): building a
# matplotlib figure costs about as much as drawing it, so a persistent figure redraws twice as fast.

_CHART_RC = {"axes.titley": 1.0, "axes.titlepad": 4.0}  # a fixed title position skips a layout pass
T_RANGE = (-5400.0, 23400.0)


def _figure(twin: bool = False) -> Figure:
    # Fixed margins instead of a layout engine: constrained layout doubles the cost of a redraw. The
    # strip above the axes holds the legend, the title sits above it.
    fig = Figure(figsize=CHART_SIZE_IN, dpi=CHART_DPI)
    fig.subplots_adjust(left=0.15, right=0.86 if twin else 0.97, bottom=0.08, top=0.86)
    return fig


_TITLE_PAD = 15.0  # points: room for one row of legend between the axes and the title


def _legend_above(ax: Axes, handles: Sequence[Any], ncols: int) -> None:
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.1, fontsize=7,
              ncols=ncols, frameon=False, handlelength=1.6, columnspacing=1.0)  # fmt: skip


def figure_bytes(fig: Figure, fmt: str = "svg") -> bytes:
    """The figure as ``svg`` (text kept as text: the fastest to draw) or ``png``."""
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt)
    return buf.getvalue()


def _time_axis(ax: Axes, t_range: tuple[float, float]) -> None:
    ax.set_xlim(*t_range)
    span = t_range[1] - t_range[0]
    step = 3600.0 if span > 4 * 3600 else 1800.0 if span > 7200 else 600.0
    ax.xaxis.set_major_locator(ticker.MultipleLocator(step))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(clock_label))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)


def _col(ts: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in ts.columns or ts.empty:
        return None
    return ts[name].to_numpy(dtype=float)


def _limits(values: Sequence[np.ndarray], include: Sequence[float] = (), min_span: float = 1.0) -> tuple:
    finite = [v[np.isfinite(v)] for v in values if v is not None]
    finite = [v for v in finite if v.size]
    if not finite and not include:
        return -min_span, min_span
    lo = min([float(v.min()) for v in finite] + list(include))
    hi = max([float(v.max()) for v in finite] + list(include))
    pad = max(0.08 * (hi - lo), 0.5 * min_span)
    return lo - pad, hi + pad


class LiveChart:
    """One chart of the page, built once and updated in place from the time series so far.

    Args:
        levels: Reference levels (events are drawn on every chart).
        t_range: Fixed x range, seconds from the open.
    """

    title = ""
    twin = False
    empty_text = "no samples yet: press Step or Play"

    def __init__(self, levels: Levels | None = None, t_range: tuple[float, float] = T_RANGE):
        self.levels = levels
        self.t_range = t_range
        with rc_context(_CHART_RC):
            self.fig = _figure(self.twin)
            self.ax = self.fig.subplots()
            self.ax2 = self.ax.twinx() if self.twin else None
        _time_axis(self.ax, t_range)
        self.ax.set_title(self.title, fontsize=9, loc="left", pad=_TITLE_PAD)
        self._empty = self.ax.text(0.5, 0.5, self.empty_text, transform=self.ax.transAxes, ha="center",
                                   va="center", color="0.5", fontsize=9, visible=False)  # fmt: skip
        if levels is not None:
            for t, _label in levels.events:
                if t_range[0] <= t <= t_range[1]:
                    self.ax.axvline(t, color="0.45", lw=0.8, ls=":", zorder=0)
        self.setup()

    def setup(self) -> None:
        """Create the artists (called once)."""

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:
        """Update the artists from ``ts``; return False when there is nothing to show."""
        return not ts.empty

    def update(self, ts: pd.DataFrame, status: Mapping[str, Any] | None = None) -> LiveChart:
        """Redraw from the series so far (and the model's status, for the price chart's title)."""
        shown = self.draw(ts, status)
        self._empty.set_visible(not shown)
        return self

    def svg(self) -> bytes:
        """The chart as SVG."""
        return figure_bytes(self.fig, "svg")


class PriceChart(LiveChart):
    """Mid price with the previous close, supports, CTA triggers, gamma flip and news events."""

    title = "Price"

    def setup(self) -> None:  # noqa: D102
        ax, levels = self.ax, self.levels
        (self.line,) = ax.plot([], [], color="black", lw=1.2, zorder=3)
        (self.dot,) = ax.plot([], [], "o", color="black", ms=4, zorder=4)
        if levels is not None:
            ax.axhline(levels.prev_close, color="0.35", ls="--", lw=1.0, label="prev close")
            for i, s in enumerate(levels.supports):
                ax.axhline(s, color="#2ca02c", ls=":", lw=1.5, label="support" if i == 0 else None)
            for i, x in enumerate(levels.cta_triggers):
                ax.axhline(
                    x, color="#ff7f0e", ls="-.", lw=0.8, alpha=0.45, label="CTA trigger" if i == 0 else None
                )
            if levels.gamma_flip is not None:
                ax.axhline(levels.gamma_flip, color="#9467bd", ls="--", lw=1.2, label="gamma flip")
            for i, (t, label) in enumerate(levels.events):
                if self.t_range[0] <= t <= self.t_range[1]:
                    offset = (2, -3 - 9 * (i % 3))
                    ax.annotate(label, (t, 1.0), xycoords=("data", "axes fraction"), xytext=offset,
                                textcoords="offset points", fontsize=6.5, color="0.35", va="top")  # fmt: skip
            _legend_above(ax, ax.get_legend_handles_labels()[0], ncols=4)
            ax.set_ylim(levels.prev_close * 0.99, levels.prev_close * 1.01)
        ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        ax.set_ylabel("S&P 500 mid (points)", fontsize=8)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:  # noqa: D102
        if status is not None:
            s = status
            self.ax.set_title(
                f"{s['clock']} ET · {s['mid']:,.2f} ({s['change_pct']:+.2f}% vs prev close)"
                f" · drawdown {s['drawdown_pct']:.2f}%",
                fontsize=9,
                loc="left",
                pad=_TITLE_PAD,
            )
        mid = _col(ts, "mid")
        if mid is None:
            return False
        t = ts["t"].to_numpy(dtype=float)
        self.line.set_data(t, mid)
        self.dot.set_data(t[-1:], mid[-1:])
        ref = self.levels.prev_close if self.levels is not None else None
        self.ax.set_ylim(*_limits([mid], [ref] if ref else [], min_span=0.002 * (ref or float(mid[-1]))))
        return True


class DealerChart(LiveChart):
    """Dealer gamma ($m per 1%, red when short) and the dealers' futures hedge (contracts, twin axis)."""

    title = "Option dealers: gamma and delta hedge"
    twin = True
    empty_text = "no dealer positions"

    def setup(self) -> None:  # noqa: D102
        ax, ax2 = self.ax, self.ax2
        self.fills: list[Any] = []
        (self.line,) = ax.plot([], [], color="0.25", lw=0.8)
        (self.hedge,) = ax2.plot([], [], color="#1f77b4", lw=1.4)
        ax.axhline(0.0, color="0.2", lw=0.8)
        ax.set_ylabel("dealer gamma ($m per 1%)", fontsize=8)
        ax2.set_ylabel("futures hedge (contracts)", color="#1f77b4", fontsize=8)
        ax2.tick_params(axis="y", colors="#1f77b4", labelsize=8)
        ax2.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        handles = [Patch(color="#2ca02c", alpha=0.35, label="long gamma (dampens)"),
                   Patch(color="#d62728", alpha=0.35, label="short gamma (amplifies)"),
                   Line2D([], [], color="#1f77b4", lw=1.4, label="futures hedge")]  # fmt: skip
        _legend_above(ax, handles, ncols=3)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:  # noqa: D102
        gamma, hedge = _col(ts, "dealer_gamma"), _col(ts, "dealer_hedge")
        for artist in self.fills:
            artist.remove()
        self.fills = []
        if gamma is None or (not np.any(gamma) and not np.any(hedge)):
            return False
        t = ts["t"].to_numpy(dtype=float)
        g = gamma / 1e6
        self.fills = [
            self.ax.fill_between(t, 0, g, where=g >= 0, color="#2ca02c", alpha=0.35, lw=0, interpolate=True),
            self.ax.fill_between(t, 0, g, where=g < 0, color="#d62728", alpha=0.35, lw=0, interpolate=True),
        ]
        self.line.set_data(t, g)
        self.hedge.set_data(t, hedge)
        self.ax.set_ylim(*_limits([g], [0.0]))
        self.ax2.set_ylim(*_limits([hedge], min_span=10.0))
        return True


class CTAChart(LiveChart):
    """CTA futures position (contracts) and dip-buy capital deployed ($m, twin axis)."""

    title = "CTAs and dip buyers"
    twin = True

    def setup(self) -> None:  # noqa: D102
        ax, ax2 = self.ax, self.ax2
        (self.cta,) = ax.plot([], [], color=CLASS_COLORS["cta"], lw=1.4, label="CTA position")
        (self.dip,) = ax2.plot([], [], color=CLASS_COLORS["dip_buyers"], lw=1.4, label="dip capital deployed")
        ax.axhline(0.0, color="0.3", lw=0.6)
        ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        ax.set_ylabel("CTA position (contracts)", color=CLASS_COLORS["cta"], fontsize=8)
        ax2.set_ylabel("dip capital deployed ($m)", color=CLASS_COLORS["dip_buyers"], fontsize=8)
        ax2.tick_params(axis="y", colors=CLASS_COLORS["dip_buyers"], labelsize=8)
        _legend_above(ax, [self.cta, self.dip], ncols=2)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:  # noqa: D102
        cta, dip = _col(ts, "cta_position"), _col(ts, "dip_capital_deployed")
        if cta is None:
            return False
        t = ts["t"].to_numpy(dtype=float)
        dip_m = np.abs(dip) / 1e6
        self.cta.set_data(t, cta)
        self.dip.set_data(t, dip_m)
        self.ax.set_ylim(*_limits([cta], [0.0], min_span=10.0))
        self.ax2.set_ylim(0.0, max(1.0, float(np.nanmax(dip_m)) * 1.15))
        return True


class IVChart(LiveChart):
    """30-day ATM implied vol (vol points): the event premium's crush and the re-spike as spot falls."""

    title = "ATM implied volatility, 30-day (vol points)"

    def setup(self) -> None:  # noqa: D102
        (self.line,) = self.ax.plot([], [], color="#8c564b", lw=1.4)
        (self.dot,) = self.ax.plot([], [], "o", color="#8c564b", ms=4)
        self.ax.set_ylabel("implied vol (vol points)", fontsize=8)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:  # noqa: D102
        iv = _col(ts, "iv_atm")
        if iv is None:
            return False
        t = ts["t"].to_numpy(dtype=float)
        self.line.set_data(t, 100.0 * iv)
        self.dot.set_data(t[-1:], 100.0 * iv[-1:])
        self.ax.set_ylim(*_limits([100.0 * iv], min_span=0.5))
        return True


_FLOW_NAMES = {"dealers": "dealers", "cta": "CTAs", "hedgers": "hedgers", "dip_buyers": "dip buyers",
               "background": "background"}  # fmt: skip


class FlowsChart(LiveChart):
    """Cumulative net futures flow per agent class (contracts, + = net bought)."""

    title = "Who bought and sold futures (+ = net bought)"

    def setup(self) -> None:  # noqa: D102
        self.lines = {cls: self.ax.plot([], [], color=CLASS_COLORS[cls], lw=1.3, label=name)[0]
                      for cls, name in _FLOW_NAMES.items()}  # fmt: skip
        self._shown: tuple[str, ...] = ()
        self.ax.axhline(0.0, color="0.3", lw=0.6)
        self.ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
        self.ax.set_ylabel("cum. net flow (contracts)", fontsize=8)

    def draw(self, ts: pd.DataFrame, status: Mapping[str, Any] | None) -> bool:  # noqa: D102
        if ts.empty:
            return False
        t = ts["t"].to_numpy(dtype=float)
        shown, values = [], []
        for cls, line in self.lines.items():
            v = _col(ts, f"flow_{cls}")
            active = v is not None and bool(np.any(v))
            line.set_visible(active)
            if active:
                line.set_data(t, v)
                shown.append(cls)
                values.append(v)
        if tuple(shown) != self._shown:
            self._shown = tuple(shown)
            legend = self.ax.get_legend()
            if legend is not None:
                legend.remove()
            if shown:
                _legend_above(self.ax, [self.lines[c] for c in shown], ncols=len(shown))
        self.ax.set_ylim(*_limits(values, [0.0], min_span=10.0))
        return bool(shown)


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
