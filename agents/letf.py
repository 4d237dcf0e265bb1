"""Leveraged-ETF rebalancers: funds that must trade with the day's move before the close.

A fund with assets ``A`` and leverage ``L`` (3 for a 3x fund, -2 for a -2x inverse fund) holds an
exposure of ``L * A``. When the index returns ``r`` on the day, its assets become ``A * (1 + L r)``
and the exposure it holds ``L * A * (1 + r)``, while it needs ``L * A * (1 + L r)``: to keep its
leverage it must buy ``A * (L^2 - L) * r`` dollars of index before the close. ``L^2 - L`` is positive
for every leveraged or inverse fund, so the whole complex buys on up days and sells on down days,
in proportion to the day's return (Cheng & Madhavan 2009, "The dynamics of leveraged and inverse
exchange-traded funds"; Shum, Hejazi, Haryanto & Rodier 2016, "Intraday share price volatility and
leveraged ETF rebalancing", who find it raises late-day volatility and pushes the close further the
day's way).

Each fund's swap dealers work that trade in futures from about ``start_s`` to the close: every
``retry_interval_s`` or so they recompute the need at the current price (it grows as a fall
deepens, which is the feedback) and trade toward it, at most ``max_participation`` of the market
volume since their previous order and ``max_slippage_ticks`` through the touch. The model has no
closing auction: what is still to do at 16:00 stays undone (``letf_unfilled_contracts`` in the
run summary).
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
class LeveragedETFConfig:
    """Leveraged and inverse index funds that rebalance into the close."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(6, "funds (their assets split log-normally)", ge=1, le=1000)
    aum_usd: float = _f(1.5e10, "the funds' total assets ($)", ge=0, le=1e13)
    leverage: float = _f(3.0, "the funds' leverage (3: a 3x fund; -3: a -3x inverse fund)",
                         ge=-10, le=10)  # fmt: skip
    start_s: float = _f(21600.0, "the funds start rebalancing around this time (s from 09:30 ET; "
                        "21600 = 15:30)", ge=0, le=1e6)  # fmt: skip
    start_spread_s: float = _f(600.0, "each fund starts at a uniform draw in [start_s, start_s + this] (s)",
                               ge=0, le=1e5)  # fmt: skip
    max_participation: float = _f(
        0.1, "each fund trades at most this fraction of the market volume since its last order", gt=0, le=1,
    )
    retry_interval_s: float = _f(20.0, "mean time between a fund's orders while it rebalances (s)", ge=1,
                                 le=1e5)  # fmt: skip
    max_slippage_ticks: int = _f(8, "an order trades at most this many ticks through the touch", ge=0,
                                 le=10_000)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LeveragedETFParams:
    """One fund's parameters (drawn per agent from the scenario's ``[letf]`` table)."""

    aum_usd: float
    leverage: float
    start_s: float
    max_participation: float
    retry_interval_s: float
    max_slippage_ticks: int


def rebalance_contracts(aum_usd: float, leverage: float, day_return: float, price_points: float,
                        point_value_usd: float) -> float:  # fmt: skip
    """The futures a fund must trade to restore its leverage: ``A (L^2 - L) r / (P * $/point)``.

    Args:
        aum_usd: the fund's assets at the prior close ($).
        leverage: its leverage (negative for an inverse fund).
        day_return: the index's return since the prior close (0.01 = +1%).
        price_points: the index level now (points).
        point_value_usd: dollars per index point of one futures contract ($50 for the E-mini).

    Returns:
        Signed contracts (+ buy, - sell), same sign as ``day_return`` for any leveraged or inverse fund.
    """
    return aum_usd * (leverage * leverage - leverage) * day_return / (price_points * point_value_usd)


class LeveragedETF(TraderAgent):
    """Rebalances one fund's leverage with futures from its start time to the close."""

    group = "letf"

    def __init__(self, model, name: str, params: LeveragedETFParams, prev_close_points: float,
                 rng: np.random.Generator):  # fmt: skip
        """A fund rebalancing against ``prev_close_points``; its waits are drawn from ``rng``."""
        super().__init__(model, name)
        self.params = params
        self.prev_close_points = prev_close_points
        self.stream = rng  # the class's own stream (World.new_stream), not the model's
        self.wake_in(params.start_s - self.now_s, self.start)

    def need_contracts(self) -> float:
        """The rebalance the fund needs at the current price (signed contracts)."""
        price = self.price_points
        ex = self.model.exchange
        ret = price / self.prev_close_points - 1.0
        return rebalance_contracts(self.params.aum_usd, self.params.leverage, ret, price,
                                   ex.market.point_value_usd)  # fmt: skip

    def unfilled_contracts(self) -> float:
        """What the fund still has to trade at the current price (signed contracts)."""
        return self.need_contracts() - self.position

    def rebalance(self) -> None:
        """Trade toward the need at the current price, within the participation cap; come back later."""
        p = self.params
        gap = self.unfilled_contracts()
        qty = int(math.copysign(min(abs(gap), self.participation_room(p.max_participation)), gap))
        if qty != 0:
            self.trade_market(qty, p.max_slippage_ticks)
        self._wait()

    def start(self) -> None:
        """The start time: count the market's volume from now, first order one interval later."""
        self._volume_mark = self.model.exchange.cum_volume
        self._wait()

    def _wait(self) -> None:
        interval = self.params.retry_interval_s
        self.wake_in(float(self.stream.uniform(0.5 * interval, 1.5 * interval)), self.rebalance)


def build_crowd(world: World, config: LeveragedETFConfig, prev_close_points: float) -> list[LeveragedETF]:
    """The funds of the scenario's ``[letf]`` table, drawn from a stream of their own.

    The stream is ``world.new_stream()``, so switching the class on leaves every other agent's draws
    and the whole day before the funds' first order as they are without it.
    """
    c = config
    rng = world.new_stream()
    weights = np.exp(rng.normal(0.0, 0.5, size=c.n_agents))
    aum = c.aum_usd * weights / weights.sum()
    starts = c.start_s + rng.uniform(0.0, c.start_spread_s, size=c.n_agents)
    params = [
        LeveragedETFParams(
            float(aum[i]),
            c.leverage,
            float(starts[i]),
            c.max_participation,
            c.retry_interval_s,
            c.max_slippage_ticks,
        )  # fmt: skip
        for i in range(c.n_agents)
    ]
    names = [f"letf_{i}" for i in range(c.n_agents)]
    return list(LeveragedETF.create_agents(world, c.n_agents, names, params, prev_close_points, rng))
