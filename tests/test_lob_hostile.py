"""Hostile input to the order book: huge quantities, NaN, extreme prices, stop cascades, bad arrays.

The book must reject what it cannot hold with a reason code (``REJECT_QTY_RANGE`` for a quantity
above ``MAX_QTY``, the band codes for prices), refuse values no message can hold (NaN, fractions,
beyond int64) with ``ValueError``/``TypeError`` before any compiled code runs, and keep its
invariants after every message. A failure here used to be a segfault, so it ends the test process.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_book import ReferenceBook

from market import _lob_kernels as K
from market import types as T
from market.lob import MESSAGE_DTYPE, OrderBook, replay

I64_MAX, I64_MIN = 2**63 - 1, -(2**63)
LO, HI, MID = 990, 1010, 1000

HUGE_QTYS = [T.MAX_QTY, T.MAX_QTY + 1, 2**31, 2**62, I64_MAX, I64_MAX - 4, I64_MIN, -1, 0]
QTYS = [1, 2, 5, 1, 3000, 1, 7, 2] + HUGE_QTYS
# limit prices / triggers: near the mid, at and beyond the band's edges, missing, absurd
PRICES = [MID, MID - 1, MID + 1, MID - 2, MID + 2, LO, HI, LO - 1, HI + 1, 0, -1, I64_MAX, I64_MIN, 1]
KINDS = [T.LIMIT] * 6 + [T.MARKET] * 2 + [T.STOP] * 3 + [T.STOP_LIMIT] * 2 + [T.CANCEL, T.MODIFY, T.MODIFY]
KINDS += [T.IOC, 7, -1]
SIDES = [T.BUY, T.SELL] * 8 + [0, 2, -128, 127]


def checks(n: int):
    """Hypothesis settings: ``n`` examples, no deadline (the first call may load compiled code)."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


