"""A small stub of :class:`agents.world.World` for testing agent rules without the model.

No order book, no background market and no event loop: the test sets the price, the day's high
and the clock; market and IOC orders fill completely at the mark (a sell at the bid, a buy at the
ask, one tick apart), limit orders rest until the test fills them with :meth:`StubExchange.fill`;
wake-ups and price watches are recorded, not run. Accounts keep positions and cash like the real
exchange (cash in dollars, negative when buying). A real options desk is used where an agent needs
one (dealers' exposures).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np

from agents.world import World
from market.exchange import MarketParams, OrderResult
from market.ivsurface import EventPremium, IVSurfaceParams
from market.options_desk import OpenInterest, OptionsDesk, OptionsDeskParams
from market.types import BUY, CANCEL, IOC, LIMIT, MARKET

F0 = 6600.0  #: the stub's prior close and starting price (index points)


@dataclass
class Order:
    """One order the stub exchange received."""

    owner: int
    kind: int
    side: int
    qty: int
    price_ticks: int
    oid: int
    filled: int = 0


class StubBook:
    """Best bid/ask one tick around the mark; resting orders by id."""

    def __init__(self, exchange: StubExchange):
        self._ex = exchange
        self.resting: dict[int, Order] = {}

    @property
    def best_bid(self) -> int:
        return int(math.floor(self._ex.mid / self._ex.tick))

    @property
    def best_ask(self) -> int:
        return self.best_bid + 1

    @property
    def last_price(self) -> int:
        return int(round(self._ex.mid / self._ex.tick))

    def order(self, oid: int) -> dict[str, int] | None:
        o = self.resting.get(oid)
        return None if o is None else {"price": o.price_ticks, "qty": o.qty - o.filled}


@dataclass
class StubExchange:
    """What agents touch of :class:`market.exchange.Exchange`."""

    mid: float = F0
    now_s: float = 0.0
    cum_volume: int = 0
    vol_ann: float = 0.0
    market: MarketParams = field(default_factory=MarketParams)
    owners: list[tuple[str, str]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tick = self.market.tick_size_points
        self.book = StubBook(self)

    def register_owner(self, name: str, group: str) -> int:
        self.owners.append((name, group))
        self.positions.append(0)
        self.cash.append(0.0)
        return len(self.owners) - 1

    def set_initial_position(self, owner: int, qty: int, price_points: float) -> None:
        self.positions[owner] = int(qty)
        self.cash[owner] = -qty * price_points * self.market.point_value_usd

    def mid_points(self) -> float:
        return self.mid

    def position(self, owner: int) -> int:
        return self.positions[owner]

    def account(self, owner: int) -> dict[str, float]:
        return {"position": self.positions[owner], "cash_usd": self.cash[owner]}

    def realized_vol_ann(self) -> float:
        return self.vol_ann

    def submit(self, owner: int, kind: int, side: int, qty: int, price_ticks: int = 0,
               trigger_ticks: int = 0, oid: int | None = None) -> OrderResult:  # fmt: skip
        if kind == CANCEL:
            self.book.resting.pop(oid, None)
            return OrderResult(oid, 0, 0, math.nan)
        order = Order(owner, kind, side, qty, price_ticks, len(self.orders) + 1)
        self.orders.append(order)
        if kind in (MARKET, IOC):
            touch = self.book.best_ask if side == BUY else self.book.best_bid
            if kind == IOC and side * (price_ticks - touch) < 0:
                return OrderResult(order.oid, 0, 0, math.nan)  # the limit does not reach the touch
            self.fill(order, qty, touch)
            return OrderResult(order.oid, 0, qty, float(touch))
        assert kind == LIMIT, kind
        self.book.resting[order.oid] = order
        return OrderResult(order.oid, 0, 0, math.nan)

    def fill(self, order: Order, qty: int, price_ticks: int | None = None) -> None:
        """Fill ``qty`` of an order (a resting one leaves the book once complete)."""
        price = order.price_ticks if price_ticks is None else price_ticks
        order.filled += qty
        self.positions[order.owner] += order.side * qty
        self.cash[order.owner] -= order.side * qty * price * self.tick * self.market.point_value_usd
        self.cum_volume += qty
        if order.filled >= order.qty:
            self.book.resting.pop(order.oid, None)

    def signed_qty(self, owner: int) -> int:
        """Net contracts an owner traded through :meth:`submit` (fills only)."""
        return sum(o.side * o.filled for o in self.orders if o.owner == owner)


@dataclass
class Watch:
    owner: int
    level_ticks: int
    direction: int
    method: Callable[..., None]
    token: int


class StubWorld(mesa.Model):
    """A :class:`agents.world.World` with a scripted price; wake-ups and watches are recorded.

    Args:
        positions: open interest for the options desk (customers against the dealers).
        premia: event premia of the desk's surface.
        seed: seed of the model's generator (agents draw from it).
    """

    def __init__(self, positions: tuple[OpenInterest, ...] = (), premia: Iterable[EventPremium] = (),
                 seed: int = 0):  # fmt: skip
        super().__init__(rng=np.random.default_rng(seed))
        self._streams = np.random.SeedSequence(seed)  # new_stream() spawns from it, never from rng
        self.exchange = StubExchange()
        params = OptionsDeskParams(IVSurfaceParams(), 0.04, 0.0, event_premia=tuple(premia),
                                   positions=positions)  # fmt: skip
        self.options = OptionsDesk.from_params(params, F0, 0.0)
        self.day_high_points = F0
        self.drawdown: float | None = None  # set: drawdown_pct() returns it instead of the mark's
        self.wakeups: list[tuple[float, Callable[..., None]]] = []
        self.watches: dict[int, Watch] = {}
        self.high_subscribers: list[Any] = []
        self.bar_highs: dict[float, float] = {}  # bar length (s) -> highest bar close; the test sets it
        self._tokens = 0

    @property
    def now_s(self) -> float:
        return self.exchange.now_s

    def schedule_at(self, t_s: float, method: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        self.wakeups.append((t_s, method))

    def watch(self, owner: int, level_ticks: int, direction: int, method: Callable[..., None]) -> int:
        self._tokens += 1
        self.watches[self._tokens] = Watch(owner, level_ticks, direction, method, self._tokens)
        return self._tokens

    def unwatch(self, token: int) -> None:
        self.watches.pop(token, None)

    def subscribe_new_high(self, agent: Any, bar_s: float = 0.0) -> None:
        self.high_subscribers.append(agent)
        if bar_s > 0:
            self.bar_highs.setdefault(bar_s, -math.inf)

    def bar_high(self, bar_s: float) -> float:
        return self.bar_highs[bar_s]

    def subscribe_news(self, agent: Any) -> None:
        pass

    def new_stream(self) -> np.random.Generator:
        (child,) = self._streams.spawn(1)
        return np.random.default_rng(child)

    def drawdown_pct(self) -> float:
        if self.drawdown is not None:
            return self.drawdown
        return max(0.0, 100.0 * (1.0 - self.exchange.mid / self.day_high_points))

    # ------------------------------------------------------------------ test helpers
    def move_to(self, price_points: float, t_s: float | None = None) -> None:
        """Set the mark (and the clock); the day's high follows a rise."""
        self.exchange.mid = price_points
        self.day_high_points = max(self.day_high_points, price_points)
        if t_s is not None:
            self.exchange.now_s = t_s

    def watches_of(self, owner: int) -> list[Watch]:
        return [w for w in self.watches.values() if w.owner == owner]

    def fire(self, owner: int) -> None:
        """Move the price to the owner's one watched level and run the watch's callback."""
        (w,) = self.watches_of(owner)
        self.move_to(w.level_ticks * self.exchange.tick)
        self.unwatch(w.token)
        w.method(None)


def as_world(world: StubWorld) -> World:
    """The stub type-checks as a :class:`agents.world.World`."""
    return world
