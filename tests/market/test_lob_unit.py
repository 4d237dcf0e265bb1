"""Unit tests of the order-book contract, run against both the numba book and the reference book.

Every test is parametrized over ``book_cls`` (``market.lob.OrderBook`` and the pure-Python
``ReferenceBook``), so the hand-computed expectations below check both implementations.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference_book import ReferenceBook

from market import types as T
from market.lob import MESSAGE_DTYPE, TRADE_DTYPE, OrderBook, ReplayResult, replay

B, S = T.BUY, T.SELL


@pytest.fixture(params=["numba", "reference"])
def book_cls(request):
    return OrderBook if request.param == "numba" else ReferenceBook


def trades(book) -> list[tuple]:
    """Trades as tuples (time, taker_oid, maker_oid, taker_owner, maker_owner, price, qty, side)."""
    return [tuple(int(x) for x in r) for r in np.asarray(book.trades).tolist()]


def rejects(book) -> list[tuple]:
    return [tuple(int(x) for x in r) for r in np.asarray(book.rejects).tolist()]


def depth(book, n=1000):
    bids, asks = book.depth(n)
    return np.asarray(bids).tolist(), np.asarray(asks).tolist()


def snapshot(book):
    """Everything observable about a book's state (used to prove that a reject changed nothing)."""
    return (
        depth(book),
        dict(book.stats),
        book.n_resting,
        book.n_pending_stops,
        book.best_bid,
        book.best_ask,
        book.last_price,
        trades(book),
    )


def assert_conserved(book):
    s = book.stats
    assert s["submitted_qty"] == (
        s["filled_qty"] + s["resting_qty"] + s["pending_stop_qty"] + s["cancelled_qty"]
        + s["dropped_qty"]
    )  # fmt: skip


def msgs(*rows) -> np.ndarray:
    """Rows (time, kind, side, price, trigger, qty, oid, owner) -> MESSAGE_DTYPE array."""
    return np.array(list(rows), dtype=MESSAGE_DTYPE)


# ---------------------------------------------------------------------------- module surface
def test_dtypes_are_the_contract_layouts():
    assert MESSAGE_DTYPE == T.MESSAGE_DTYPE
    assert TRADE_DTYPE == T.TRADE_DTYPE


def test_empty_book(book_cls):
    book = book_cls()
    assert book.best_bid is None and book.best_ask is None and book.last_price is None
    bids, asks = book.depth(5)
    assert np.asarray(bids).shape == (0, 2) and np.asarray(asks).shape == (0, 2)
    assert book.n_resting == 0 and book.n_pending_stops == 0
    assert len(book.trades) == 0 and len(book.rejects) == 0
    assert book.stats == {
        "submitted_qty": 0, "filled_qty": 0, "resting_qty": 0, "pending_stop_qty": 0,
        "cancelled_qty": 0, "dropped_qty": 0,
    }  # fmt: skip


# ---------------------------------------------------------------------------- LIMIT
def test_limit_rests_on_both_sides(book_cls):
    book = book_cls()
    assert book.limit(B, 100, 5, oid=1, time=10) == T.ACCEPTED
    assert book.limit(B, 99, 3, oid=2) == T.ACCEPTED
    assert book.limit(S, 102, 4, oid=3) == T.ACCEPTED
    assert book.limit(B, 100, 2, oid=4) == T.ACCEPTED
    assert book.best_bid == 100 and book.best_ask == 102 and book.last_price is None
    assert depth(book) == ([[100, 7], [99, 3]], [[102, 4]])
    assert book.n_resting == 4
    assert trades(book) == []
    assert book.stats["resting_qty"] == 14 and book.stats["submitted_qty"] == 14
    assert_conserved(book)


def test_limit_crossing_fully_filled(book_cls):
    book = book_cls()
    book.limit(S, 101, 5, oid=1, owner=7, time=10)
    assert book.limit(B, 102, 5, oid=2, owner=8, time=20) == T.ACCEPTED
    # price is the maker's (101), not the taker's limit (102); side is the aggressor's
    assert trades(book) == [(20, 2, 1, 8, 7, 101, 5, B)]
    assert book.last_price == 101
    assert book.best_bid is None and book.best_ask is None and book.n_resting == 0
    assert book.stats["filled_qty"] == 10
    assert_conserved(book)


def test_limit_partial_fill_across_levels_then_rests(book_cls):
    book = book_cls()
    book.limit(S, 101, 2, oid=1, time=1)
    book.limit(S, 102, 3, oid=2, time=2)
    book.limit(S, 103, 4, oid=3, time=3)
    book.limit(B, 102, 7, oid=4, owner=5, time=4)
    assert trades(book) == [(4, 4, 1, 5, 0, 101, 2, B), (4, 4, 2, 5, 0, 102, 3, B)]
    assert depth(book) == ([[102, 2]], [[103, 4]])
    assert book.best_bid == 102 and book.best_ask == 103 and book.last_price == 102
    assert book.queue_position(4) == (0, 0)
    assert_conserved(book)