raw = st.tuples(
    st.sampled_from(KINDS),
    st.sampled_from(SIDES),
    st.sampled_from(PRICES),
    st.sampled_from(PRICES),
    st.sampled_from(QTYS),
    st.integers(0, 40),  # oid: small, so cancels, modifies and duplicates hit live orders
    st.sampled_from([0, 1, 1, 2, 0, I64_MAX // 2, -3]),  # time step (negative: back in time)
    st.sampled_from([0, 1, 2**31 - 1, -(2**31)]),  # owner, the extremes of int32
)


def build(draws: list[tuple]) -> np.ndarray:
    """A MESSAGE_DTYPE stream from draws; the clock saturates instead of overflowing int64."""
    out = np.zeros(len(draws), dtype=MESSAGE_DTYPE)
    clock = 0
    for i, (kind, side, price, trigger, qty, oid, dt, owner) in enumerate(draws):
        clock = max(min(clock + dt, I64_MAX), I64_MIN)
        out[i] = (clock, kind, side, price, trigger, qty, oid, owner)
    return out


streams = st.lists(raw, min_size=1, max_size=120).map(build)


def check_invariants(book: OrderBook) -> None:
    """What must hold after every message, whatever came in."""
    bb, ba = book.best_bid, book.best_ask
    for p in (bb, ba, book.last_price):
        assert p is None or book.min_price_ticks <= p <= book.max_price_ticks
    if bb is not None and ba is not None:
        assert bb < ba
    s = book.stats
    assert all(v >= 0 for v in s.values()), s
    assert s["submitted_qty"] == (
        s["filled_qty"] + s["resting_qty"] + s["pending_stop_qty"] + s["cancelled_qty"] + s["dropped_qty"]
    )
    bids, asks = book.depth(HI - LO + 1)
    for arr in (bids, asks):
        assert (arr[:, 1] > 0).all()  # no empty or negative level is shown
    assert s["resting_qty"] == int(bids[:, 1].sum() + asks[:, 1].sum())
    for side, arr in ((T.BUY, bids), (T.SELL, asks)):
        for price, qty in arr.tolist():
            oids = book.level_oids(side, price)
            sizes = [book.order(int(o))["qty"] for o in oids]
            assert sum(sizes) == qty and all(0 < q <= T.MAX_QTY for q in sizes)
    trades = book.trade_rows()
    assert ((trades[:, K.T_QTY] > 0) & (trades[:, K.T_QTY] <= T.MAX_QTY)).all()


@checks(120)
@given(streams)
def test_hostile_stream_keeps_invariants_after_every_message(msgs):
    book = OrderBook(LO, HI, capacity=4)  # tiny: growth happens under hostile sizes too
    ref = ReferenceBook(LO, HI)
    for m in msgs:
        args = [int(m[f]) for f in MESSAGE_DTYPE.names]
        code = book.submit(*args)
        assert code == ref.submit(*args)
        if args[5] > T.MAX_QTY and args[1] not in (T.CANCEL,) and args[1] in range(7):
            assert code != T.ACCEPTED  # nothing above MAX_QTY gets in
        check_invariants(book)
    res = replay(msgs, LO, HI, capacity=4)
    assert res.trades.tolist() == book.trades.tolist()
    assert res.rejects.tolist() == book.rejects.tolist()
    assert res.book.stats == book.stats


SIDE = st.sampled_from([T.BUY, T.SELL])


@checks(60)
@given(
    st.lists(st.tuples(SIDE, st.integers(1, 8), st.sampled_from([*HUGE_QTYS[:3], 1, 5])), max_size=40),
    st.lists(st.tuples(SIDE, st.integers(1, 3000), st.sampled_from([1, T.MAX_QTY])), min_size=1, max_size=5),
)
def test_stop_cascades_of_maximal_orders(stops, takers):
    """Layers of stops of up to MAX_QTY each, then aggressive orders that set them off in chains."""
    book = OrderBook(LO, HI, capacity=8)
    oid = 0
    for price in range(MID + 1, MID + 30):  # asks above, bids below: something for the stops to eat
        book.limit(T.SELL, price, 100, oid)
        book.limit(T.BUY, 2 * MID - price, 100, oid + 1)
        oid += 2
    for side, dist, qty in stops:
        code = book.stop(side, MID + side * dist, qty, oid)
        assert code == (T.ACCEPTED if qty <= T.MAX_QTY else T.REJECT_QTY_RANGE)
        oid += 1
        check_invariants(book)
    for side, n_asks, qty in takers:
        for i in range(min(n_asks, 200)):
            book.limit(-side, MID + side * (1 + i % 5), 1, oid)
            oid += 1
        assert book.market(side, qty, oid) == T.ACCEPTED
        oid += 1
        check_invariants(book)


# ----------------------------------------------------------------- the cases of issue 14, one by one
def test_two_huge_stops_then_a_market_order_are_refused_cleanly():
    msgs = np.zeros(3003, dtype=MESSAGE_DTYPE)
    msgs[0] = (0, T.STOP, T.BUY, 0, 1001, 2**62, 1, 0)
    msgs[1] = (0, T.STOP, T.BUY, 0, 1001, 2**62, 2, 0)
    for i in range(3000):
        msgs[2 + i] = (1, T.LIMIT, T.SELL, 1001 + i % 10, 0, 1, 10 + i, 1)
    msgs[-1] = (2, T.MARKET, T.BUY, 0, 0, 5000, 99_999, 2)
    res = replay(msgs, LO, HI)
    assert res.rejects["reason"][:2].tolist() == [T.REJECT_QTY_RANGE] * 2
    assert len(res.trades) == 3000 and res.book.n_pending_stops == 0
    check_invariants(res.book)


def test_stop_plus_market_of_almost_int64_max():
    msgs = np.zeros(3, dtype=MESSAGE_DTYPE)
    msgs[0] = (0, T.LIMIT, T.SELL, 1001, 0, 5, 1, 0)
    msgs[1] = (0, T.STOP, T.BUY, 0, 1001, 10, 2, 0)
    msgs[2] = (1, T.MARKET, T.BUY, 0, 0, I64_MAX - 4, 3, 0)
    res = replay(msgs, LO, HI)
    assert res.rejects.tolist() == [(1, 3, 2, T.REJECT_QTY_RANGE)]
    assert len(res.trades) == 0
    check_invariants(res.book)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1000.5, np.float64("nan")])
def test_nan_and_fractional_prices_raise_and_change_nothing(bad):
    book = OrderBook()
    with pytest.raises(ValueError):
        book.limit(T.BUY, bad, 1, 2)
    assert book.best_bid is None and book.n_messages == 0
    assert book.limit(T.BUY, 100, 1, 2) == T.ACCEPTED  # and the book still works
    assert book.best_bid == 100


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda b: b.limit(T.BUY, 100, 1.5, 1), ValueError),
        (lambda b: b.limit(T.BUY, 100, "1", 1), TypeError),
        (lambda b: b.limit(T.BUY, 100, None, 1), TypeError),
        (lambda b: b.limit(T.BUY, 100, True, 1), TypeError),
        (lambda b: b.market(T.BUY, 2**64, 1), ValueError),
        (lambda b: b.stop(T.SELL, math.nan, 1, 1), ValueError),
        (lambda b: b.modify(1.25, 3), ValueError),
        (lambda b: b.cancel(float("inf")), ValueError),
        (lambda b: b.limit(T.BUY, 100, 1, 1, owner=2**31), ValueError),
        (lambda b: b.submit(0, 300, 1, 100, 0, 1, 1, 0), ValueError),
        (lambda b: b.limit(T.BUY, 100, 1, 1, time=2**63), ValueError),
        (lambda b: b.depth(-1), ValueError),
        (lambda b: b.queue_position(math.nan), ValueError),
    ],
)
def test_python_methods_refuse_values_no_message_can_hold(call, error):
    book = OrderBook()
    with pytest.raises(error):
        call(book)
    assert book.n_messages == 0


