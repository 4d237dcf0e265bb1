"""Limit order book for one futures contract: integer ticks, integer contracts, price-time priority.

The matching itself runs in compiled code (``market._lob_kernels``); this module is the Python face:
:class:`OrderBook` (one method per order kind, queries) and :func:`replay` (a whole message array in
compiled code, stopping only to grow the buffers). Both run the same kernel, so they give identical
results on the same messages.

Units: prices and triggers in ticks (E-mini proxy: 0.25 index points), quantities in contracts,
times in int64 nanoseconds. Every method that sends a message returns its reject code
(``market.types.ACCEPTED`` == 0 when accepted); rejected messages change nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from market import _lob_kernels as K
from market.types import (
    BUY,
    CANCEL,
    IOC,
    LIMIT,
    MARKET,
    MAX_BAND_LEVELS,
    MAX_PRICE_TICKS,
    MESSAGE_DTYPE,
    MODIFY,
    NO_PRICE,
    REJECT_DTYPE,
    REJECT_NAMES,
    STOP,
    STOP_LIMIT,
    TRADE_DTYPE,
)

__all__ = ["MESSAGE_DTYPE", "TRADE_DTYPE", "REJECT_DTYPE", "BookState", "OrderBook", "ReplayResult", "replay"]

DEFAULT_MIN_PRICE_TICKS = 1
DEFAULT_MAX_PRICE_TICKS = 65_535
MAX_CAPACITY = 2**26  #: largest initial order table (slots); the table still grows past it on demand

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_MESSAGE_FIELDS = ("time", "kind", "side", "price", "trigger", "qty", "oid", "owner")
_FIELD_RANGES = {"kind": (-(2**7), 2**7 - 1), "side": (-(2**7), 2**7 - 1), "owner": (-(2**31), 2**31 - 1)}


def as_int(name: str, value: object, lo: int = _I64_MIN, hi: int = _I64_MAX) -> int:
    """``value`` as a Python int, or raise ``TypeError``/``ValueError``.

    ``TypeError`` for a non-number (or a bool); ``ValueError`` for NaN, infinity, a fraction or a
    value outside ``[lo, hi]``. Integral floats (``3.0``) and numpy integers are accepted. The
    default range is int64: a value the compiled book cannot hold. Range rules of the book itself
    (quantity, price band) are reject codes, the same for :class:`OrderBook` and :func:`replay`.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} = {value!r}: expected an integer, got {type(value).__name__}")
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"{name} = {value!r}: must be a finite integer")
        if not float(value).is_integer():
            raise ValueError(f"{name} = {value!r}: must be a whole number")
    out = int(value)
    if not lo <= out <= hi:
        raise ValueError(f"{name} = {value!r}: must be between {lo} and {hi}")
    return out


def check_messages(messages: object) -> np.ndarray:
    """``messages`` if it is a 1-D ``MESSAGE_DTYPE`` array (made contiguous), else raise.

    Checked before anything is compiled: ``TypeError`` for a non-array or another dtype,
    ``ValueError`` for another number of dimensions.
    """
    if not isinstance(messages, np.ndarray):
        raise TypeError(f"messages must be a numpy array of MESSAGE_DTYPE, got {type(messages).__name__}")
    if messages.dtype != MESSAGE_DTYPE:
        raise TypeError(f"messages must have dtype market.lob.MESSAGE_DTYPE, got {messages.dtype}")
    if messages.ndim != 1:
        raise ValueError(f"messages must be 1-D, got shape {messages.shape}")
    return np.ascontiguousarray(messages)


def trades_to_records(trades: np.ndarray) -> np.ndarray:
    """Convert kernel trade rows (``int64[n, 8]``) into a ``TRADE_DTYPE`` array (one compiled pass)."""
    out = np.empty(trades.shape[0], dtype=TRADE_DTYPE)
    K.trade_records(np.ascontiguousarray(trades, dtype=np.int64), out)
    return out


