"""Put-buying hedgers: customers who buy index puts from the dealers, and sell them back at a profit.

Before a scheduled event resolves they buy puts on every decision (pushing the dealers' quoted IV
up through the demand term); after it their demand fades to ``post_event_qty``. In a sell-off past
``panic_drawdown_pct`` from the day's high they buy more (``panic_qty``, at most ``panic_max_buys``
times). A put bought earlier is
sold back once it is worth ``monetize_gain_pct`` more than was paid (monetizing the hedge).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.base import TraderAgent, lognormal_around
from agents.base import config_field as _f
from market.options_desk import snap_strike

if TYPE_CHECKING:
    from agents.world import World


@dataclass(frozen=True, slots=True)
class HedgerConfig:
    """Customers who buy index puts as hedges (and may monetize them)."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(10, "put buyers", ge=1, le=1000)
    decision_interval_s: float = _f(600.0, "mean time between decisions (exponential)", ge=1, le=1e6)
    pre_event_qty: int = _f(0, "SPX puts bought per decision while an event is unresolved", ge=0,
                            le=1_000_000)  # fmt: skip
    post_event_qty: int = _f(0, "SPX puts bought per decision after the events", ge=0, le=1_000_000)
    panic_drawdown_pct: float = _f(1.5, "buy more puts below this drawdown from the high (%)", gt=0, le=100)
    panic_drawdown_max_pct: float = _f(
        0.0, "if above panic_drawdown_pct, each hedger's panic threshold is drawn uniformly between the"
        " two (%): customers add puts one after another as the sell-off deepens", ge=0, le=100,
    )
    panic_qty: int = _f(0, "SPX puts bought per decision in a panic", ge=0, le=1_000_000)
    panic_max_buys: int = _f(0, "panic purchases per hedger at most (0: no limit)", ge=0, le=1_000_000)
    monetize_gain_pct: float = _f(200.0, "sell puts back once worth this % more than paid", gt=0, le=1e6)
    strike_pct: float = _f(95.0, "moneyness of new puts (% of spot)", gt=50, lt=120)
    expiry_day: int = _f(1, "expiry of new puts (days after the simulated day)", ge=0, le=3650)
    panic_strike_pct: float = _f(
        0.0, "moneyness of the puts bought in a panic (% of spot; 0: strike_pct)", ge=0, lt=120
    )
    panic_expiry_day: int = _f(
        -1, "expiry of the puts bought in a panic (days; 0 = 0DTE; -1: expiry_day)", ge=-1, le=3650
    )


@dataclass(frozen=True, slots=True)
class HedgerParams:
    """One hedger's parameters (drawn per agent from the scenario's ``[hedgers]`` table)."""

    decision_interval_s: float
    pre_event_qty: int
    post_event_qty: int
    panic_drawdown_pct: float
    panic_qty: int
    monetize_gain_pct: float
    strike_pct: float
    expiry_day: int
    panic_max_buys: int = 0  # panic purchases at most (0: no limit)
    panic_strike_pct: float = 0.0  # moneyness of panic puts (0: strike_pct)
    panic_expiry_day: int = -1  # expiry of panic puts (-1: expiry_day)


@dataclass
class _Lot:
    strike: float
    expiry_day: int
    qty: int
    paid_points: float


class PutBuyingHedger(TraderAgent):
    """Buys SPX puts from the dealers through the options desk."""

    group = "hedgers"

    def __init__(self, model, name: str, params: HedgerParams):
        super().__init__(model, name)
        self.params = params
        self.lots: list[_Lot] = []
        self.puts_bought = 0
        self.puts_sold = 0
        self.panic_buys = 0
        self.wake_in(self._interval(), self.decide)

    def _interval(self) -> float:
        return float(self.rng.exponential(self.params.decision_interval_s))

    def decide(self) -> None:
        """Buy puts according to the phase of the day, monetize winners, sleep."""
        p = self.params
        desk = self.model.options
        F = self.price_points
        t = self.now_s
        self._monetize(F, t)
        strike_pct, expiry_day = p.strike_pct, p.expiry_day
        if desk.surface.events:
            qty = p.pre_event_qty
        elif self.model.drawdown_pct() >= p.panic_drawdown_pct and (
            p.panic_max_buys == 0 or self.panic_buys < p.panic_max_buys
        ):
            qty = p.panic_qty
            self.panic_buys += 1
            strike_pct = p.panic_strike_pct or strike_pct
            expiry_day = expiry_day if p.panic_expiry_day < 0 else p.panic_expiry_day
        else:
            qty = p.post_event_qty
        if qty > 0:
            strike = snap_strike(F * strike_pct / 100.0)
            trade = desk.trade("hedgers", strike, expiry_day, False, qty, F, t)
            self.lots.append(_Lot(strike, expiry_day, qty, trade.price_points))
            self.puts_bought += qty
        self.wake_in(self._interval(), self.decide)

    def _monetize(self, F: float, t: float) -> None:
        if not self.lots:
            return
        desk = self.model.options
        keep = []
        lots = self.lots
        # the quotes of every lot from one surface call; a sale changes the dealers' inventory (the
        # quote markup, not the surface), so the quotes of the lots after it take the new markup
        sigma = desk.surface_ivs([lot.strike for lot in lots], [lot.expiry_day for lot in lots], F, t)
        ivs = desk.quote_ivs_from(sigma, customer_buys=False).tolist()
        for i, lot in enumerate(lots):
            value = desk.price(lot.strike, lot.expiry_day, False, F, t, ivs[i])
            if value >= lot.paid_points * (1.0 + self.params.monetize_gain_pct / 100.0):
                desk.trade("hedgers", lot.strike, lot.expiry_day, False, -lot.qty, F, t)
                self.puts_sold += lot.qty
                if i + 1 < len(lots):
                    ivs[i + 1 :] = desk.quote_ivs_from(sigma[i + 1 :], customer_buys=False).tolist()
            else:
                keep.append(lot)
        self.lots = keep


def build_crowd(world: World, config: HedgerConfig) -> list[PutBuyingHedger]:
    """The crowd of the scenario's ``[hedgers]`` table, drawn from ``world.rng``."""
    c = config
    rng = world.rng
    intervals = lognormal_around(rng, c.decision_interval_s, 0.4, c.n_agents)
    panic = np.full(c.n_agents, c.panic_drawdown_pct)
    if c.panic_drawdown_max_pct > c.panic_drawdown_pct:  # staggered thresholds (drawn only if asked)
        panic = rng.uniform(c.panic_drawdown_pct, c.panic_drawdown_max_pct, size=c.n_agents)
    params = [
        HedgerParams(
            float(intervals[i]),
            c.pre_event_qty,
            c.post_event_qty,
            float(panic[i]),
            c.panic_qty,
            c.monetize_gain_pct,
            c.strike_pct,
            c.expiry_day,
            c.panic_max_buys,
            c.panic_strike_pct,
            c.panic_expiry_day,
        )  # fmt: skip
        for i in range(c.n_agents)
    ]
    names = [f"hedger_{i}" for i in range(c.n_agents)]
    return list(PutBuyingHedger.create_agents(world, c.n_agents, names, params))
