"""CTA trend followers: moving-average signals on a daily-close history plus the live price.

Signal per lookback ``L``: ``clip((P - MA_L) / (width * sigma_daily * P), -1, 1)`` where ``MA_L``
averages the last ``L - 1`` closes and the live price ``P``, so it moves intraday; the combined
signal is the weighted mean. The **trigger level** of a lookback is the price at which its signal
changes sign (solve ``P = MA_L(P)``). Position target (contracts) is
``signal * capital * vol_target / sigma_ann / (P * $50)``: vol targeting cuts exposure when
realized vol rises even without a signal flip. Targets are refreshed on a schedule and when the
price crosses a trigger (price watches); the gap is executed in slices over time: with an
``execution_horizon_s`` each slice is the gap times ``slice_interval_s / execution_horizon_s``, so a
new target is worked over hours, as CTAs spread their selling over days in practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.base import TraderAgent

TRADING_DAYS = 252.0
TRIGGER_BUFFER = 0.001  # 0.1% (about 6.6 index points)


@dataclass(frozen=True, slots=True)
class CTAParams:
    """One CTA's parameters (drawn per agent from the scenario's ``[cta]`` table)."""

    capital_usd: float
    vol_target_ann: float
    lookbacks_days: tuple[int, ...]
    weights: tuple[float, ...]
    signal_width_vol: float
    rebalance_interval_s: float
    slice_interval_s: float
    max_slice_contracts: int
    max_slippage_ticks: int  # a child order trades at most this many ticks through the touch
    execution_horizon_s: float = 0.0  # > 0: slices of gap * slice_interval / horizon (TWAP-like)


class CTATrendFollower(TraderAgent):
    """A trend follower trading futures toward a vol-targeted moving-average signal."""

    group = "cta"

    def __init__(self, model, name: str, params: CTAParams, daily_closes: np.ndarray):
        super().__init__(model, name)
        self.params = params
        self.closes = np.asarray(daily_closes, dtype=np.float64)
        rets = np.diff(np.log(self.closes[-61:]))
        self.sigma_daily = float(rets.std(ddof=1)) if len(rets) > 2 else 0.01
        self.target = 0.0
        self._watch_ids: list[int] = []
        self._working = False
        # start the day holding the position implied by the prior close
        self.initial_position = int(
            round(self.target_at(self.closes[-1], self.sigma_daily * math.sqrt(TRADING_DAYS)))
        )
        model.exchange.set_initial_position(self.owner, self.initial_position, self.closes[-1])
        self.target = float(self.initial_position)
        self.wake_in(float(self.rng.uniform(0.0, params.rebalance_interval_s)), self.rebalance)
        self._arm_watches()

    # ------------------------------------------------------------------ signal
    def moving_average(self, lookback: int, price: float) -> float:
        """``MA_L`` including the live price as today's close (index points)."""
        return (self.closes[-(lookback - 1) :].sum() + price) / lookback

    def signal(self, price: float) -> float:
        """Combined signal in [-1, 1] at ``price``."""
        p = self.params
        total = 0.0
        for lookback, w in zip(p.lookbacks_days, p.weights, strict=True):
            z = (price - self.moving_average(lookback, price)) / (
                p.signal_width_vol * self.sigma_daily * price
            )
            total += w * min(max(z, -1.0), 1.0)
        return total / sum(p.weights)

    def trigger_levels(self) -> list[float]:
        """Prices at which each lookback's signal flips sign (index points)."""
        return [float(self.closes[-(lb - 1) :].sum() / (lb - 1)) for lb in self.params.lookbacks_days]

    def target_at(self, price: float, sigma_ann: float) -> float:
        """Vol-targeted position (contracts) at ``price`` with volatility ``sigma_ann``."""
        p = self.params
        notional = self.signal(price) * p.capital_usd * p.vol_target_ann / max(sigma_ann, 0.02)
        return notional / (price * self.model.exchange.market.point_value_usd)

    def _sigma_ann(self) -> float:
        hist = self.sigma_daily * math.sqrt(TRADING_DAYS)
        live = self.model.exchange.realized_vol_ann()
        return math.sqrt(0.8 * hist**2 + 0.2 * live**2) if live > 0 else hist

    # ------------------------------------------------------------------ acting
    def rebalance(self) -> None:
        """Scheduled target update."""
        self._update_target()
        self.wake_in(float(self.rng.exponential(self.params.rebalance_interval_s)), self.rebalance)

    def on_trigger(self, hit) -> None:
        """The price crossed a trigger level: update the target now."""
        self._update_target()
        self._arm_watches()

    def _update_target(self) -> None:
        self.target = self.target_at(self.price_points, self._sigma_ann())
        if not self._working:
            self._working = True
            self.execute_slice()

    def execute_slice(self) -> None:
        """Send one child order toward the target; keep going while a gap remains."""
        gap = self.target - self.position
        if abs(gap) < 1.0:
            self._working = False
            return
        p = self.params
        size = abs(gap)
        if p.execution_horizon_s > 0:  # work the gap over the horizon, not at once
            size = max(1.0, round(size * p.slice_interval_s / p.execution_horizon_s))
        qty = int(math.copysign(min(size, abs(gap), p.max_slice_contracts), gap))
        self.trade_market(qty, self.params.max_slippage_ticks)
        self.wake_in(self.params.slice_interval_s * float(self.rng.uniform(0.5, 1.5)), self.execute_slice)

    def _arm_watches(self) -> None:
        for wid in self._watch_ids:
            self.model.unwatch(wid)
        # hysteresis: a trigger re-arms TRIGGER_BUFFER beyond the level, so noise around a moving
        # average does not flip the target back and forth
        last = self.last_points
        self._watch_ids = [
            self.watch(level * (1 + TRIGGER_BUFFER), +1, self.on_trigger)
            if last < level
            else self.watch(level * (1 - TRIGGER_BUFFER), -1, self.on_trigger)
            for level in self.trigger_levels()
        ]
