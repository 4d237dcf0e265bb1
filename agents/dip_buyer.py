"""Dip buyers: a dollar budget, entry levels set by the drawdown from the day's high.

Each buyer splits its budget into tranches; tranche ``k`` is bought when the price has fallen
``entry_drawdown_pct + k * tranche_step_pct`` below the day's high (a price watch, moved up when the
high rises). Aggressive buyers lift offers with market orders; passive ones rest a bid at the best
bid and cancel it after ``patience_s`` if unfilled (the tranche is then tried again at the next
trigger). A buyer never spends more than its budget and stops when it is spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agents.base import TraderAgent
from market.types import BUY, CANCEL, LIMIT


@dataclass(frozen=True, slots=True)
class DipBuyerParams:
    """One buyer's parameters (drawn per agent from the scenario's ``[dip_buyers]`` table)."""

    capital_usd: float
    entry_drawdown_pct: float
    tranches: int
    tranche_step_pct: float
    aggressive: bool
    patience_s: float


class DipBuyer(TraderAgent):
    """Buys drawdowns with a finite budget."""

    group = "dip_buyers"

    def __init__(self, model, name: str, params: DipBuyerParams):
        super().__init__(model, name)
        self.params = params
        self.tranche = 0
        self._watch_id: int | None = None
        self._bid_oid: int | None = None
        model.subscribe_new_high(self)
        self._arm()

    @property
    def spent_usd(self) -> float:
        """Capital deployed so far ($), read from the account."""
        return self._spent_from_account()

    @property
    def budget_left_usd(self) -> float:
        """Unspent capital ($)."""
        return max(self.params.capital_usd - self.spent_usd, 0.0)

    def _level(self) -> float:
        dd = self.params.entry_drawdown_pct + self.tranche * self.params.tranche_step_pct
        return self.model.day_high_points * (1.0 - dd / 100.0)

    def _arm(self) -> None:
        if self._watch_id is not None:
            self.model.unwatch(self._watch_id)
            self._watch_id = None
        if self.tranche >= self.params.tranches or self.budget_left_usd <= 0:
            return
        if math.isfinite(self.model.day_high_points):
            self._watch_id = self.watch(self._level(), -1, self.on_dip)

    def on_new_high(self, high: float) -> None:
        """The day's high rose: move the entry level up with it (unless a bid is working)."""
        if self._bid_oid is None:
            self._arm()

    def on_dip(self, hit) -> None:
        """The entry level was reached: buy this tranche."""
        self._watch_id = None
        ex = self.model.exchange
        price = self.price_points
        usd = min(self.params.capital_usd / self.params.tranches, self.budget_left_usd)
        qty = int(usd // (price * ex.market.point_value_usd))
        if qty < 1:
            self.tranche = self.params.tranches
            return
        if self.params.aggressive:
            res = ex.submit(self.owner, LIMIT, BUY, qty, price_ticks=ex.book.best_ask or self.to_ticks(price))
            if res.filled_qty < qty and ex.book.order(res.oid) is not None:
                ex.submit(self.owner, CANCEL, 0, 0, oid=res.oid)
            self.tranche += 1
            self._arm()
        else:
            bid = ex.book.best_bid or self.to_ticks(price)
            res = ex.submit(self.owner, LIMIT, BUY, qty, price_ticks=bid)
            self._bid_oid = res.oid
            self._pos_before = self.position - res.filled_qty
            self.wake_in(self.params.patience_s, self.check_bid)

    def check_bid(self) -> None:
        """Patience ran out: cancel what is left of the bid, account the fills, move on."""
        ex = self.model.exchange
        if self._bid_oid is not None:
            live = ex.book.order(self._bid_oid)
            if live is not None:
                ex.submit(self.owner, CANCEL, 0, 0, oid=self._bid_oid)
            filled = self.position - self._pos_before
            self._bid_oid = None
            if filled > 0:
                self.tranche += 1
        self._arm()

    def _spent_from_account(self) -> float:
        # cash is negative when buying; dip buyers only buy, so -cash is what they spent
        return max(-self.model.exchange.account(self.owner)["cash_usd"], 0.0)
