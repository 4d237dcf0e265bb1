"""Stop-loss sellers: long holders who liquidate once the drawdown from the day's high passes their stop.

Each seller carries a long position into the day (``position_contracts`` split log-normally over the
crowd) and a stop ``stop_pct`` below the day's high (drawn uniformly between ``min_stop_pct`` and
``max_stop_pct``), which follows the high as it rises - a trailing stop, or a risk limit on the day's
drawdown. When the price reaches it the seller sells ``immediate_share`` of the position at once
(the stop order) and works the rest as a percent-of-volume algorithm: every ``retry_interval_s`` or
so it sells at most ``max_participation`` of the volume the market traded since its previous order,
each order at most ``max_slippage_ticks`` through the bid, until the position is gone.

A share of the crowd (``support_share``) rests its stop instead ``support_offset_pct`` below a support
level (``[levels] supports``): one of the supports below the prior close, drawn uniformly, a fixed
level that does not follow the high, as traders put stops under the levels commentators watch
(Osler 2003, "Currency orders and exchange rate dynamics": stop-loss orders cluster just beyond round
numbers and levels).

Stops sit only below the price, so the class adds selling to falls and nothing to rallies, and what
it has sold it does not buy back (Osler 2005, "Stop-loss orders and price cascades in currency
markets").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.base import TraderAgent
from agents.base import config_field as _f

if TYPE_CHECKING:
    from agents.world import World


@dataclass(frozen=True, slots=True)
class StopSellerConfig:
    """Long holders with a stop (or a drawdown limit) below the day's high."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(20, "stop-loss sellers", ge=1, le=10_000)
    position_contracts: int = _f(5000, "long futures the crowd carries into the day (contracts)", ge=0,
                                 le=10_000_000)  # fmt: skip
    min_stop_pct: float = _f(0.5, "tightest stop below the day's high (%)", gt=0, le=100)
    max_stop_pct: float = _f(3.0, "widest stop below the day's high (%)", gt=0, le=100)
    immediate_share: float = _f(0.3, "share of the position sold at once when the stop is hit", ge=0, le=1)
    max_participation: float = _f(
        0.005, "each seller then sells at most this fraction of the market volume since its last order",
        gt=0, le=1,
    )
    retry_interval_s: float = _f(30.0, "mean time between a seller's orders while it works its stop (s)",
                                 ge=1, le=1e5)  # fmt: skip
    max_slippage_ticks: int = _f(8, "a sell trades at most this many ticks below the bid", ge=0, le=10_000)
    support_share: float = _f(
        0.0, "share of sellers whose stop rests below a support ([levels] supports) under the prior close"
        " instead of trailing the day's high", ge=0, le=1,
    )
    support_offset_pct: float = _f(0.1, "how far below its support such a stop rests (%)", ge=0, le=10)
    high_bar_s: float = _f(0.0, "trailing stops follow the highest close of bars this long (s) from the open"
                           " (a closing-basis stop); 0: the sampled mid's high", ge=0, le=23_400)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StopSellerParams:
    """One seller's parameters (drawn per agent from the scenario's ``[stop_sellers]`` table)."""

    position_contracts: int
    stop_pct: float
    immediate_share: float
    max_participation: float
    retry_interval_s: float
    max_slippage_ticks: int
    fixed_stop_points: float = 0.0
    """A stop at this fixed level (index points; below a support); 0: ``stop_pct`` below the day's high."""
    high_bar_s: float = 0.0
    """A trailing stop follows the highest close of bars this long (s); 0: the sampled mid's high."""


