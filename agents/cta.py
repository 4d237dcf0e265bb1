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
from typing import TYPE_CHECKING

import numpy as np

from agents.base import TraderAgent, lognormal_around
from agents.base import config_field as _f
from market.units import TRADING_DAYS_PER_YEAR

if TYPE_CHECKING:
    from agents.world import World

TRIGGER_BUFFER = 0.001  # 0.1% (about 6.6 index points)


@dataclass(frozen=True, slots=True)
class CTAConfig:
    """Trend followers: moving-average signals on daily closes plus the live price, vol-targeted."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(8, "CTAs (heterogeneous lookbacks and speeds)", ge=1, le=1000)
    capital_usd: float = _f(2.0e10, "total risk capital of the CTAs ($)", ge=0, le=1e13)
    vol_target_ann: float = _f(0.10, "annualized vol target of each CTA's futures book", gt=0, le=2)
    lookbacks_days: tuple[int, ...] = _f((20, 50, 120), "moving-average lookbacks (days)", ge=1, le=1000)
    signal_width_vol: float = _f(0.5, "signal saturates this many daily vols from the MA", gt=0, le=100)
    rebalance_interval_s: float = _f(1800.0, "mean time between target updates (s)", ge=1, le=1e6)
    slice_interval_s: float = _f(60.0, "time between child orders while executing (s)", ge=1, le=1e6)
    max_slice_contracts: int = _f(200, "largest child order", ge=1, le=100_000)
    max_slippage_ticks: int = _f(8, "a child order trades at most this many ticks through the touch", ge=0,
                                 le=10_000)  # fmt: skip
    execution_horizon_s: float = _f(
        0.0, "0: work a gap in max-size slices; > 0: each slice is gap * slice_interval / horizon"
        " (at least 1 contract), so a new target is worked over about this many seconds", ge=0, le=1e6,
    )
    live_vol_weight: float = _f(
        0.2, "share of the live (60-second) realized variance in the CTAs' vol estimate; the rest is the"
        " daily history's (0: a daily-horizon estimate that intraday bursts do not move)", ge=0, le=1,
    )
    daily_closes: tuple[float, ...] = _f((), "daily-close history, oldest first (index points)", gt=0,
                                         le=1e7)  # fmt: skip


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
    live_vol_weight: float = 0.2  # share of the live realized variance in the vol estimate


def slice_contracts(gap: float, p: CTAParams) -> int:
    """Signed child order (contracts) toward a gap of ``gap`` contracts (``|gap| >= 1``).

    At most ``max_slice_contracts``; with an ``execution_horizon_s`` the gap times
    ``slice_interval_s / execution_horizon_s`` (at least 1 contract), so a new target is worked over
    about the horizon.
    """
    size = abs(gap)
    if p.execution_horizon_s > 0:  # work the gap over the horizon, not at once
        size = max(1.0, round(size * p.slice_interval_s / p.execution_horizon_s))
    return int(math.copysign(min(size, abs(gap), p.max_slice_contracts), gap))


class CTATrendFollower(TraderAgent):
    """A trend follower trading futures toward a vol-targeted moving-average signal."""

    group = "cta"

    def __init__(self, model, name: str, params: CTAParams, daily_closes: np.ndarray):
        super().__init__(model, name)
        self.params = params
        self.closes = np.asarray(daily_closes, dtype=np.float64)
        # the history's part of each moving average (sum of the last L - 1 closes) and the weights'
        # sum are fixed for the day: computed once, not on every signal
        self._ma_head = tuple(self.closes[-(lb - 1) :].sum() for lb in params.lookbacks_days)
        self._weight_sum = sum(params.weights)
        rets = np.diff(np.log(self.closes[-61:]))
        self.sigma_daily = float(rets.std(ddof=1)) if len(rets) > 2 else 0.01
        self.target = 0.0
        self._watch_ids: list[int] = []
        self._working = False
        # start the day holding the position implied by the prior close
        self.initial_position = int(
            round(self.target_at(self.closes[-1], self.sigma_daily * math.sqrt(TRADING_DAYS_PER_YEAR)))
        )
        model.exchange.set_initial_position(self.owner, self.initial_position, self.closes[-1])
        self.target = float(self.initial_position)
        # target changes split by cause (contracts, cumulative): see _split_target_change
        self.flow_signal = 0.0
        self.flow_vol = 0.0
        sigma_hist = self.sigma_daily * math.sqrt(TRADING_DAYS_PER_YEAR)
        self._signal_scale = (self.signal(self.closes[-1]),
                              self.contracts_per_signal(self.closes[-1], sigma_hist))  # (s0, L0)
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
        for lookback, w, head in zip(p.lookbacks_days, p.weights, self._ma_head, strict=True):
            z = (price - (head + price) / lookback) / (p.signal_width_vol * self.sigma_daily * price)
            total += w * min(max(z, -1.0), 1.0)
        return total / self._weight_sum

    def trigger_levels(self) -> list[float]:
        """Prices at which each lookback's signal flips sign (index points)."""
        lookbacks = self.params.lookbacks_days
        return [float(head / (lb - 1)) for lb, head in zip(lookbacks, self._ma_head, strict=True)]

    def target_at(self, price: float, sigma_ann: float) -> float:
        """Vol-targeted position (contracts) at ``price`` with volatility ``sigma_ann``."""
        p = self.params
        notional = self.signal(price) * p.capital_usd * p.vol_target_ann / max(sigma_ann, 0.02)
        return notional / (price * self.model.exchange.market.point_value_usd)

    def contracts_per_signal(self, price: float, sigma_ann: float) -> float:
        """``L``: position (contracts) per unit of signal at ``price`` and vol ``sigma_ann``."""
        p = self.params
        return p.capital_usd * p.vol_target_ann / max(sigma_ann, 0.02) / (
            price * self.model.exchange.market.point_value_usd
        )

    def _split_target_change(self, price: float, sigma_ann: float) -> None:
        """Split the target change ``s1 L1 - s0 L0``: signal ``(s1 - s0) L0``, vol ``s1 (L1 - L0)``.

        Cumulative in :attr:`flow_signal` and :attr:`flow_vol` (contracts, + = buy); they add up to
        the target's change since the open's unrounded target (the start position is rounded).
        """
        s0, l0 = self._signal_scale
        s1, l1 = self.signal(price), self.contracts_per_signal(price, sigma_ann)
        self.flow_signal += (s1 - s0) * l0
        self.flow_vol += s1 * (l1 - l0)
        self._signal_scale = (s1, l1)

    def _sigma_ann(self) -> float:
        """Annualized vol: the daily history's, blended with the live estimate (``live_vol_weight``)."""
        hist = self.sigma_daily * math.sqrt(TRADING_DAYS_PER_YEAR)
        w = self.params.live_vol_weight
        if w <= 0.0:
            return hist
        live = self.model.exchange.realized_vol_ann()
        return math.sqrt((1.0 - w) * hist**2 + w * live**2) if live > 0 else hist

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
        price, sigma_ann = self.price_points, self._sigma_ann()
        self.target = self.target_at(price, sigma_ann)
        self._split_target_change(price, sigma_ann)
        if not self._working:
            self._working = True
            self.execute_slice()

    def execute_slice(self) -> None:
        """Send one child order toward the target; keep going while a gap remains."""
        gap = self.target - self.position
        if abs(gap) < 1.0:
            self._working = False
            return
        self.trade_market(slice_contracts(gap, self.params), self.params.max_slippage_ticks)
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