def test_sell_limit_sweeps_bids_best_first(book_cls):
    book = book_cls()
    book.limit(B, 98, 3, oid=1, time=1)
    book.limit(B, 99, 2, oid=2, time=1)
    book.limit(B, 97, 1, oid=3, time=1)
    book.limit(S, 98, 10, oid=4, time=2)
    assert [(t[2], t[5], t[6], t[7]) for t in trades(book)] == [(2, 99, 2, S), (1, 98, 3, S)]
    assert depth(book) == ([[97, 1]], [[98, 5]])
    assert book.last_price == 98
    assert_conserved(book)


def test_fifo_within_level_and_queue_position(book_cls):
    book = book_cls()
    for oid, q in ((1, 2), (2, 3), (3, 4)):
        book.limit(S, 101, q, oid=oid, time=oid)
    assert book.level_oids(S, 101).tolist() == [1, 2, 3]
    assert book.queue_position(1) == (0, 0)
    assert book.queue_position(2) == (2, 1)
    assert book.queue_position(3) == (5, 2)
    book.market(B, 4, oid=9, time=5)
    assert [(t[2], t[6]) for t in trades(book)] == [(1, 2), (2, 2)]
    assert book.level_oids(S, 101).tolist() == [2, 3]
    assert book.queue_position(2) == (0, 0)
    assert book.queue_position(3) == (1, 1)
    assert book.level_oids(B, 101).tolist() == []
    assert book.level_oids(S, 150).tolist() == []
    with pytest.raises(KeyError):
        book.queue_position(1)  # filled
    with pytest.raises(KeyError):
        book.queue_position(12345)


def test_depth_is_aggregated_best_first_and_truncated(book_cls):
    book = book_cls()
    for i in range(6):
        book.limit(B, 100 - i, i + 1, oid=i)
        book.limit(B, 100 - i, 10, oid=100 + i)
        book.limit(S, 110 + i, 2 * i + 1, oid=200 + i)
    bids, asks = book.depth(3)
    assert np.asarray(bids).tolist() == [[100, 11], [99, 12], [98, 13]]
    assert np.asarray(asks).tolist() == [[110, 1], [111, 3], [112, 5]]
    assert np.asarray(bids).dtype == np.int64 and np.asarray(bids).shape == (3, 2)
    assert len(book.depth(100)[0]) == 6


def test_time_none_uses_previous_message_time(book_cls):
    book = book_cls()
    book.limit(S, 101, 1, oid=1, time=50)
    book.market(B, 1, oid=2)
    assert trades(book)[0][0] == 50


# ---------------------------------------------------------------------------- MARKET / IOC
def test_market_against_empty_book_is_dropped(book_cls):
    book = book_cls()
    assert book.market(B, 5, oid=1, time=1) == T.ACCEPTED
    assert trades(book) == [] and book.n_resting == 0
    assert book.stats["dropped_qty"] == 5 and book.stats["submitted_qty"] == 5
    assert_conserved(book)
    # the oid is not live afterwards: it can be reused
    assert book.limit(S, 100, 1, oid=1) == T.ACCEPTED


def test_market_partial_remainder_dropped(book_cls):
    book = book_cls()
    book.limit(S, 101, 3, oid=1, time=1)
    book.limit(S, 5000, 1, oid=2, time=1)
    book.market(B, 5, oid=3, time=2)
    # a market order walks the whole book regardless of price
    assert [(t[5], t[6]) for t in trades(book)] == [(101, 3), (5000, 1)]
    assert book.stats["dropped_qty"] == 1
    assert book.n_resting == 0 and book.best_bid is None
    assert_conserved(book)


def test_ioc_fills_what_crosses_and_drops_the_rest(book_cls):
    book = book_cls()
    book.limit(S, 101, 3, oid=1, time=1)
    book.limit(S, 102, 3, oid=2, time=1)
    assert book.ioc(B, 101, 5, oid=3, time=2) == T.ACCEPTED
    assert [(t[2], t[5], t[6]) for t in trades(book)] == [(1, 101, 3)]
    assert depth(book) == ([], [[102, 3]])
    assert book.stats["dropped_qty"] == 2
    assert_conserved(book)


def test_ioc_that_does_not_cross_is_dropped_entirely(book_cls):
    book = book_cls()
    book.limit(B, 99, 3, oid=1, time=1)
    book.ioc(S, 100, 4, oid=2, time=2)
    assert trades(book) == [] and depth(book) == ([[99, 3]], [])
    assert book.stats["dropped_qty"] == 4
    assert_conserved(book)


# ---------------------------------------------------------------------------- MODIFY / CANCEL
def _two_asks(book_cls):
    book = book_cls()
    book.limit(S, 101, 5, oid=1, time=1)
    book.limit(S, 101, 5, oid=2, time=2)
    return book


def test_modify_down_keeps_priority(book_cls):
    book = _two_asks(book_cls)
    assert book.modify(1, 2, time=3) == T.ACCEPTED
    assert book.level_oids(S, 101).tolist() == [1, 2]
    assert book.queue_position(2) == (2, 1)
    assert depth(book) == ([], [[101, 7]])
    assert book.stats["cancelled_qty"] == 3
    book.market(B, 3, oid=3, time=4)
    assert [(t[2], t[6]) for t in trades(book)] == [(1, 2), (2, 1)]
    assert_conserved(book)