class StopLossSeller(TraderAgent):
    """Sells its carried long position once the price falls ``stop_pct`` below the day's high."""

    group = "stop_sellers"

    def __init__(self, model, name: str, params: StopSellerParams, prev_close_points: float):
        super().__init__(model, name)
        if params.position_contracts > 0:
            model.exchange.set_initial_position(self.owner, params.position_contracts, prev_close_points)
        self.params = params
        self.triggered = False
        self._watch_id: int | None = None
        model.subscribe_new_high(self, self._bar_s)
        self._arm()

    @property
    def trailing(self) -> bool:
        """True if the stop follows the day's high; False for a fixed stop below a support."""
        return self.params.fixed_stop_points <= 0.0

    def stop_level_points(self) -> float:
        """The stop (index points): ``stop_pct`` below the day's high, or the fixed level below a support."""
        if self.trailing:
            return self.day_high(self._bar_s) * (1.0 - self.params.stop_pct / 100.0)
        return self.params.fixed_stop_points

    @property
    def _bar_s(self) -> float:
        """Bar length of the high a trailing stop follows (s); 0: the sampled mid's (fixed stops always)."""
        return self.params.high_bar_s if self.trailing else 0.0

    def _arm(self) -> None:
        if self._watch_id is not None:
            self.model.unwatch(self._watch_id)
            self._watch_id = None
        if not self.triggered and self.position > 0 and self.day_high(self._bar_s) > 0:
            self._watch_id = self.watch(self.stop_level_points(), -1, self.on_stop)

    def on_new_high(self, high: float) -> None:
        """The day's high rose: a trailing stop follows it (until it has fired); a fixed one stays."""
        if not self.triggered and self.trailing:
            self._arm()

    def on_stop(self, hit) -> None:
        """The stop fired: sell ``immediate_share`` now, work the rest."""
        self._watch_id = None
        self.triggered = True
        qty = int(math.ceil(self.params.immediate_share * max(self.position, 0)))
        if qty > 0:
            self.trade_market(-qty, self.params.max_slippage_ticks)
        self._next()

    def work(self) -> None:
        """Sell at most ``max_participation`` of the volume since the last order (at least one contract)."""
        left = max(self.position, 0)
        if left > 0:
            qty = min(left, max(self.participation_room(self.params.max_participation), 1))
            self.trade_market(-qty, self.params.max_slippage_ticks)
        self._next()

    def _next(self) -> None:
        if self.position > 0:
            interval = self.params.retry_interval_s
            self.wake_in(float(self.rng.uniform(0.5 * interval, 1.5 * interval)), self.work)


def support_stops(
    rng: np.random.Generator, config: StopSellerConfig, supports: tuple[float, ...], prev_close_points: float
) -> np.ndarray:
    """Each seller's fixed stop (index points; 0: a trailing stop), drawn only when a share is set.

    A share ``support_share`` of the sellers (one uniform draw each) rests its stop
    ``support_offset_pct`` below one of the supports under the prior close, drawn uniformly.
    """
    fixed = np.zeros(config.n_agents)
    if config.support_share <= 0.0:
        return fixed  # no draws: a crowd without support stops is the one drawn before they existed
    below = np.array(sorted(x for x in supports if x < prev_close_points))
    if below.size == 0:
        raise ValueError(
            f"stop_sellers.support_share needs a support below the prior close ({prev_close_points:g})"
        )
    chosen = rng.uniform(size=config.n_agents) < config.support_share
    levels = below[rng.integers(0, below.size, size=config.n_agents)]
    fixed[chosen] = levels[chosen] * (1.0 - config.support_offset_pct / 100.0)
    return fixed


def build_crowd(
    world: World, config: StopSellerConfig, prev_close_points: float, supports: tuple[float, ...] = ()
) -> list[StopLossSeller]:
    """The crowd of the scenario's ``[stop_sellers]`` table, drawn from ``world.rng``."""
    c = config
    rng = world.rng
    weights = np.exp(rng.normal(0.0, 0.5, size=c.n_agents))
    floor = 1 if c.position_contracts else 0
    qty = np.maximum(np.round(c.position_contracts * weights / weights.sum()), floor)
    stops = rng.uniform(c.min_stop_pct, c.max_stop_pct, size=c.n_agents)
    fixed = support_stops(rng, c, supports, prev_close_points)
    params = [
        StopSellerParams(
            int(qty[i]),
            float(stops[i]),
            c.immediate_share,
            c.max_participation,
            c.retry_interval_s,
            c.max_slippage_ticks,
            float(fixed[i]),
            c.high_bar_s,
        )  # fmt: skip
        for i in range(c.n_agents)
    ]
    names = [f"stop_seller_{i}" for i in range(c.n_agents)]
    return list(StopLossSeller.create_agents(world, c.n_agents, names, params, prev_close_points))
