"""Dip buyers: a dollar budget, entry levels set by the drawdown from the day's high.

Each buyer splits its budget into tranches of at least one contract (see ``_tranche_qty``: the
unspent budget over the tranches left, so the last tranche spends the rest); tranche ``k`` is bought
when the price has fallen
``entry_drawdown_pct + k * tranche_step_pct`` below the buyer's reference: the day's high (the level
follows the high as it rises; with ``high_bar_s`` > 0 the highest close of bars that long, so a
spike that does not hold to a bar's close moves no level) or, for a share of the crowd
(``prior_close_share``), the prior close (a fixed level: these buyers wait for the index to turn
down on the day). Another share (``support_share``) buys at the support levels commentators watch
(``[levels] supports``): one tranche per support, highest first, a support the price is already
below skipped. Two styles:

* passive buyers rest a limit bid at the level (the bids that hold a market up) once the price has
  come within ``APPROACH_PCT`` of it, moved up with the high while untouched; once it is filled the
  next, deeper tranche is bid;
* aggressive buyers wait for the level (a price watch) and then work the tranche with marketable
  orders at most ``max_slippage_ticks`` above the ask, coming back every few seconds until it is
  bought.

A buyer never spends more than its budget and stops when it is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.base import TraderAgent
from agents.base import config_field as _f
from market.types import BUY, CANCEL, LIMIT

if TYPE_CHECKING:
    from agents.world import World

RETRY_S = (5.0, 15.0)  # an aggressive buyer comes back for the rest of a tranche after U(5, 15) s
CHECK_S = 30.0  # a passive buyer whose bid is being hit checks it again after this long (s)
REPEG_TICKS = 4  # a resting bid follows the high only once its level moved at least this far
APPROACH_PCT = 0.5  # a passive buyer bids once the price is within this % above its level


@dataclass(frozen=True, slots=True)
class DipBuyerConfig:
    """Investors with a dollar budget who buy drawdowns."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(20, "dip buyers", ge=1, le=10_000)
    capital_usd: float = _f(3.0e8, "total dip-buying capital ($)", ge=0, le=1e13)
    min_drawdown_pct: float = _f(0.8, "smallest entry drawdown from the day's high (%)", gt=0, le=100)
    max_drawdown_pct: float = _f(3.0, "largest entry drawdown from the day's high (%)", gt=0, le=100)
    tranches: int = _f(3, "budget split into this many buys", ge=1, le=100)
    tranche_step_pct: float = _f(0.5, "extra drawdown between tranches (%)", ge=0, le=100)
    aggressive_share: float = _f(0.5, "fraction of buyers who lift offers (the others rest bids)", ge=0, le=1)
    prior_close_share: float = _f(0.0, "share of buyers whose drawdown is from the prior close",
                                  ge=0, le=1)  # fmt: skip
    support_share: float = _f(0.0, "share of buyers who bid at the support levels ([levels] supports)",
                              ge=0, le=1)  # fmt: skip
    max_slippage_ticks: int = _f(8, "an aggressive buy trades at most this many ticks above the ask", ge=0,
                                 le=10_000)  # fmt: skip
    high_bar_s: float = _f(0.0, "buyers measuring from the day's high use the highest close of bars this"
                           " long (s) from the open; 0: the sampled mid's high", ge=0, le=23_400)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DipBuyerParams:
    """One buyer's parameters (drawn per agent from the scenario's ``[dip_buyers]`` table)."""

    capital_usd: float
    entry_drawdown_pct: float
    tranches: int
    tranche_step_pct: float
    aggressive: bool
    max_slippage_ticks: int = 8
    anchor_points: float | None = None  # a fixed reference (the prior close, points); None: the day's high
    levels_points: tuple[float, ...] = ()  # fixed levels, one per tranche, highest first (supports, points)
    high_bar_s: float = 0.0  # the high is the highest close of bars this long (s); 0: the sampled mid's


