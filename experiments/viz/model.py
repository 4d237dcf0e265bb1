"""The model behind the page: :class:`CascadeVizModel`.

A :class:`~experiments.model.CascadeModel` built from keyword parameters (what Mesa's ``SolaraViz``
needs to re-create a model on *Reset*), with the reference levels the charts draw, thread-safe
snapshots and the wall time of every step.

Units as everywhere: prices in index points, ``t`` in seconds from the 09:30 ET open.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from time import perf_counter
from typing import Any

import pandas as pd

from experiments.model import CascadeModel
from experiments.plots import clock_label
from experiments.viz.charts import CHARTS, Levels, LiveChart
from experiments.viz.knobs import Knobs, format_usd, parse_seed, viz_scenario


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
        knobs = Knobs.parse(dip_capital_usd, dealer_scale, cta_capital_usd)
        seed = parse_seed(seed)
        config, used = knobs.config(scenario, overrides)
        super().__init__(config, seed)
        self.scenario = str(scenario)
        self.overrides = used
        self.knobs = knobs
        self.dealer_scale = knobs.dealer_scale
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
        triggers, flip = self.level_markers(self.gex_curve())
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

