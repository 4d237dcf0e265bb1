"""What every trading agent shares: an exchange account, a clock, orders, wake-ups and price watches.

Agents act only on events (their own wake-ups, a price watch, a macro event) and only by sending
orders; they never set a price. The model owns the random generator (``self.rng`` is the
model's), the event scheduler and the exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import mesa

from market.types import BUY, MARKET, SELL

if TYPE_CHECKING:
    from experiments.model import CascadeModel


class TraderAgent(mesa.Agent):
    """A Mesa agent with an exchange account. ``group`` labels its flows (e.g. ``"dealers"``)."""

    group: str = "agents"

    def __init__(self, model: CascadeModel, name: str):
        super().__init__(model)
        self.name = name
        self.owner = model.exchange.register_owner(name, self.group)

    # ------------------------------------------------------------------ reading the market
    @property
    def now_s(self) -> float:
        """Current time, seconds from the 09:30 ET open."""
        return self.model.exchange.now_s

    @property
    def price_points(self) -> float:
        """Current mark (mid, else last trade) in index points."""
        return self.model.exchange.mid_points()

    @property
    def last_points(self) -> float:
        """Last trade price (index points); the mark before the first trade. Watches compare to it."""
        last = self.model.exchange.book.last_price
        return last * self.model.exchange.tick if last is not None else self.price_points

    @property
    def position(self) -> int:
        """Own futures position (contracts)."""
        return self.model.exchange.position(self.owner)

    def to_ticks(self, points: float) -> int:
        """Index points -> ticks (nearest)."""
        return int(round(points / self.model.exchange.tick))

    # ------------------------------------------------------------------ acting
    def trade_market(self, signed_qty: int) -> int:
        """Buy (+) or sell (-) ``|signed_qty|`` futures at market; return the filled signed quantity."""
        if signed_qty == 0:
            return 0
        side = BUY if signed_qty > 0 else SELL
        res = self.model.exchange.submit(self.owner, MARKET, side, abs(int(signed_qty)))
        return side * res.filled_qty

    def wake_in(self, delay_s: float, method: Callable[[], None]) -> None:
        """Call ``method`` (a bound method of this agent) ``delay_s`` seconds from now."""
        self.model.schedule_at(self.now_s + max(delay_s, 0.0), method)

    def watch(self, level_points: float, direction: int, method: Callable[..., None]) -> int:
        """Call ``method(hit)`` once when the last trade reaches the level (+1 from below, -1 from above).

        A watch already on the far side of the last trade fires at once.
        """
        return self.model.watch(self.owner, self.to_ticks(level_points), direction, method)

    def on_news(self, event) -> None:  # noqa: B027 - optional hook
        """Macro-event hook; agents that care override it."""