def test_modify_up_loses_priority(book_cls):
    book = _two_asks(book_cls)
    assert book.modify(1, 8, time=3) == T.ACCEPTED
    assert book.level_oids(S, 101).tolist() == [2, 1]
    assert book.queue_position(1) == (5, 1)
    assert book.stats["submitted_qty"] == 13
    book.market(B, 6, oid=3, time=4)
    assert [(t[2], t[6]) for t in trades(book)] == [(2, 5), (1, 1)]
    assert_conserved(book)


def test_modify_to_same_qty_changes_nothing(book_cls):
    book = _two_asks(book_cls)
    before = snapshot(book)
    assert book.modify(1, 5, time=3) == T.ACCEPTED
    assert snapshot(book) == before
    assert book.level_oids(S, 101).tolist() == [1, 2]


def test_modify_to_zero_cancels(book_cls):
    book = _two_asks(book_cls)
    assert book.modify(1, 0, time=3) == T.ACCEPTED
    assert book.level_oids(S, 101).tolist() == [2]
    assert book.n_resting == 1 and book.stats["cancelled_qty"] == 5
    assert book.cancel(1) == T.REJECT_UNKNOWN_OID
    assert book.limit(B, 90, 1, oid=1) == T.ACCEPTED  # oid free again
    assert_conserved(book)


def test_modify_of_last_order_removes_level(book_cls):
    book = book_cls()
    book.limit(B, 100, 5, oid=1, time=1)
    book.limit(B, 99, 5, oid=2, time=1)
    book.modify(1, 0)
    assert book.best_bid == 99 and depth(book) == ([[99, 5]], [])


def test_cancel_resting_keeps_others_order(book_cls):
    book = book_cls()
    for oid in (1, 2, 3):
        book.limit(B, 100, oid, oid=oid, time=1)
    assert book.cancel(2, time=2) == T.ACCEPTED
    assert book.level_oids(B, 100).tolist() == [1, 3]
    assert book.queue_position(3) == (1, 1)
    assert depth(book) == ([[100, 4]], [])
    assert book.stats["cancelled_qty"] == 2
    book.cancel(1)
    book.cancel(3)
    assert book.best_bid is None and depth(book) == ([], []) and book.n_resting == 0
    assert_conserved(book)


def test_cancel_pending_stop(book_cls):
    book = book_cls()
    book.limit(S, 100, 1, oid=1, time=1)
    book.limit(B, 99, 10, oid=2, time=1)
    book.market(B, 1, oid=3, time=2)  # last = 100
    assert book.stop(S, 99, 4, oid=4, time=3) == T.ACCEPTED
    assert book.n_pending_stops == 1 and book.stats["pending_stop_qty"] == 4
    assert book.cancel(4, time=4) == T.ACCEPTED
    assert book.n_pending_stops == 0 and book.stats["cancelled_qty"] == 4
    book.market(S, 1, oid=5, time=5)  # last = 99: the cancelled stop must not fire
    assert [t[1] for t in trades(book)] == [3, 5]
    assert depth(book) == ([[99, 9]], [])
    assert_conserved(book)


# ---------------------------------------------------------------------------- stops
def _book_with_last(book_cls, last=100, **kw):
    """Book whose last trade was at ``last`` (oids 900/901 used), both sides otherwise empty."""
    book = book_cls(**kw)
    book.limit(S, last, 1, oid=900, time=1)
    book.market(B, 1, oid=901, time=1)
    assert book.last_price == last and book.n_resting == 0
    return book


def test_stop_waits_without_a_last_price(book_cls):
    book = book_cls()
    book.limit(S, 100, 5, oid=1, time=1)
    assert book.stop(B, 1, 2, oid=2, time=2) == T.ACCEPTED  # would trigger on any last price
    assert book.stop(S, 65535, 2, oid=3, time=2) == T.ACCEPTED
    assert book.n_pending_stops == 2 and trades(book) == []