def build_crowd(world: World, config: CTAConfig) -> list[CTATrendFollower]:
    """The crowd of the scenario's ``[cta]`` table, drawn from ``world.rng``."""
    c = config
    rng = world.rng
    capital = rng.dirichlet(np.full(c.n_agents, 4.0)) * c.capital_usd
    closes = np.asarray(c.daily_closes, dtype=np.float64)
    # One by one, not with ``create_agents``: each CTA's parameter draws from world.rng interleave
    # with the start-time draw of its own __init__, so batching would reorder the draws (other runs).
    out = []
    for i in range(c.n_agents):
        lookbacks = tuple(
            int(np.clip(round(lb * rng.uniform(0.8, 1.25)), 2, len(closes))) for lb in c.lookbacks_days
        )
        weights = tuple(float(w) for w in rng.dirichlet(np.full(len(lookbacks), 2.0)))
        params = CTAParams(
            capital_usd=float(capital[i]),
            vol_target_ann=c.vol_target_ann,
            lookbacks_days=lookbacks,
            weights=weights,
            signal_width_vol=float(c.signal_width_vol * rng.uniform(0.7, 1.3)),
            rebalance_interval_s=float(lognormal_around(rng, c.rebalance_interval_s, 0.3, 1)[0]),
            slice_interval_s=float(lognormal_around(rng, c.slice_interval_s, 0.3, 1)[0]),
            max_slice_contracts=c.max_slice_contracts,
            max_slippage_ticks=c.max_slippage_ticks,
            execution_horizon_s=c.execution_horizon_s,
            live_vol_weight=c.live_vol_weight,
        )
        out.append(CTATrendFollower(world, f"cta_{i}", params, closes))
    return out