def test_integral_floats_and_numpy_ints_are_accepted():
    book = OrderBook()
    assert book.limit(T.BUY, 100.0, np.int32(3), np.int64(1)) == T.ACCEPTED
    assert book.order(1)["qty"] == 3 and book.best_bid == 100


def test_quantities_at_and_above_the_maximum():
    book = OrderBook()
    assert book.limit(T.BUY, 100, I64_MAX, 1) == T.REJECT_QTY_RANGE
    assert book.limit(T.BUY, 100, I64_MAX, 2) == T.REJECT_QTY_RANGE
    assert book.limit(T.BUY, 100, T.MAX_QTY, 3) == T.ACCEPTED
    assert book.limit(T.BUY, 100, T.MAX_QTY, 4) == T.ACCEPTED
    bids, _ = book.depth(1)
    assert bids.tolist() == [[100, 2 * T.MAX_QTY]]  # positive, exact
    assert book.modify(3, I64_MAX) == T.REJECT_QTY_RANGE
    assert book.modify(3, T.MAX_QTY + 1) == T.REJECT_QTY_RANGE
    assert book.market(T.SELL, I64_MAX, 5) == T.REJECT_QTY_RANGE
    assert book.market(T.SELL, T.MAX_QTY, 6) == T.ACCEPTED
    check_invariants(book)
    assert T.REJECT_NAMES[T.REJECT_QTY_RANGE] == book.reject_reason(13)


def test_existing_reject_codes_keep_their_values():
    # a contract: saved reject logs and users' code depend on these numbers
    assert [T.ACCEPTED, T.REJECT_BAD_KIND, T.REJECT_BAD_SIDE, T.REJECT_BAD_QTY, T.REJECT_NO_PRICE,
            T.REJECT_PRICE_BAND, T.REJECT_NO_TRIGGER, T.REJECT_TRIGGER_BAND, T.REJECT_BAD_OID,
            T.REJECT_DUPLICATE_OID, T.REJECT_UNKNOWN_OID, T.REJECT_NOT_RESTING, T.REJECT_TIME_ORDER,
            T.REJECT_QTY_RANGE] == list(range(14))  # fmt: skip


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (np.zeros((3, 2), dtype=MESSAGE_DTYPE), ValueError),
        (np.zeros((), dtype=MESSAGE_DTYPE), ValueError),
        (np.zeros(3, dtype=np.int64), TypeError),
        ([(0, 0, 1, 100, 0, 1, 1, 0)], TypeError),
        (np.zeros(3, dtype=[("time", np.int64), ("kind", np.int8)]), TypeError),
    ],
)
def test_replay_checks_shape_and_dtype_before_compiling(messages, error):
    with pytest.raises(error):
        replay(messages)


def test_replay_of_a_strided_array_matches_the_contiguous_one():
    msgs = np.zeros(6, dtype=MESSAGE_DTYPE)
    for i in range(6):
        msgs[i] = (i, T.LIMIT, T.BUY if i % 2 else T.SELL, 100, 0, 1 + i, i, 0)
    assert replay(msgs[::2]).trades.tolist() == replay(msgs[::2].copy()).trades.tolist()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_price_ticks": 0},
        {"min_price_ticks": math.nan},
        {"max_price_ticks": 2**31},
        {"min_price_ticks": 1, "max_price_ticks": T.MAX_BAND_LEVELS + 1},
        {"capacity": 2**40},
        {"capacity": 0},
        {"capacity": 2.5},
    ],
)
def test_book_sizes_are_bounded(kwargs):
    with pytest.raises(ValueError):
        OrderBook(**kwargs)


def test_capacity_bound_cannot_overflow():
    book = OrderBook(LO, HI, capacity=4)
    for oid in range(3):
        assert book.stop(T.BUY, MID + 1, T.MAX_QTY, oid) == T.ACCEPTED
    sc = book.state.sc
    for q in (0, 1, T.MAX_QTY, I64_MAX, I64_MIN):
        bound = K._max_new_trades(sc, 1, q)
        assert 0 <= bound <= book.n_resting + 2 + 2 * book.n_pending_stops
    sc_copy = sc.copy()
    sc_copy[K.SC_STOP_QTY] = I64_MAX  # even a corrupt counter gives a bound in range
    assert 0 <= K._max_new_trades(sc_copy, 10**6, I64_MAX) <= book.n_resting + 2 * 10**6 + 6
