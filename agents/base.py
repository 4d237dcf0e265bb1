"""What every trading agent shares: an exchange account, a clock, orders, wake-ups and price watches.

Agents act only on events (their own wake-ups, a price watch, a macro event) and only by sending
orders; they never set a price. The model (an :class:`agents.world.World`) owns the random
generator (``self.rng`` is the model's), the event scheduler and the exchange.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from market.types import BUY, IOC, MARKET, SELL

if TYPE_CHECKING:
    from agents.world import World


def config_field(default: Any, doc: str, **rules: Any) -> Any:
    """A config dataclass field: its default, a one-line ``doc`` and validation rules in the metadata.

    The rules (``gt``, ``ge``, ``lt``, ``le``, ``choices``, ``allow_inf``) are checked when a
    scenario is loaded; ``doc`` is what ``cascade scenarios`` and error messages show.
    """
    return field(default=default, metadata={"doc": doc, **rules})


def lognormal_around(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    """``n`` log-normal draws whose mean is ``mean``."""
    return mean * np.exp(rng.normal(-0.5 * sigma**2, sigma, size=n))


class TraderAgent(mesa.Agent):
    """A Mesa agent with an exchange account. ``group`` labels its flows (e.g. ``"dealers"``)."""

    group: str = "agents"
    model: World  # what the agent sees of the model (see agents.world); set by mesa.Agent.__init__

    def __init__(self, model: World, name: str):
        super().__init__(model)
        self.name = name
        self.owner = model.exchange.register_owner(name, self.group)
        self._volume_mark = model.exchange.cum_volume  # market volume when this agent last traded

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

    def day_high(self, bar_s: float = 0.0) -> float:
        """The day's high (index points), or with ``bar_s`` > 0 its bars' highest close.

        The sampled mid's high, or ``World.bar_high(bar_s)`` (subscribed with that bar length).
        """
        return self.model.bar_high(bar_s) if bar_s > 0 else self.model.day_high_points

    @property
    def position(self) -> int:
        """Own futures position (contracts)."""
        return self.model.exchange.position(self.owner)

    def to_ticks(self, points: float) -> int:
        """Index points -> ticks (nearest)."""
        return int(round(points / self.model.exchange.tick))

    # ------------------------------------------------------------------ acting
    def trade_market(self, signed_qty: int, max_slippage_ticks: int | None = None) -> int:
        """Buy (+) or sell (-) ``|signed_qty|`` futures now; return the filled signed quantity.

        With ``max_slippage_ticks`` the order is a marketable immediate-or-cancel limit at most that
        many ticks through the opposite touch (the last trade if that side is empty), as execution
        algorithms protect their child orders; the unfilled rest is dropped. Without it, a market
        order that walks the book.
        """
        if signed_qty == 0:
            return 0
        ex = self.model.exchange
        side = BUY if signed_qty > 0 else SELL
        qty = abs(int(signed_qty))
        if max_slippage_ticks is None:
            filled = ex.submit(self.owner, MARKET, side, qty).filled_qty
        else:
            limit = self.protected_limit_ticks(side, max_slippage_ticks)
            filled = ex.submit(self.owner, IOC, side, qty, price_ticks=limit).filled_qty
        self._volume_mark = ex.cum_volume
        return side * filled

    def protected_limit_ticks(self, side: int, max_slippage_ticks: int) -> int:
        """Limit price (ticks) ``max_slippage_ticks`` through the opposite touch (else the last trade)."""
        book = self.model.exchange.book
        touch = book.best_ask if side == BUY else book.best_bid
        if touch is None:
            touch = self.to_ticks(self.last_points)
        return max(touch + side * int(max_slippage_ticks), 1)

    def participation_room(self, max_participation: float) -> int:
        """Contracts allowed now under a percent-of-volume cap (``max_participation``).

        The cap applies to the volume the market traded since this agent's previous order;
        ``math.inf`` means no cap.
        """
        if math.isinf(max_participation):
            return sys.maxsize
        return int(max_participation * (self.model.exchange.cum_volume - self._volume_mark))

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