class DipBuyer(TraderAgent):
    """Buys drawdowns with a finite budget."""

    group = "dip_buyers"

    def __init__(self, model, name: str, params: DipBuyerParams):
        super().__init__(model, name)
        self.params = params
        self.tranche = 0
        self._watch_id: int | None = None
        self._bid_oid: int | None = None  # passive: the resting bid of the current tranche
        self._bid_qty = 0  # its size when placed (contracts)
        self._to_buy = 0  # aggressive: contracts still to buy in the tranche being worked
        model.subscribe_new_high(self, self._bar_s)
        self._arm()

    @property
    def spent_usd(self) -> float:
        """Capital deployed so far ($), read from the account."""
        return self._spent_from_account()

    @property
    def budget_left_usd(self) -> float:
        """Unspent capital ($)."""
        return max(self.params.capital_usd - self.spent_usd, 0.0)

    @property
    def fixed_levels(self) -> bool:
        """True if the entry levels are fixed (prior close, supports) rather than following the high."""
        return self.params.anchor_points is not None or bool(self.params.levels_points)

    def _level(self) -> float:
        if self.params.levels_points:
            return self.params.levels_points[self.tranche]
        dd = self.params.entry_drawdown_pct + self.tranche * self.params.tranche_step_pct
        anchor = self.params.anchor_points
        return (self.day_high(self._bar_s) if anchor is None else anchor) * (1.0 - dd / 100.0)

    @property
    def _bar_s(self) -> float:
        """Bar length of the high this buyer follows (s); 0: the sampled mid's (fixed levels always)."""
        return 0.0 if self.fixed_levels else self.params.high_bar_s

    @property
    def _n_tranches(self) -> int:
        """Tranches in the plan: one per fixed level if the buyer has them, else ``params.tranches``."""
        return len(self.params.levels_points) or self.params.tranches

    def _done(self) -> bool:
        return self.tranche >= self._n_tranches or self.budget_left_usd <= 0

    def _tranche_qty(self, worst_price_ticks: int) -> int:
        """Contracts of the next tranche at ``worst_price_ticks`` per contract (0: budget spent).

        The unspent budget is spread evenly over the tranches still to buy, so the last one spends
        what is left; each tranche is at least one contract while the budget affords one (a buyer
        with less than ``tranches`` contracts' worth buys one contract per tranche until it runs
        out) and never more than the budget affords.
        """
        ex = self.model.exchange
        unit_usd = worst_price_ticks * ex.tick * ex.market.point_value_usd
        left = self.budget_left_usd
        remaining = max(self._n_tranches - self.tranche, 1)
        return min(max(int(left / remaining // unit_usd), 1), int(left // unit_usd))

    def _arm(self) -> None:
        """Prepare the current tranche: a resting bid (passive) or a price watch (aggressive)."""
        if self._watch_id is not None:
            self.model.unwatch(self._watch_id)
            self._watch_id = None
        if not self.day_high(self._bar_s) > 0:  # armed by the first high
            return
        if self.params.levels_points:  # a support the price is already below is broken: skip it
            while not self._done() and self.last_points < self._level():
                self.tranche += 1
        if self._done():
            return
        if self.params.aggressive:
            self._watch_id = self.watch(self._level(), -1, self.on_dip)
        else:
            self._watch_id = self.watch(self._level() * (1 + APPROACH_PCT / 100), -1, self.on_approach)

    def on_approach(self, hit) -> None:
        """Passive buyer: the price is near the level, rest the bid."""
        self._watch_id = None
        self._rest_bid()

    def _rest_bid(self) -> None:
        price = self.to_ticks(self._level())
        qty = self._tranche_qty(price)
        if qty < 1:
            self.tranche = self._n_tranches
            return
        res = self.model.exchange.submit(self.owner, LIMIT, BUY, qty, price_ticks=price)
        if not res.accepted:
            return
        self._bid_oid, self._bid_qty = res.oid, qty
        self._watch_id = self.watch(price * self.model.exchange.tick, -1, self.on_bid_hit)

    def on_new_high(self, high: float) -> None:
        """The day's high rose: move the entry level up with it (unless a tranche is being bought)."""
        if self._to_buy > 0:
            return
        if self.fixed_levels:  # a prior-close or support level does not follow the high:
            if self._bid_oid is None and self._watch_id is None:  # only arm it once there is a high
                self._arm()
            return
        if self._bid_oid is None:
            self._arm()
            return
        live = self.model.exchange.book.order(self._bid_oid)
        untouched = live is not None and live["qty"] == self._bid_qty
        if untouched and self.to_ticks(self._level()) - live["price"] >= REPEG_TICKS:
            self.model.exchange.submit(self.owner, CANCEL, 0, 0, oid=self._bid_oid)
            self._bid_oid = None
            self._arm()

    def on_bid_hit(self, hit) -> None:
        """The price reached the resting bid: see whether it is filled (now and every CHECK_S)."""
        self._watch_id = None
        self.check_bid()

    def check_bid(self) -> None:
        """Passive buyer: once the bid is filled, bid the next tranche; else look again later."""
        if self._bid_oid is None:
            return
        if self.model.exchange.book.order(self._bid_oid) is None:  # filled (only we cancel it)
            self._bid_oid = None
            self.tranche += 1
            self._arm()
        else:
            self.wake_in(CHECK_S, self.check_bid)

    def on_dip(self, hit) -> None:
        """Aggressive buyer: the entry level was reached, buy this tranche."""
        self._watch_id = None
        self._to_buy = self._tranche_qty(self.protected_limit_ticks(BUY, self.params.max_slippage_ticks))
        if self._to_buy < 1:
            self.tranche = self._n_tranches
            return
        self.work_tranche()

    def work_tranche(self) -> None:
        """Aggressive buyer: buy what the book offers within the slippage cap; come back for the rest."""
        ex = self.model.exchange
        worst_ticks = self.protected_limit_ticks(BUY, self.params.max_slippage_ticks)
        unit_usd = worst_ticks * ex.tick * ex.market.point_value_usd  # never more than this per contract
        self._to_buy = min(self._to_buy, int(self.budget_left_usd // unit_usd))
        if self._to_buy > 0:
            self._to_buy -= self.trade_market(self._to_buy, self.params.max_slippage_ticks)
        if self._to_buy > 0:
            self.wake_in(float(self.rng.uniform(*RETRY_S)), self.work_tranche)
            return
        self.tranche += 1
        self._arm()

    def _spent_from_account(self) -> float:
        # cash is negative when buying; dip buyers only buy, so -cash is what they spent
        return max(-self.model.exchange.account(self.owner)["cash_usd"], 0.0)


DIP_CONTRACT_HEADROOM = 1.05
"""A dip buyer's minimum budget: one futures contract at this multiple of the prior close."""


def dip_crowd_size(capital_usd: float, n_agents: int, contract_usd: float) -> int:
    """How many dip buyers the capital supports: at most ``n_agents``, each with one contract's worth.

    Args:
        capital_usd: the class's total budget ($).
        n_agents: the scenario's number of buyers.
        contract_usd: one contract's value with headroom ($), see :data:`DIP_CONTRACT_HEADROOM`.

    Returns:
        ``min(n_agents, capital_usd // contract_usd)`` (0 if the capital buys no contract).
    """
    return int(min(n_agents, capital_usd // contract_usd))


def build_crowd(
    world: World, config: DipBuyerConfig, prev_close_points: float, supports: tuple[float, ...] = ()
) -> list[DipBuyer]:
    """The dip-buying crowd: every buyer can afford at least one contract.

    The crowd has :func:`dip_crowd_size` buyers (fewer than ``n_agents`` when the capital is small,
    e.g. $30m with a 6,642 prior close gives at most 86 buyers at $349k a contract); each gets one
    contract's worth (at :data:`DIP_CONTRACT_HEADROOM` times the prior close) plus a log-normal share
    of the rest, and buys in tranches of at least one contract (``DipBuyer._tranche_qty``). With
    small capital each buyer holds about one contract and its deeper tranches find the budget spent:
    the crowd keeps as many distinct entry levels as the capital can fill. A buyer's reference is
    drawn once: the prior close with probability ``prior_close_share``, the ``supports`` (index
    points, one tranche each) with probability ``support_share``, else the day's high.
    """
    c = config
    rng = world.rng
    point_usd = world.exchange.market.point_value_usd
    contract_usd = DIP_CONTRACT_HEADROOM * prev_close_points * point_usd
    n = dip_crowd_size(c.capital_usd, c.n_agents, contract_usd)
    if n == 0:
        return []
    weights = np.exp(rng.normal(0.0, 1.0, size=n))
    capital = contract_usd + (c.capital_usd - n * contract_usd) * weights / weights.sum()
    entries = rng.uniform(c.min_drawdown_pct, c.max_drawdown_pct, size=n)
    aggressive = rng.random(n) < c.aggressive_share
    # drawn only when used, so that a crowd of day's-high buyers keeps its random stream
    fixed = c.prior_close_share > 0 or c.support_share > 0
    reference = rng.random(n) if fixed else np.ones(n)
    from_close = reference < c.prior_close_share
    at_support = ~from_close & (reference < c.prior_close_share + c.support_share)
    levels = tuple(sorted((float(x) for x in supports), reverse=True))
    params = [
        DipBuyerParams(
            float(capital[i]),
            float(entries[i]),
            len(levels) if at_support[i] else c.tranches,
            c.tranche_step_pct,
            bool(aggressive[i]),
            c.max_slippage_ticks,
            float(prev_close_points) if from_close[i] else None,
            levels if at_support[i] else (),
            c.high_bar_s,
        )  # fmt: skip
        for i in range(n)
    ]
    return list(DipBuyer.create_agents(world, n, [f"dip_buyer_{i}" for i in range(n)], params))