def test_sell_stop_triggers_later_at_message_time(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(B, 99, 7, oid=1, time=2)
    assert book.stop(S, 99, 3, oid=2, owner=4, time=3) == T.ACCEPTED
    assert book.n_pending_stops == 1 and len(trades(book)) == 1
    book.market(S, 1, oid=3, time=7)  # last -> 99 <= trigger
    assert trades(book)[1:] == [(7, 3, 1, 0, 0, 99, 1, S), (7, 2, 1, 4, 0, 99, 3, S)]
    assert book.n_pending_stops == 0 and depth(book) == ([[99, 3]], [])
    assert_conserved(book)


def test_buy_stop_triggers_on_equality_and_on_arrival(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(S, 101, 2, oid=1, time=2)
    book.limit(S, 102, 2, oid=2, time=2)
    assert book.stop(B, 101, 3, oid=3, time=3) == T.ACCEPTED  # 100 < 101: waits
    assert book.n_pending_stops == 1
    assert book.stop(B, 100, 1, oid=4, time=4) == T.ACCEPTED  # 100 >= 100: fires on arrival
    # oid 4 buys at 101 -> last 101 -> oid 3 fires in the next loop iteration
    assert [(t[0], t[1], t[2], t[5], t[6]) for t in trades(book)[1:]] == [
        (4, 4, 1, 101, 1), (4, 3, 1, 101, 1), (4, 3, 2, 102, 2),
    ]  # fmt: skip
    assert book.n_pending_stops == 0 and book.last_price == 102 and book.n_resting == 0
    assert_conserved(book)


def test_sell_stop_does_not_trigger_above_trigger(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(B, 95, 5, oid=1, time=2)
    book.stop(S, 99, 1, oid=2, time=2)
    book.stop(B, 101, 1, oid=3, time=2)
    assert book.n_pending_stops == 2 and len(trades(book)) == 1


def test_triggered_stop_remainder_is_dropped(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(S, 103, 2, oid=1, time=2)
    book.stop(B, 100, 5, oid=2, time=3)
    assert trades(book)[1:] == [(3, 2, 1, 0, 0, 103, 2, B)]
    assert book.stats["dropped_qty"] == 3 and book.n_pending_stops == 0
    assert book.limit(B, 90, 1, oid=2) == T.ACCEPTED  # the stop's oid is no longer live
    assert_conserved(book)


def test_stop_limit_triggers_and_remainder_rests_live(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(S, 101, 2, oid=1, time=2)
    book.limit(S, 103, 5, oid=2, time=2)
    book.limit(B, 95, 1, oid=3, time=2)
    assert book.stop_limit(B, 101, 102, 6, oid=4, owner=3, time=3) == T.ACCEPTED
    assert book.n_pending_stops == 1
    assert book.limit(B, 101, 1, oid=5, time=4) == T.ACCEPTED  # trades at 101 -> fires oid 4
    assert trades(book)[1:] == [(4, 5, 1, 0, 0, 101, 1, B), (4, 4, 1, 3, 0, 101, 1, B)]
    assert depth(book) == ([[102, 5], [95, 1]], [[103, 5]])
    assert book.level_oids(B, 102).tolist() == [4]
    assert book.n_pending_stops == 0 and book.n_resting == 3
    assert book.limit(S, 110, 1, oid=4) == T.REJECT_DUPLICATE_OID  # live under its oid
    assert book.modify(4, 2) == T.ACCEPTED  # and modifiable now that it rests
    assert book.cancel(4) == T.ACCEPTED
    assert_conserved(book)


def test_stop_limit_on_arrival_crossing(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(B, 99, 2, oid=1, time=2)
    book.limit(B, 98, 2, oid=2, time=2)
    book.stop_limit(S, 100, 99, 5, oid=3, time=3)  # last 100 <= 100: fires now, sells at >= 99
    assert trades(book)[1:] == [(3, 3, 1, 0, 0, 99, 2, S)]
    assert depth(book) == ([[98, 2]], [[99, 3]])
    assert_conserved(book)


def test_stop_cascade_batch_rule(book_cls):
    """Stops made triggerable inside a batch wait until the whole batch has run."""
    book = _book_with_last(book_cls, 100)
    for oid, p in ((11, 99), (12, 98), (13, 97)):
        book.limit(B, p, 1, oid=oid, time=2)
    book.limit(B, 96, 5, oid=14, time=2)
    book.stop(S, 99, 1, oid=21, time=3)
    book.stop(S, 98, 1, oid=22, time=3)
    book.stop(S, 99, 1, oid=23, time=3)
    assert book.n_pending_stops == 3
    book.market(S, 1, oid=30, time=4)  # last -> 99: batch [21, 23]; 22 (98) only afterwards
    assert [(t[1], t[2], t[5]) for t in trades(book)[1:]] == [
        (30, 11, 99), (21, 12, 98), (23, 13, 97), (22, 14, 96),
    ]  # fmt: skip
    assert {t[0] for t in trades(book)[1:]} == {4}
    assert book.n_pending_stops == 0 and depth(book) == ([[96, 4]], [])
    assert_conserved(book)


def test_stop_batch_is_in_arrival_order_not_trigger_order(book_cls):
    book = _book_with_last(book_cls, 100)
    for i, p in enumerate(range(99, 93, -1)):
        book.limit(B, p, 1, oid=10 + i, time=2)  # 99..94, one lot each
    book.stop(S, 97, 1, oid=21, time=3)  # arrives first, triggers "later"
    book.stop(S, 99, 1, oid=22, time=3)
    book.market(S, 4, oid=30, time=4)  # sweeps 99..96, last 96: both fire in one batch
    assert [(t[1], t[5]) for t in trades(book)[-2:]] == [(21, 95), (22, 94)]
    assert book.n_resting == 0 and book.n_pending_stops == 0


def test_buy_stop_limit_cascade_mixed(book_cls):
    book = _book_with_last(book_cls, 100)
    book.limit(S, 101, 1, oid=1, time=2)
    book.limit(S, 102, 1, oid=2, time=2)
    book.limit(S, 104, 3, oid=3, time=2)
    book.stop_limit(B, 102, 102, 2, oid=20, time=3)  # fires at 102, can only buy at <= 102
    book.stop(B, 101, 1, oid=21, time=3)
    book.limit(B, 101, 1, oid=22, time=5)  # last 101 -> 21 buys 102 -> 20 fires, rests 2 @ 102
    assert [(t[1], t[2], t[5]) for t in trades(book)[1:]] == [(22, 1, 101), (21, 2, 102)]
    assert depth(book) == ([[102, 2]], [[104, 3]])
    assert book.n_pending_stops == 0 and book.queue_position(20) == (0, 0)
    assert_conserved(book)


def test_rejected_message_does_not_run_stops(book_cls):
    # a stop can only become triggerable through an accepted message, so a reject in between
    # must leave pending stops pending (nothing else changes either)
    book = _book_with_last(book_cls, 100)
    book.limit(S, 101, 1, oid=1, time=2)
    book.stop(B, 101, 1, oid=2, time=2)
    assert book.limit(B, 101, 0, oid=3, time=3) == T.REJECT_BAD_QTY
    assert book.n_pending_stops == 1 and len(trades(book)) == 1


# ---------------------------------------------------------------------------- rejects
BAND = {"min_price_ticks": 90, "max_price_ticks": 110}
T0 = 1000  # clock of the populated book


def populated(book_cls):
    """A book with resting orders on both sides, a last price, pending stops and a filled oid."""
    book = book_cls(**BAND)
    book.limit(S, 101, 5, oid=1, owner=1, time=10)
    book.limit(S, 102, 3, oid=2, owner=1, time=20)
    book.limit(B, 99, 4, oid=3, owner=2, time=30)
    book.limit(B, 98, 6, oid=4, owner=2, time=40)
    book.limit(S, 100, 2, oid=5, owner=1, time=50)
    book.market(B, 2, oid=6, owner=2, time=60)  # fills oid 5 at 100; oid 5, 6 finished
    book.stop(S, 95, 2, oid=7, owner=3, time=70)
    book.stop_limit(B, 105, 106, 1, oid=8, owner=3, time=T0)
    assert book.last_price == 100 and book.n_pending_stops == 2 and book.n_resting == 4
    assert rejects(book) == []
    return book


# (time, kind, side, price, trigger, qty, oid) -> expected reason
REJECT_CASES = {
    "time_order": ((T0 - 1, T.LIMIT, B, 100, 0, 1, 50), T.REJECT_TIME_ORDER),
    "time_order_cancel": ((T0 - 1, T.CANCEL, 0, 0, 0, 0, 1), T.REJECT_TIME_ORDER),
    "time_order_beats_kind": ((0, 9, B, 100, 0, 1, 50), T.REJECT_TIME_ORDER),
    "bad_kind_7": ((T0, 7, B, 100, 0, 1, 50), T.REJECT_BAD_KIND),
    "bad_kind_neg": ((T0, -1, B, 100, 0, 1, 50), T.REJECT_BAD_KIND),
    "bad_kind_beats_oid": ((T0, 7, B, 100, 0, 1, -3), T.REJECT_BAD_KIND),
    "bad_oid_limit": ((T0, T.LIMIT, B, 100, 0, 1, -1), T.REJECT_BAD_OID),
    "bad_oid_beats_side": ((T0, T.LIMIT, 0, 100, 0, 1, -1), T.REJECT_BAD_OID),
    "bad_oid_cancel": ((T0, T.CANCEL, 0, 0, 0, 0, -1), T.REJECT_BAD_OID),
    "bad_oid_modify": ((T0, T.MODIFY, 0, 0, 0, -1, -1), T.REJECT_BAD_OID),
    "cancel_unknown": ((T0, T.CANCEL, B, 100, 0, 1, 999), T.REJECT_UNKNOWN_OID),
    "cancel_filled": ((T0, T.CANCEL, 0, 0, 0, 0, 5), T.REJECT_UNKNOWN_OID),
    "cancel_market_oid": ((T0, T.CANCEL, 0, 0, 0, 0, 6), T.REJECT_UNKNOWN_OID),
    "modify_bad_qty": ((T0, T.MODIFY, 0, 0, 0, -1, 1), T.REJECT_BAD_QTY),
    "modify_bad_qty_beats_unknown": ((T0, T.MODIFY, 0, 0, 0, -1, 999), T.REJECT_BAD_QTY),
    "modify_unknown": ((T0, T.MODIFY, 0, 0, 0, 3, 999), T.REJECT_UNKNOWN_OID),
    "modify_filled": ((T0, T.MODIFY, 0, 0, 0, 3, 5), T.REJECT_UNKNOWN_OID),
    "modify_stop": ((T0, T.MODIFY, 0, 0, 0, 3, 7), T.REJECT_NOT_RESTING),
    "modify_stop_limit_zero": ((T0, T.MODIFY, 0, 0, 0, 0, 8), T.REJECT_NOT_RESTING),
    "side_zero": ((T0, T.LIMIT, 0, 100, 0, 1, 50), T.REJECT_BAD_SIDE),
    "side_two_market": ((T0, T.MARKET, 2, 0, 0, 1, 50), T.REJECT_BAD_SIDE),
    "side_beats_qty": ((T0, T.IOC, -2, 100, 0, 0, 50), T.REJECT_BAD_SIDE),
    "side_stop": ((T0, T.STOP, 0, 0, 95, 1, 50), T.REJECT_BAD_SIDE),
    "side_stop_limit": ((T0, T.STOP_LIMIT, 3, 100, 95, 1, 50), T.REJECT_BAD_SIDE),
    "qty_zero_limit": ((T0, T.LIMIT, B, 100, 0, 0, 50), T.REJECT_BAD_QTY),
    "qty_neg_market": ((T0, T.MARKET, S, 0, 0, -5, 50), T.REJECT_BAD_QTY),
    "qty_zero_stop": ((T0, T.STOP, S, 0, 95, 0, 50), T.REJECT_BAD_QTY),
    "qty_beats_price": ((T0, T.LIMIT, B, 0, 0, 0, 50), T.REJECT_BAD_QTY),
    "no_price_limit": ((T0, T.LIMIT, B, 0, 0, 1, 50), T.REJECT_NO_PRICE),
    "no_price_ioc": ((T0, T.IOC, S, -1, 0, 1, 50), T.REJECT_NO_PRICE),
    "no_price_stop_limit": ((T0, T.STOP_LIMIT, S, 0, 95, 1, 50), T.REJECT_NO_PRICE),
    "no_price_beats_trigger": ((T0, T.STOP_LIMIT, S, 0, 0, 1, 50), T.REJECT_NO_PRICE),
    "band_low_limit": ((T0, T.LIMIT, B, 89, 0, 1, 50), T.REJECT_PRICE_BAND),
    "band_high_ioc": ((T0, T.IOC, B, 111, 0, 1, 50), T.REJECT_PRICE_BAND),
    "band_stop_limit": ((T0, T.STOP_LIMIT, B, 111, 105, 1, 50), T.REJECT_PRICE_BAND),
    "band_beats_trigger": ((T0, T.STOP_LIMIT, B, 111, 0, 1, 50), T.REJECT_PRICE_BAND),
    "band_beats_duplicate": ((T0, T.LIMIT, B, 200, 0, 1, 1), T.REJECT_PRICE_BAND),
    "no_trigger_stop": ((T0, T.STOP, S, 0, 0, 1, 50), T.REJECT_NO_TRIGGER),
    "no_trigger_stop_limit": ((T0, T.STOP_LIMIT, S, 99, -4, 1, 50), T.REJECT_NO_TRIGGER),
    "trigger_band_low": ((T0, T.STOP, S, 0, 89, 1, 50), T.REJECT_TRIGGER_BAND),
    "trigger_band_high": ((T0, T.STOP_LIMIT, B, 106, 111, 1, 50), T.REJECT_TRIGGER_BAND),
    "trigger_band_beats_dup": ((T0, T.STOP, B, 0, 111, 1, 7), T.REJECT_TRIGGER_BAND),
    "dup_resting": ((T0, T.LIMIT, S, 105, 0, 1, 1), T.REJECT_DUPLICATE_OID),
    "dup_resting_market": ((T0, T.MARKET, S, 0, 0, 1, 3), T.REJECT_DUPLICATE_OID),
    "dup_pending_stop": ((T0, T.IOC, B, 101, 0, 1, 7), T.REJECT_DUPLICATE_OID),
    "dup_pending_stop_limit": ((T0, T.STOP, S, 0, 95, 1, 8), T.REJECT_DUPLICATE_OID),
}


@pytest.mark.parametrize("case", list(REJECT_CASES))
@pytest.mark.parametrize("entry", ["submit", "process"])
def test_reject_changes_nothing(book_cls, case, entry):
    (time, kind, side, price, trigger, qty, oid), reason = REJECT_CASES[case]
    book = populated(book_cls)
    n_before = 8  # messages processed by populated()
    before = snapshot(book)
    queues = {oid_: book.queue_position(oid_) for oid_ in (1, 2, 3, 4)}
    if entry == "submit":
        assert book.submit(time, kind, side, price, trigger, qty, oid, 9) == reason
    else:
        book.process(msgs((time, kind, side, price, trigger, qty, oid, 9)))
    assert snapshot(book) == before
    assert {oid_: book.queue_position(oid_) for oid_ in (1, 2, 3, 4)} == queues
    assert rejects(book) == [(time, oid, n_before, reason)]
    assert_conserved(book)
    # hidden state (queues, stops, clock) is intact: the same follow-up gives the same result as on
    # a book that never saw the rejected message
    fresh = populated(book_cls)
    for b in (book, fresh):
        b.market(B, 9, oid=60, time=2 * T0)  # sweeps the asks, last 102, drops 1
        b.limit(B, 95, 3, oid=61)
        b.market(S, 20, oid=62)  # last 95: sell stop 7 fires, finds no bid
    assert snapshot(book) == snapshot(fresh)
    assert book.n_pending_stops == 1 and book.last_price == 95
    assert [(t[1], t[5]) for t in trades(book)[-3:]] == [(62, 99), (62, 98), (62, 95)]


def test_rejects_advance_clock_unless_time_rejected(book_cls):
    book = book_cls(**BAND)
    assert book.limit(B, 100, 0, oid=1, time=500) == T.REJECT_BAD_QTY  # clock -> 500
    assert book.limit(B, 100, 1, oid=2, time=400) == T.REJECT_TIME_ORDER
    assert book.limit(B, 100, 1, oid=3, time=450) == T.REJECT_TIME_ORDER  # clock still 500
    assert book.limit(B, 100, 1, oid=4, time=500) == T.ACCEPTED  # equal time is fine
    assert book.submit(-1, T.LIMIT, B, 100, 0, 1, 5, 0) == T.REJECT_TIME_ORDER
    assert rejects(book) == [
        (500, 1, 0, T.REJECT_BAD_QTY), (400, 2, 1, T.REJECT_TIME_ORDER),
        (450, 3, 2, T.REJECT_TIME_ORDER), (-1, 5, 4, T.REJECT_TIME_ORDER),
    ]  # fmt: skip


def test_negative_time_rejected_on_fresh_book(book_cls):
    book = book_cls()
    assert book.limit(B, 100, 1, oid=1, time=-5) == T.REJECT_TIME_ORDER
    assert book.n_resting == 0


def test_ignored_fields_do_not_cause_rejects(book_cls):
    book = book_cls(**BAND)
    # MARKET ignores price and trigger; LIMIT/IOC ignore trigger; CANCEL/MODIFY ignore side etc.
    book.limit(S, 100, 5, oid=1, time=1)
    assert book.submit(2, T.MARKET, B, -7, 999, 1, 2, 0) == T.ACCEPTED
    assert book.submit(2, T.LIMIT, B, 95, -3, 1, 3, 0) == T.ACCEPTED
    assert book.submit(2, T.IOC, B, 100, 1000, 1, 4, 0) == T.ACCEPTED
    assert book.submit(2, T.STOP, B, -1, 100, 1, 5, 0) == T.ACCEPTED  # STOP ignores price
    assert book.submit(2, T.MODIFY, 7, 999, -1, 1, 1, 0) == T.ACCEPTED  # 2 left -> 1
    assert book.submit(2, T.CANCEL, -9, 0, 0, -4, 3, 0) == T.ACCEPTED
    assert rejects(book) == []
    assert depth(book) == ([], [[100, 1]])


def test_band_edges_accepted(book_cls):
    book = book_cls(**BAND)
    assert book.limit(B, 90, 1, oid=1, time=1) == T.ACCEPTED
    assert book.limit(S, 110, 1, oid=2) == T.ACCEPTED
    assert book.stop(B, 110, 1, oid=3) == T.ACCEPTED
    assert book.stop_limit(S, 90, 90, 1, oid=4) == T.ACCEPTED
    assert rejects(book) == []


def test_finished_oid_can_be_reused(book_cls):
    book = book_cls()
    book.limit(S, 100, 1, oid=1, time=1)
    book.limit(B, 100, 1, oid=2, time=1)  # both finished
    book.stop(B, 200, 1, oid=3, time=1)
    book.cancel(3)
    assert book.limit(B, 90, 1, oid=1) == T.ACCEPTED
    assert book.stop(S, 50, 1, oid=2) == T.ACCEPTED
    assert book.ioc(S, 80, 1, oid=3) == T.ACCEPTED
    assert rejects(book) == []


def test_reject_index_counts_all_messages(book_cls):
    book = book_cls()
    book.process(msgs((1, T.LIMIT, B, 100, 0, 1, 1, 0), (1, T.CANCEL, 0, 0, 0, 0, 7, 0)))
    book.limit(B, 100, 1, oid=1)
    book.process(msgs((1, T.MARKET, S, 0, 0, 0, 2, 0)))
    assert rejects(book) == [
        (1, 7, 1, T.REJECT_UNKNOWN_OID), (1, 1, 2, T.REJECT_DUPLICATE_OID),
        (1, 2, 3, T.REJECT_BAD_QTY),
    ]  # fmt: skip


# ---------------------------------------------------------------------------- process / replay
def test_process_equals_per_call_methods(book_cls):
    stream = msgs(
        (1, T.LIMIT, S, 101, 0, 3, 1, 1),
        (2, T.LIMIT, B, 99, 0, 2, 2, 2),
        (3, T.STOP, B, 0, 101, 2, 3, 3),
        (4, T.STOP_LIMIT, S, 98, 99, 2, 4, 3),
        (5, T.IOC, B, 101, 0, 1, 5, 2),
        (6, T.MODIFY, 0, 0, 0, 5, 2, 0),
        (6, T.MARKET, S, 0, 0, 1, 6, 1),
        (7, T.CANCEL, 0, 0, 0, 0, 1, 0),
    )
    a = book_cls()
    a.process(stream)
    b = book_cls()
    assert b.limit(S, 101, 3, 1, owner=1, time=1) == T.ACCEPTED
    assert b.limit(B, 99, 2, 2, owner=2, time=2) == T.ACCEPTED
    assert b.stop(B, 101, 2, 3, owner=3, time=3) == T.ACCEPTED
    assert b.stop_limit(S, 99, 98, 2, 4, owner=3, time=4) == T.ACCEPTED
    assert b.ioc(B, 101, 1, 5, owner=2, time=5) == T.ACCEPTED
    assert b.modify(2, 5, time=6) == T.ACCEPTED
    assert b.market(S, 1, 6, owner=1, time=6) == T.ACCEPTED
    assert b.cancel(1, time=7) == T.REJECT_UNKNOWN_OID  # bought by the buy stop
    assert trades(a) == trades(b) and rejects(a) == rejects(b) and snapshot(a) == snapshot(b)
    assert trades(a) == [
        (5, 5, 1, 2, 1, 101, 1, B),  # IOC -> last 101 -> buy stop 3 fires
        (5, 3, 1, 3, 1, 101, 2, B),
        (6, 6, 2, 1, 2, 99, 1, S),  # last 99 -> sell stop-limit 4 fires, sells at >= 98
        (6, 4, 2, 3, 2, 99, 2, S),
    ]
    assert depth(a) == ([[99, 2]], [])


def test_replay_matches_process():
    stream = msgs(
        (1, T.LIMIT, S, 101, 0, 3, 1, 1),
        (2, T.LIMIT, B, 99, 0, 2, 2, 2),
        (3, T.MARKET, B, 0, 0, 1, 3, 2),
        (3, T.LIMIT, B, 0, 0, 1, 4, 2),
    )
    res = replay(stream, min_price_ticks=1, max_price_ticks=1000)
    assert isinstance(res, ReplayResult)
    ref = ReferenceBook(1, 1000)
    ref.process(stream)
    assert trades(res) == trades(ref) == [(3, 3, 1, 2, 1, 101, 1, B)]
    assert rejects(res) == rejects(ref) == [(3, 4, 3, T.REJECT_NO_PRICE)]
    assert snapshot(res.book) == snapshot(ref)
    assert res.trades.dtype == TRADE_DTYPE


# ---------------------------------------------------------------------------- capacity
def test_capacity_growth_resting_orders(book_cls):
    book = book_cls(capacity=16)
    n = 5000
    for i in range(n):
        side = B if i % 2 == 0 else S
        price = 1000 - (i % 37) if side == B else 1001 + (i % 41)
        assert book.limit(side, price, 1 + i % 5, oid=i, owner=i % 7, time=i) == T.ACCEPTED
    assert book.n_resting == n
    total = sum(1 + i % 5 for i in range(n))
    bids, asks = book.depth(10_000)
    assert int(np.asarray(bids)[:, 1].sum() + np.asarray(asks)[:, 1].sum()) == total
    assert book.stats["resting_qty"] == total
    assert book.level_oids(B, 1000).tolist() == list(range(0, n, 2 * 37))
    last_ask = 1001 + (n - 1) % 41
    ahead = [i for i in range(1, n - 1, 2) if 1001 + i % 41 == last_ask]
    assert book.queue_position(n - 1) == (sum(1 + i % 5 for i in ahead), len(ahead))
    for i in range(n):
        book.queue_position(i)  # every order is present
    assert book.best_bid == 1000 and book.best_ask == 1001


def test_capacity_growth_stops_and_cascade(book_cls):
    book = book_cls(capacity=16)
    n = 3000
    book.limit(S, 1000, 1, oid=10**6, time=1)
    book.market(B, 1, oid=10**6 + 1, time=1)  # last 1000
    for i in range(n):
        assert book.limit(B, 999 - i % 20, 1, oid=i, time=2) == T.ACCEPTED
        assert book.stop(S, 999, 1, oid=n + i, time=2) == T.ACCEPTED
    assert book.n_pending_stops == n and book.n_resting == n
    book.market(S, 1, oid=3 * n, time=3)  # last 999: every stop fires in one batch
    assert book.n_pending_stops == 0 and book.n_resting == 0
    tr = trades(book)
    assert len(tr) == 1 + 1 + (n - 1) and book.stats["dropped_qty"] == 1  # last stop finds no bid
    assert [t[1] for t in tr[1:]] == [3 * n] + list(range(n, 2 * n - 1))
    assert_conserved(book)


# ---------------------------------------------------------------------------- odd but valid values
def test_extreme_field_values_pass_through(book_cls):
    book = book_cls()
    big_oid, big_time = 2**62 + 12345, 2**62
    assert book.limit(S, 65535, T.MAX_QTY, oid=0, owner=2**31 - 1, time=big_time) == T.ACCEPTED
    assert book.limit(S, 1, 3, oid=big_oid, owner=-7) == T.ACCEPTED
    assert book.market(B, 4, oid=2**63 - 1, owner=-(2**31)) == T.ACCEPTED
    assert trades(book) == [
        (big_time, 2**63 - 1, big_oid, -(2**31), -7, 1, 3, B),
        (big_time, 2**63 - 1, 0, -(2**31), 2**31 - 1, 65535, 1, B),
    ]
    assert book.queue_position(0) == (0, 0)
    assert depth(book) == ([], [[65535, T.MAX_QTY - 1]])
    assert book.level_oids(S, 0).tolist() == [] and book.level_oids(S, 70000).tolist() == []
    bids, asks = book.depth(0)
    assert np.asarray(bids).shape == (0, 2) and np.asarray(asks).shape == (0, 2)
    assert_conserved(book)


def test_many_oid_lifecycles_with_growth(book_cls):
    """Insert/cancel churn over widely spread oids (hash tables with deletions and regrowth)."""
    book = book_cls(capacity=16)
    rng = np.random.default_rng(7)
    oids = rng.choice(2**40, size=6000, replace=False)
    live: dict[int, int] = {}
    for i, oid in enumerate(oids.tolist()):
        price = 990 + i % 10 if i % 2 else 1010 + i % 10
        assert book.limit(B if i % 2 else S, price, 1 + i % 3, oid=oid, time=i) == T.ACCEPTED
        live[oid] = price
        if i % 3 == 0:  # cancel an older order, then reuse its oid later
            victim = oids[i // 2].item()
            if victim in live:
                assert book.cancel(victim) == T.ACCEPTED
                del live[victim]
    assert book.n_resting == len(live)
    for oid in live:
        book.queue_position(oid)
    for oid in oids[:100].tolist():
        expected = T.REJECT_DUPLICATE_OID if oid in live else T.ACCEPTED
        assert book.limit(B, 900, 1, oid=oid) == expected
    assert len(rejects(book)) == sum(o in live for o in oids[:100].tolist()) > 0
    assert_conserved(book)
