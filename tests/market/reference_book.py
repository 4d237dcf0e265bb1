"""A small, deliberately naive pure-Python order book: the oracle for the numba ``market.lob``.

It implements the order-book contract (docs: ``ARCHITECTURE.md``, section "market/") with plain
lists and dicts, favouring obvious correctness over speed:

* price levels are ``dict[price] -> list[[oid, qty, owner]]`` (list order = time priority);
* pending stops are one list in arrival order;
* best prices are found with ``max``/``min`` over the level keys;
* ``resting_qty`` and ``pending_stop_qty`` in :attr:`ReferenceBook.stats` are recomputed from the
  state on every call, so the conservation identity checked by the tests is not a tautology.

The public surface mirrors ``market.lob.OrderBook`` (same method names and return conventions),
so the same unit tests can run against both books.
"""

from __future__ import annotations

import numpy as np

from market import types as T

NEW_ORDER_KINDS = (T.LIMIT, T.MARKET, T.IOC, T.STOP, T.STOP_LIMIT)
PRICED_KINDS = (T.LIMIT, T.IOC, T.STOP_LIMIT)
TRIGGERED_KINDS = (T.STOP, T.STOP_LIMIT)


class ReferenceBook:
    """Pure-Python reference limit order book (price-time priority, stops, reject codes)."""

    def __init__(self, min_price_ticks: int = 1, max_price_ticks: int = 65535, capacity: int = 0):
        # ``capacity`` is accepted for signature compatibility with OrderBook and ignored.
        self.min_price_ticks = int(min_price_ticks)
        self.max_price_ticks = int(max_price_ticks)
        self.bids: dict[int, list[list[int]]] = {}  # price -> [[oid, qty, owner], ...] FIFO
        self.asks: dict[int, list[list[int]]] = {}
        self.resting: dict[int, tuple[int, int]] = {}  # oid -> (side, price) of resting orders
        self.stops: list[dict] = []  # pending stops, arrival order
        self.clock = 0
        self.last_price: int | None = None
        self.trade_list: list[tuple[int, int, int, int, int, int, int, int]] = []
        self.reject_list: list[tuple[int, int, int, int]] = []
        self.n_messages = 0
        self._submitted = 0
        self._filled = 0
        self._cancelled = 0
        self._dropped = 0

    # ------------------------------------------------------------------ read-only views
    @property
    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    @property
    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None

    @property
    def n_resting(self) -> int:
        return len(self.resting)

    @property
    def n_pending_stops(self) -> int:
        return len(self.stops)

    @property
    def trades(self) -> np.ndarray:
        return np.array(self.trade_list, dtype=T.TRADE_DTYPE)

    @property
    def rejects(self) -> np.ndarray:
        return np.array(self.reject_list, dtype=T.REJECT_DTYPE)

    @property
    def stats(self) -> dict[str, int]:
        resting = sum(o[1] for book in (self.bids, self.asks) for lvl in book.values() for o in lvl)
        pending = sum(s["qty"] for s in self.stops)
        return {
            "submitted_qty": self._submitted,
            "filled_qty": self._filled,
            "resting_qty": resting,
            "pending_stop_qty": pending,
            "cancelled_qty": self._cancelled,
            "dropped_qty": self._dropped,
        }

    def depth(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        bids = [[p, sum(o[1] for o in self.bids[p])] for p in sorted(self.bids, reverse=True)[:n]]
        asks = [[p, sum(o[1] for o in self.asks[p])] for p in sorted(self.asks)[:n]]
        return (
            np.array(bids, dtype=np.int64).reshape(-1, 2),
            np.array(asks, dtype=np.int64).reshape(-1, 2),
        )

    def level_oids(self, side: int, price: int) -> np.ndarray:
        book = self.bids if side == T.BUY else self.asks
        return np.array([o[0] for o in book.get(int(price), [])], dtype=np.int64)

    def queue_position(self, oid: int) -> tuple[int, int]:
        side, price = self.resting[int(oid)]  # KeyError if not resting
        level = (self.bids if side == T.BUY else self.asks)[price]
        qty_ahead = orders_ahead = 0
        for o in level:
            if o[0] == oid:
                return qty_ahead, orders_ahead
            qty_ahead += o[1]
            orders_ahead += 1
        raise AssertionError("resting index out of sync")  # pragma: no cover

    # ------------------------------------------------------------------ per-kind entry points
    def limit(self, side, price, qty, oid, owner=0, time=None) -> int:
        return self.submit(self._t(time), T.LIMIT, side, price, 0, qty, oid, owner)

    def market(self, side, qty, oid, owner=0, time=None) -> int:
        return self.submit(self._t(time), T.MARKET, side, 0, 0, qty, oid, owner)

    def ioc(self, side, price, qty, oid, owner=0, time=None) -> int:
        return self.submit(self._t(time), T.IOC, side, price, 0, qty, oid, owner)

    def stop(self, side, trigger, qty, oid, owner=0, time=None) -> int:
        return self.submit(self._t(time), T.STOP, side, 0, trigger, qty, oid, owner)

    def stop_limit(self, side, trigger, price, qty, oid, owner=0, time=None) -> int:
        return self.submit(self._t(time), T.STOP_LIMIT, side, price, trigger, qty, oid, owner)

    def cancel(self, oid, time=None) -> int:
        return self.submit(self._t(time), T.CANCEL, 0, 0, 0, 0, oid, 0)

    def modify(self, oid, qty, time=None) -> int:
        return self.submit(self._t(time), T.MODIFY, 0, 0, 0, qty, oid, 0)

    def _t(self, time) -> int:
        return self.clock if time is None else int(time)

    def process(self, messages: np.ndarray) -> None:
        for m in messages:
            self.submit(
                int(m["time"]), int(m["kind"]), int(m["side"]), int(m["price"]),
                int(m["trigger"]), int(m["qty"]), int(m["oid"]), int(m["owner"]),
            )  # fmt: skip

    # ------------------------------------------------------------------ the one message handler
    def submit(self, time, kind, side, price, trigger, qty, oid, owner) -> int:
        time, kind, side, price = int(time), int(kind), int(side), int(price)
        trigger, qty, oid, owner = int(trigger), int(qty), int(oid), int(owner)
        index = self.n_messages
        self.n_messages += 1
        reason = self._validate(time, kind, side, price, trigger, qty, oid)
        if reason != T.ACCEPTED:
            self.reject_list.append((time, oid, index, reason))
            return reason
        if kind == T.CANCEL:
            self._cancel(oid)
        elif kind == T.MODIFY:
            self._modify(oid, qty)
        elif kind in TRIGGERED_KINDS:
            self._submitted += qty
            self.stops.append(
                {"oid": oid, "kind": kind, "side": side, "price": price, "trigger": trigger,
                 "qty": qty, "owner": owner}
            )  # fmt: skip
        else:
            self._submitted += qty
            self._execute(time, kind, side, price, qty, oid, owner)
        self._run_stops(time)
        return T.ACCEPTED

    def _in_band(self, p: int) -> bool:
        return self.min_price_ticks <= p <= self.max_price_ticks

    def _is_live(self, oid: int) -> bool:
        return oid in self.resting or any(s["oid"] == oid for s in self.stops)

    def _validate(self, time, kind, side, price, trigger, qty, oid) -> int:
        if time < self.clock:
            return T.REJECT_TIME_ORDER
        self.clock = time
        if kind not in range(7):
            return T.REJECT_BAD_KIND
        if oid < 0:
            return T.REJECT_BAD_OID
        if kind == T.CANCEL:
            return T.ACCEPTED if self._is_live(oid) else T.REJECT_UNKNOWN_OID
        if kind == T.MODIFY:
            if qty < 0:
                return T.REJECT_BAD_QTY
            if qty > T.MAX_QTY:
                return T.REJECT_QTY_RANGE
            if not self._is_live(oid):
                return T.REJECT_UNKNOWN_OID
            if oid not in self.resting:
                return T.REJECT_NOT_RESTING
            return T.ACCEPTED
        if side not in (T.BUY, T.SELL):
            return T.REJECT_BAD_SIDE
        if qty <= 0:
            return T.REJECT_BAD_QTY
        if qty > T.MAX_QTY:
            return T.REJECT_QTY_RANGE
        if kind in PRICED_KINDS:
            if price <= 0:
                return T.REJECT_NO_PRICE
            if not self._in_band(price):
                return T.REJECT_PRICE_BAND
        if kind in TRIGGERED_KINDS:
            if trigger <= 0:
                return T.REJECT_NO_TRIGGER
            if not self._in_band(trigger):
                return T.REJECT_TRIGGER_BAND
        if self._is_live(oid):
            return T.REJECT_DUPLICATE_OID
        return T.ACCEPTED

    # ------------------------------------------------------------------ state changes
    def _level_of(self, oid: int) -> list[list[int]]:
        side, price = self.resting[oid]
        return (self.bids if side == T.BUY else self.asks)[price]

    def _remove_resting(self, oid: int) -> int:
        """Remove a resting order; return its remaining quantity."""
        side, price = self.resting.pop(oid)
        book = self.bids if side == T.BUY else self.asks
        level = book[price]
        i = next(i for i, o in enumerate(level) if o[0] == oid)
        qty = level.pop(i)[1]
        if not level:
            del book[price]
        return qty

    def _cancel(self, oid: int) -> None:
        if oid in self.resting:
            self._cancelled += self._remove_resting(oid)
        else:
            i = next(i for i, s in enumerate(self.stops) if s["oid"] == oid)
            self._cancelled += self.stops.pop(i)["qty"]

    def _modify(self, oid: int, qty: int) -> None:
        level = self._level_of(oid)
        entry = next(o for o in level if o[0] == oid)
        current = entry[1]
        if qty == current:
            return
        if qty == 0:
            self._cancelled += self._remove_resting(oid)
        elif qty < current:
            self._cancelled += current - qty
            entry[1] = qty  # in place: keeps queue position
        else:
            self._submitted += qty - current
            level.remove(entry)
            entry[1] = qty
            level.append(entry)  # back of the level: loses priority

    def _execute(self, time, kind, side, price, qty, oid, owner) -> None:
        """Match a new taker order; rest (LIMIT) or drop (MARKET/IOC) the remainder."""
        limit = None if kind == T.MARKET else price
        book = self.asks if side == T.BUY else self.bids
        while qty > 0 and book:
            best = min(book) if side == T.BUY else max(book)
            if limit is not None and (best > limit if side == T.BUY else best < limit):
                break
            level = book[best]
            maker = level[0]
            fill = min(qty, maker[1])
            self.trade_list.append((time, oid, maker[0], owner, maker[2], best, fill, side))
            self._filled += 2 * fill
            self.last_price = best
            qty -= fill
            maker[1] -= fill
            if maker[1] == 0:
                level.pop(0)
                del self.resting[maker[0]]
                if not level:
                    del book[best]
        if qty == 0:
            return
        if kind == T.LIMIT:
            rest = self.bids if side == T.BUY else self.asks
            rest.setdefault(price, []).append([oid, qty, owner])
            self.resting[oid] = (side, price)
        else:
            self._dropped += qty

    def _triggers(self, stop: dict) -> bool:
        last = self.last_price
        if last is None:
            return False
        return last >= stop["trigger"] if stop["side"] == T.BUY else last <= stop["trigger"]

    def _run_stops(self, time: int) -> None:
        while True:
            batch = [s for s in self.stops if self._triggers(s)]
            if not batch:
                return
            self.stops = [s for s in self.stops if not self._triggers(s)]
            for s in batch:
                kind = T.MARKET if s["kind"] == T.STOP else T.LIMIT
                self._execute(time, kind, s["side"], s["price"], s["qty"], s["oid"], s["owner"])