class BookState(NamedTuple):
    """The book's arrays as one record: what compiled callers (the background flow) take.

    All ``int64``; prices in ticks, quantities in contracts. The column constants live in
    ``market._lob_kernels`` (``O_*``, ``L_*``, ``SC_*``, ``T_*``, ``R_*``), one set per array.
    """

    orders: np.ndarray  #: ``[slot, O_*]`` order table (resting orders and pending stops)
    levels: np.ndarray  #: ``[side_index, price - min_price, L_*]`` FIFO heads, totals and stop lists
    htab: np.ndarray  #: ``[slot, 2]`` hash map oid -> order slot
    sc: np.ndarray  #: ``[SC_*]`` scalars: best prices, last trade, counters, quantity accounting
    trades: np.ndarray  #: ``[n, T_*]`` the trade tape (``sc[SC_N_TRADES]`` rows used)
    rejects: np.ndarray  #: ``[n, R_*]`` rejected messages (``sc[SC_N_REJECTS]`` rows used)


class OrderBook:
    """A price-time-priority limit order book over a fixed price band.

    Args:
        min_price_ticks: lowest accepted limit price or trigger (ticks, >= 1).
        max_price_ticks: highest accepted limit price or trigger (ticks).
        capacity: initial number of order slots; the table doubles whenever it is full.
    """

    def __init__(
        self,
        min_price_ticks: int = DEFAULT_MIN_PRICE_TICKS,
        max_price_ticks: int = DEFAULT_MAX_PRICE_TICKS,
        capacity: int = 1024,
    ):
        min_price_ticks = as_int("min_price_ticks", min_price_ticks, 1, MAX_PRICE_TICKS)
        max_price_ticks = as_int("max_price_ticks", max_price_ticks, min_price_ticks, MAX_PRICE_TICKS)
        if max_price_ticks - min_price_ticks + 1 > MAX_BAND_LEVELS:
            raise ValueError(
                f"price band {min_price_ticks}..{max_price_ticks} ticks: at most {MAX_BAND_LEVELS} levels"
            )
        capacity = as_int("capacity", capacity, 1, MAX_CAPACITY)
        (self._orders, self._levels, self._htab, self._sc, self._trades, self._rejects) = K.new_state(
            int(min_price_ticks), int(max_price_ticks), int(capacity)
        )
        self._arrays_changed()
        self.min_price_ticks = int(min_price_ticks)
        self.max_price_ticks = int(max_price_ticks)

    # ------------------------------------------------------------------ sending messages
    def submit(
        self, time: int, kind: int, side: int, price: int, trigger: int, qty: int, oid: int, owner: int
    ) -> int:
        """Send one message (the ``MESSAGE_DTYPE`` fields); return its reject code (0 = accepted).

        Raises ``TypeError``/``ValueError`` for a value no message can hold (not an integer, NaN,
        outside its field's integer type); the book's own rules give reject codes.
        """
        i64 = int  # the fast path: plain ints within their fields' ranges (literals: no global lookups)
        if not (
            type(time) is i64 and type(kind) is i64 and type(side) is i64 and type(price) is i64
            and type(trigger) is i64 and type(qty) is i64 and type(oid) is i64 and type(owner) is i64
            and -128 <= kind <= 127 and -128 <= side <= 127 and -2147483648 <= owner <= 2147483647
            and -9223372036854775808 <= time <= 9223372036854775807
            and -9223372036854775808 <= price <= 9223372036854775807
            and -9223372036854775808 <= trigger <= 9223372036854775807
            and -9223372036854775808 <= qty <= 9223372036854775807
            and -9223372036854775808 <= oid <= 9223372036854775807
        ):  # fmt: skip
            args = (time, kind, side, price, trigger, qty, oid, owner)
            time, kind, side, price, trigger, qty, oid, owner = (
                as_int(name, v, *_FIELD_RANGES.get(name, (_I64_MIN, _I64_MAX)))
                for name, v in zip(_MESSAGE_FIELDS, args, strict=True)
            )
        for _ in range(2):  # the second pass only after growing the buffers
            reason = K.apply_message(
                self._orders, self._levels, self._htab, self._sc, self._trades, self._rejects,
                time, kind, side, price, trigger, qty, oid, owner,
            )  # fmt: skip
            if reason != K.NEED_CAPACITY:
                break
            self._orders, self._htab, self._trades, self._rejects = K.grow_for(
                self._orders, self._htab, self._sc, self._trades, self._rejects, kind, qty
            )
            self._arrays_changed()
        return reason

    def reserve(self, n_msgs: int, max_qty: int) -> None:
        """Grow the buffers so that ``n_msgs`` more messages of at most ``max_qty`` contracts each fit.

        For compiled callers that send messages themselves (they check ``has_room`` first and call
        this when it fails); :meth:`submit` and :meth:`process` grow on their own.
        """
        self._orders, self._htab, self._trades, self._rejects = K.grow_room(
            self._orders, self._htab, self._sc, self._trades, self._rejects, n_msgs, max_qty
        )
        self._arrays_changed()

    def reserve_trades(self, n_rows: int) -> None:
        """Make the trade tape hold ``n_rows`` rows in all before it next has to grow.

        For callers that know about how many trades are coming (the exchange sizes it from the
        session's expected background events): the tape then never doubles and copies mid-run. The
        new rows are zeroed lazily by the operating system, so rows never written cost no memory.
        """
        n_rows = as_int("n_rows", n_rows, 0, MAX_CAPACITY)
        if n_rows > self._trades.shape[0]:
            trades = np.zeros((n_rows, self._trades.shape[1]), dtype=self._trades.dtype)
            trades[: self._trades.shape[0]] = self._trades
            self._trades = trades
            self._arrays_changed()

    @property
    def state(self) -> BookState:
        """The book's live arrays as one :class:`BookState` (views, not copies; read-only attribute).

        For compiled code that sends messages into this book (``market._flow_kernels.run_flow``):
        the arrays change as messages arrive, and are replaced when the book grows (call
        :meth:`reserve`, then take ``state`` again). Python callers use the query methods instead.
        """
        return self._state

    def _arrays_changed(self) -> None:
        """Rebuild the :attr:`state` record after the arrays were allocated or replaced by larger ones."""
        self._state = BookState(self._orders, self._levels, self._htab, self._sc, self._trades, self._rejects)

    def _now(self, time: int | None) -> int:
        return int(self._sc[K.SC_CLOCK]) if time is None else time

    def limit(
        self, side: int, price: int, qty: int, oid: int, owner: int = 0, time: int | None = None
    ) -> int:
        """Good-till-cancel limit order at ``price`` ticks; the unfilled part rests."""
        return self.submit(self._now(time), LIMIT, side, price, 0, qty, oid, owner)

    def market(self, side: int, qty: int, oid: int, owner: int = 0, time: int | None = None) -> int:
        """Market order; whatever the book cannot fill is dropped."""
        return self.submit(self._now(time), MARKET, side, 0, 0, qty, oid, owner)

    def ioc(self, side: int, price: int, qty: int, oid: int, owner: int = 0, time: int | None = None) -> int:
        """Immediate-or-cancel limit order; the unfilled part is dropped."""
        return self.submit(self._now(time), IOC, side, price, 0, qty, oid, owner)

    def stop(
        self, side: int, trigger: int, qty: int, oid: int, owner: int = 0, time: int | None = None
    ) -> int:
        """Stop-market order: a market order once the last trade reaches ``trigger`` ticks."""
        return self.submit(self._now(time), STOP, side, 0, trigger, qty, oid, owner)

    def stop_limit(
        self, side: int, trigger: int, price: int, qty: int, oid: int, owner: int = 0, time: int | None = None
    ) -> int:
        """Stop-limit order: a limit order at ``price`` once the last trade reaches ``trigger``."""
        return self.submit(self._now(time), STOP_LIMIT, side, price, trigger, qty, oid, owner)

    def cancel(self, oid: int, time: int | None = None) -> int:
        """Cancel a resting order or an untriggered stop."""
        return self.submit(self._now(time), CANCEL, 0, 0, 0, 0, oid, 0)

    def modify(self, oid: int, qty: int, time: int | None = None) -> int:
        """Set a resting order's remaining quantity.

        Smaller keeps queue priority, larger moves the order to the back of its level, 0 cancels.
        """
        return self.submit(self._now(time), MODIFY, 0, 0, 0, qty, oid, 0)

    def process(self, messages: np.ndarray) -> None:
        """Process a 1-D ``MESSAGE_DTYPE`` array in order, in compiled code.

        The compiled loop stops only when a message does not fit the buffers; they grow here (numpy
        allocations, see ``market._lob_kernels.grow_room``) and the loop goes on from that message.
        """
        messages = check_messages(messages)
        i, n = 0, len(messages)
        while True:
            i = K.apply_until_full(
                self._orders, self._levels, self._htab, self._sc, self._trades, self._rejects, messages, i
            )
            if i == n:
                break
            # message i does not fit: grow (numpy allocations, see K.grow_room) and go on from it
            self._orders, self._htab, self._trades, self._rejects = K.grow_for(
                self._orders, self._htab, self._sc, self._trades, self._rejects,
                int(messages[i]["kind"]), int(messages[i]["qty"]),
            )  # fmt: skip
            self._arrays_changed()

    # ------------------------------------------------------------------ queries
    def _price_or_none(self, field: int) -> int | None:
        p = int(self._sc[field])
        return None if p == NO_PRICE else p

    @property
    def best_bid(self) -> int | None:
        """Highest resting bid (ticks), or None if there are no bids."""
        return self._price_or_none(K.SC_BEST_BID)

    @property
    def best_ask(self) -> int | None:
        """Lowest resting ask (ticks), or None if there are no asks."""
        return self._price_or_none(K.SC_BEST_ASK)

    @property
    def last_price(self) -> int | None:
        """Price of the last trade (ticks), or None before the first trade."""
        return self._price_or_none(K.SC_LAST)

    @property
    def clock(self) -> int:
        """Time of the latest accepted-in-time message (ns)."""
        return int(self._sc[K.SC_CLOCK])

    def depth(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``n`` price levels per side as ``(bids, asks)``, each ``int64[k, 2]`` of [price, qty]."""
        bids, asks = K.depth(self._levels, self._sc, as_int("n", n, 0, MAX_BAND_LEVELS))
        return bids.copy(), asks.copy()

    def level_oids(self, side: int, price: int) -> np.ndarray:
        """Oids resting at ``price`` ticks on ``side`` (+1 bids, -1 asks), front of the queue first."""
        price = as_int("price", price)
        if not self.min_price_ticks <= price <= self.max_price_ticks:
            return np.empty(0, dtype=np.int64)
        slots = K.level_slots(self._orders, self._levels, self._sc, 0 if side == BUY else 1, price)
        return self._orders[slots, K.O_OID].copy()

    def _slot(self, oid: int) -> int:
        oid = as_int("oid", oid)
        return int(K.hash_get(self._htab, oid)) if oid >= 0 else -1

    def queue_position(self, oid: int) -> tuple[int, int]:
        """``(qty ahead, orders ahead)`` of resting order ``oid`` in its level; KeyError if not resting."""
        s = self._slot(oid)
        if s == -1 or self._orders[s, K.O_STATE] != K.STATE_RESTING:
            raise KeyError(f"no resting order with oid {oid}")
        qty, count = K.queue_ahead(self._orders, s)
        return int(qty), int(count)

    def order(self, oid: int) -> dict | None:
        """The live order ``oid`` as a dict (side, price, trigger, qty, owner, kind, resting), or None."""
        s = self._slot(oid)
        if s == -1:
            return None
        o = self._orders[s]
        return {
            "oid": int(oid),
            "side": int(o[K.O_SIDE]),
            "price": int(o[K.O_PRICE]),
            "trigger": int(o[K.O_TRIGGER]),
            "qty": int(o[K.O_QTY]),
            "owner": int(o[K.O_OWNER]),
            "kind": int(o[K.O_KIND]),
            "resting": bool(o[K.O_STATE] == K.STATE_RESTING),
        }

    @property
    def n_resting(self) -> int:
        """Number of resting orders (both sides)."""
        return int(self._sc[K.SC_N_BID_ORDERS] + self._sc[K.SC_N_ASK_ORDERS])

    @property
    def n_pending_stops(self) -> int:
        """Number of untriggered stop orders."""
        return int(self._sc[K.SC_N_BUY_STOPS] + self._sc[K.SC_N_SELL_STOPS])

    @property
    def n_trades(self) -> int:
        """Number of trades so far."""
        return int(self._sc[K.SC_N_TRADES])

    @property
    def n_messages(self) -> int:
        """Number of messages processed so far (accepted and rejected)."""
        return int(self._sc[K.SC_N_MESSAGES])

    def trade_rows(self, start: int = 0) -> np.ndarray:
        """Raw trade rows ``int64[n, 8]`` from trade number ``start`` on (a view; fast)."""
        return self._trades[start : self.n_trades]

    @property
    def trades(self) -> np.ndarray:
        """All trades so far as a ``TRADE_DTYPE`` array (a copy)."""
        return trades_to_records(self.trade_rows())

    @property
    def rejects(self) -> np.ndarray:
        """All rejected messages so far as a ``REJECT_DTYPE`` array (a copy)."""
        rows = self._rejects[: int(self._sc[K.SC_N_REJECTS])]
        out = np.empty(rows.shape[0], dtype=REJECT_DTYPE)
        K.reject_records(rows, out)
        return out

    @property
    def stats(self) -> dict[str, int]:
        """Quantity accounting in contracts.

        ``submitted_qty == filled_qty + resting_qty + pending_stop_qty + cancelled_qty + dropped_qty``
        always holds; ``filled_qty`` counts both sides of every trade (2 x traded volume).
        """
        sc = self._sc
        return {
            "submitted_qty": int(sc[K.SC_SUBMITTED]),
            "filled_qty": int(sc[K.SC_FILLED]),
            "resting_qty": int(sc[K.SC_RESTING_QTY]),
            "pending_stop_qty": int(sc[K.SC_STOP_QTY]),
            "cancelled_qty": int(sc[K.SC_CANCELLED]),
            "dropped_qty": int(sc[K.SC_DROPPED]),
        }

    @property
    def nbytes(self) -> int:
        """Memory held by the book's arrays (bytes)."""
        arrays = (self._orders, self._levels, self._htab, self._sc, self._trades, self._rejects)
        return int(sum(a.nbytes for a in arrays))

    @staticmethod
    def reject_reason(code: int) -> str:
        """Human-readable text of a reject code."""
        return REJECT_NAMES.get(int(code), f"unknown reject code {code}")


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` returns: the trades, the rejects and the final book."""

    trades: np.ndarray
    rejects: np.ndarray
    book: OrderBook


def replay(
    messages: np.ndarray,
    min_price_ticks: int = DEFAULT_MIN_PRICE_TICKS,
    max_price_ticks: int = DEFAULT_MAX_PRICE_TICKS,
    capacity: int | None = None,
) -> ReplayResult:
    """Process ``messages`` (1-D ``MESSAGE_DTYPE``) through a new book in compiled code.

    The array's type, dtype and shape are checked first (``TypeError``/``ValueError``), before any
    compiled code runs.
    """
    messages = check_messages(messages)
    cap = 1024 if capacity is None else capacity
    book = OrderBook(min_price_ticks, max_price_ticks, cap)
    book.process(messages)
    return ReplayResult(trades=book.trades, rejects=book.rejects, book=book)
