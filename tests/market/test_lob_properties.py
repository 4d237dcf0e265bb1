"""Property tests: the numba order book against the pure-Python reference on random message streams.

Streams mix every message kind with prices in a narrow band around 1000 ticks (so orders cross
often and stops cascade), a few invalid fields, oids that collide with live orders or reuse finished
ones, and times that mostly increase but sometimes go backwards.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_book import ReferenceBook

from market import types as T
from market.lob import MESSAGE_DTYPE, OrderBook, replay

LO, HI = 992, 1008  # the book's price band in these tests
MID = 1000


def checks(n: int):
    """Hypothesis settings; ``n`` examples, sized so this whole file runs in ~25 s on 1 core."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# weighted choices (repetition = weight); hypothesis shrinks towards the first entry
KINDS = [T.LIMIT] * 10 + [T.MARKET] * 2 + [T.CANCEL] * 3 + [T.MODIFY] * 4 + [T.IOC] * 2
KINDS += [T.STOP] * 3 + [T.STOP_LIMIT] * 3 + [7] + [T.LIMIT] * 5 + [-1]
SIDES = [T.BUY, T.SELL] * 12 + [0] + [T.BUY, T.SELL] * 12 + [2]
# time step; negative -> a message earlier than the clock
DTS = [0, 1, 1, 2, 0, 5, 1000, 1, 0, 3, 1, -1, 0, 1, 2, 1, 0, 7, 1, -50]
OID_MODES = ["fresh"] * 10 + ["reuse"] * 5 + ["negative"]
QTYS = [1, 2, 3, 1, 5, 2, 9, 4, 1, 3, 0, 2, 6, 1, 2, 4, 1, 3, 7, -1]
# limit price = MID -/+ offset for buys/sells (negative: aggressive); 8 is the band's edge, 9 is
# outside; None means no price (0)
PRICE_OFFSETS = [1, 0, 2, -1, 3, -2, 1, 4, 0, -3, 2, 5, 8, 9, None]
# stop trigger = MID +/- offset for buys/sells (negative: already triggered around MID)
TRIGGER_OFFSETS = [1, 2, 0, 3, -1, 4, 1, 5, -2, 8, 9, None]

raw_message = st.tuples(
    st.sampled_from(DTS),
    st.sampled_from(KINDS),
    st.sampled_from(SIDES),
    st.sampled_from(PRICE_OFFSETS),
    st.sampled_from(TRIGGER_OFFSETS),
    st.sampled_from(QTYS),  # qty: <= 0 invalid for new orders, 0 = cancel for MODIFY
    st.sampled_from(OID_MODES),
    st.integers(0, 1000),  # which earlier oid to reuse
)


def build_stream(raw: list[tuple]) -> np.ndarray:
    """Turn raw draws into a MESSAGE_DTYPE array (deterministically, so shrinking works).

    Limit prices sit a few ticks around ``MID`` on their own side, so books build depth and orders
    often cross; stops wait a few ticks away (some trigger on arrival); a few prices and triggers
    are missing (0) or outside the band [992, 1008].
    """
    out = np.zeros(len(raw), dtype=MESSAGE_DTYPE)
    clock, next_oid, used, may_rest = 0, 0, [], []
    for i, (dt, kind, side, poff, toff, qty, mode, pick) in enumerate(raw):
        if dt >= 0:
            clock += dt
            time = clock
        else:
            time = clock + dt  # the stream's clock does not move back
        if mode == "negative":
            oid = -1 - pick % 3
        elif kind in (T.CANCEL, T.MODIFY) and may_rest and pick % 7:
            recent = may_rest[-10:]  # target recent orders that may still be live
            oid = recent[pick % len(recent)]
        elif mode == "reuse" and used:
            recent = used[-6:]  # a live order (duplicate) or a finished one (reuse is fine)
            oid = recent[pick % len(recent)]
        else:
            oid = next_oid
            next_oid += 1
            used.append(oid)
        if kind in (T.LIMIT, T.STOP, T.STOP_LIMIT):
            may_rest.append(oid)
        direction = -1 if side == T.BUY else 1
        price = 0 if poff is None else MID + direction * poff
        trigger = 0 if toff is None else MID - direction * toff
        out[i] = (time, kind, side, price, trigger, qty, oid, oid % 4)
    return out


def long_lists(elements, min_size: int = 0, width: int = 8):
    """Lists of ``elements`` averaging ~60 long (up to ``width**3``) that still shrink well.

    ``st.lists`` alone mostly draws a handful of elements, and drawing the length first
    (``flatmap``) defeats the shrinker; a list of lists of lists, flattened, is long on average and
    the shrinker can still delete whole chunks at every level.
    """
    chunk = st.lists(st.lists(elements, min_size=1, max_size=width), min_size=1, max_size=width)
    return st.lists(chunk, min_size=min_size, max_size=width).map(
        lambda c: [m for sub in c for part in sub for m in part]
    )


streams = long_lists(raw_message).map(build_stream)


# ---------------------------------------------------------------------------- comparison helpers
def as_list(arr) -> list[tuple]:
    return [tuple(int(x) for x in r) for r in np.asarray(arr).tolist()]


def levels(book) -> dict[tuple[int, int], list[int]]:
    """{(side, price): oids in queue order} for every non-empty level."""
    bids, asks = book.depth(10**6)
    out = {}
    for side, arr in ((T.BUY, bids), (T.SELL, asks)):
        for price, _ in np.asarray(arr).tolist():
            out[(side, int(price))] = [int(o) for o in book.level_oids(side, int(price))]
    return out


def state(book) -> dict:
    """Everything observable about the book except the trade and reject logs."""
    bids, asks = book.depth(10**6)
    lv = levels(book)
    return {
        "depth": (np.asarray(bids).tolist(), np.asarray(asks).tolist()),
        "levels": lv,
        "queues": {o: tuple(book.queue_position(o)) for oids in lv.values() for o in oids},
        "stats": dict(book.stats),
        "best": (book.best_bid, book.best_ask, book.last_price),
        "counts": (book.n_resting, book.n_pending_stops),
    }


def assert_same(book, ref) -> None:
    assert as_list(book.trades) == as_list(ref.trades)
    assert as_list(book.rejects) == as_list(ref.rejects)
    assert state(book) == state(ref)


def assert_replay_matches_reference(msgs) -> None:
    """The compiled ``replay`` of ``msgs`` ends in the same state as the pure-Python reference book."""
    res = replay(msgs, min_price_ticks=LO, max_price_ticks=HI)
    ref = ReferenceBook(LO, HI)
    ref.process(msgs)
    assert as_list(res.trades) == as_list(res.book.trades)
    assert_same(res.book, ref)  # trades, rejects, depth, queues, stats, best bid/ask, last


def send_per_call(book, m) -> int:
    """Send one message through the per-kind OrderBook method (generic submit for bad kinds)."""
    t, k, s, p, tr, q, o, w = (int(m[f]) for f in MESSAGE_DTYPE.names)
    if k == T.LIMIT:
        return book.limit(s, p, q, o, owner=w, time=t)
    if k == T.MARKET:
        return book.market(s, q, o, owner=w, time=t)
    if k == T.IOC:
        return book.ioc(s, p, q, o, owner=w, time=t)
    if k == T.STOP:
        return book.stop(s, tr, q, o, owner=w, time=t)
    if k == T.STOP_LIMIT:
        return book.stop_limit(s, tr, p, q, o, owner=w, time=t)
    if k == T.CANCEL:
        return book.cancel(o, time=t)
    if k == T.MODIFY:
        return book.modify(o, q, time=t)
    return book.submit(t, k, s, p, tr, q, o, w)


# ------------------------------------------------------------------------ (a) replay == reference
@checks(100)
@given(streams)
def test_replay_matches_reference(msgs):
    assert_replay_matches_reference(msgs)


# ---------------------------------------------------------------------------- (b) invariants
@checks(80)
@given(streams)
def test_invariants_after_every_message(msgs):
    book = OrderBook(LO, HI, capacity=4)  # small: growth happens inside random streams too
    ref = ReferenceBook(LO, HI)
    new_orders: dict[int, tuple[int, int, int]] = {}  # oid -> (kind, side, price), latest accepted
    priority: dict[int, tuple[int, int]] = {}  # resting oid -> (message index, place in level)
    for i, m in enumerate(msgs):
        t, k, s, p, tr, q, o, w = (int(m[f]) for f in MESSAGE_DTYPE.names)
        resting_before = {x for oids in levels(ref).values() for x in oids}
        modify_up = k == T.MODIFY and o in ref.resting and q > _resting_qty(ref, o)
        n_trades = len(book.trades)

        code = book.submit(t, k, s, p, tr, q, o, w)
        assert code == ref.submit(t, k, s, p, tr, q, o, w)
        modify_up = modify_up and code == T.ACCEPTED
        if code == T.ACCEPTED and k not in (T.CANCEL, T.MODIFY):
            new_orders[o] = (k, s, p)

        # never crossed
        if book.best_bid is not None and book.best_ask is not None:
            assert book.best_bid < book.best_ask
        # quantity conserved; resting_qty is what the depth shows; stops are counted
        st_ = book.stats
        assert st_["submitted_qty"] == (
            st_["filled_qty"] + st_["resting_qty"] + st_["pending_stop_qty"]
            + st_["cancelled_qty"] + st_["dropped_qty"]
        )  # fmt: skip
        bids, asks = book.depth(10**6)
        shown = int(np.asarray(bids)[:, 1].sum() + np.asarray(asks)[:, 1].sum())
        assert st_["resting_qty"] == shown
        assert (st_["pending_stop_qty"] > 0) == (book.n_pending_stops > 0)
        assert st_["filled_qty"] == 2 * sum(int(x["qty"]) for x in book.trades)
        # the new trades: at the maker's price, within the taker's limit, at the message time
        for tr_ in book.trades[n_trades:]:
            taker_kind, taker_side, taker_price = new_orders[int(tr_["taker_oid"])]
            maker_kind, maker_side, maker_price = new_orders[int(tr_["maker_oid"])]
            assert int(tr_["time"]) == t and int(tr_["qty"]) > 0
            assert int(tr_["side"]) == taker_side == -maker_side
            assert maker_kind in (T.LIMIT, T.STOP_LIMIT) and int(tr_["price"]) == maker_price
            if taker_kind in (T.LIMIT, T.IOC, T.STOP_LIMIT):
                assert taker_side * (taker_price - int(tr_["price"])) >= 0
        # FIFO within each level: same queues as the reference, and in time-priority order
        lv = levels(book)
        assert lv == levels(ref)
        for oids in lv.values():
            for j, x in enumerate(oids):
                if x not in resting_before or (modify_up and x == o):
                    priority[x] = (i, j)  # got its place in the queue with this message
            assert [priority[x] for x in oids] == sorted(priority[x] for x in oids)
        assert state(book) == state(ref)
    assert_same(book, ref)


def _resting_qty(ref: ReferenceBook, oid: int) -> int:
    side, price = ref.resting[oid]
    level = (ref.bids if side == T.BUY else ref.asks)[price]
    return next(q for x, q, _ in level if x == oid)


# ------------------------------------------------------------------------ (c) replay == per call
@checks(60)
@given(streams)
def test_replay_matches_per_call_methods(msgs):
    res = replay(msgs, min_price_ticks=LO, max_price_ticks=HI)
    book = OrderBook(LO, HI, capacity=2)
    codes = [send_per_call(book, m) for m in msgs]
    assert as_list(res.trades) == as_list(book.trades)
    assert as_list(res.rejects) == as_list(book.rejects)
    assert state(res.book) == state(book)
    rejected = {int(r["index"]): int(r["reason"]) for r in res.rejects}
    assert codes == [rejected.get(i, T.ACCEPTED) for i in range(len(msgs))]


# ---------------------------------------------------------------------------- stop-heavy streams
# only valid messages, mostly stops, market and limit orders around a thin book: deep cascades
stop_heavy = long_lists(
    st.tuples(
        st.just(1),
        st.sampled_from([T.STOP, T.STOP_LIMIT, T.STOP, T.LIMIT, T.LIMIT, T.MARKET, T.CANCEL]),
        st.sampled_from([T.BUY, T.SELL]),
        st.integers(-3, 5),
        st.integers(-3, 5),
        st.integers(1, 4),
        st.sampled_from(["fresh", "fresh", "reuse"]),
        st.integers(0, 1000),
    ),
    min_size=1,
).map(build_stream)


@checks(80)
@given(stop_heavy)
def test_stop_cascades_match_reference(msgs):
    assert_replay_matches_reference(msgs)


# ---------------------------------------------------------------------------- queue-heavy streams
# limit orders on a few non-crossing levels, many MODIFY/CANCEL, some MARKET/IOC eating the front:
# time priority under every kind of queue change
queue_heavy = long_lists(
    st.tuples(
        st.sampled_from([1, 0]),
        st.sampled_from([T.LIMIT, T.MODIFY, T.LIMIT, T.MODIFY, T.CANCEL, T.MARKET, T.IOC]),
        st.sampled_from([T.BUY, T.SELL]),
        st.sampled_from([1, 2, 3, 0]),
        st.just(1),
        st.sampled_from([1, 2, 3, 4, 0]),
        st.sampled_from(["fresh", "fresh", "reuse"]),
        st.integers(0, 1000),
    ),
    min_size=1,
).map(build_stream)


@checks(80)
@given(queue_heavy)
def test_queue_dynamics_match_reference(msgs):
    assert_replay_matches_reference(msgs)


def test_streams_are_not_trivial():
    """Guard against a generator that silently stops exercising the book (fixed examples)."""
    rng = np.random.default_rng(12345)
    seen = {"kinds": set(), "reasons": set()}
    count = dict.fromkeys(["trades", "stop_trades", "cascades", "modify_up_queued", "deep"], 0)
    for _ in range(30):
        raw = [
            (
                DTS[rng.integers(len(DTS))], KINDS[rng.integers(len(KINDS))],
                SIDES[rng.integers(len(SIDES))], PRICE_OFFSETS[rng.integers(len(PRICE_OFFSETS))],
                TRIGGER_OFFSETS[rng.integers(len(TRIGGER_OFFSETS))], QTYS[rng.integers(len(QTYS))],
                OID_MODES[rng.integers(len(OID_MODES))], int(rng.integers(0, 1000)),
            )
            for _ in range(100)
        ]  # fmt: skip
        msgs = build_stream(raw)
        ref = ReferenceBook(LO, HI)
        stop_oids = set(msgs["oid"][np.isin(msgs["kind"], [T.STOP, T.STOP_LIMIT])].tolist())
        for m in msgs:
            t, k, s, p, tr, q, o, w = (int(m[f]) for f in MESSAGE_DTYPE.names)
            if k == T.MODIFY and o in ref.resting and q > _resting_qty(ref, o) and t >= ref.clock:
                count["modify_up_queued"] += len(ref.level_oids(*ref.resting[o])) > 1
            n = len(ref.trade_list)
            ref.submit(t, k, s, p, tr, q, o, w)
            stop_takers = {x[1] for x in ref.trade_list[n:] if x[1] in stop_oids and x[1] != o}
            count["cascades"] += len(stop_takers) >= 2
            count["deep"] += any(len(oids) >= 3 for oids in levels(ref).values())
        seen["kinds"] |= {int(k) for k in msgs["kind"]}
        seen["reasons"] |= {int(r[3]) for r in ref.reject_list}
        count["trades"] += len(ref.trade_list)
        count["stop_trades"] += sum(1 for x in ref.trade_list if x[1] in stop_oids)
        assert_same(replay(msgs, LO, HI).book, ref)
    assert seen["kinds"] == set(range(7)) | {7, -1}
    assert seen["reasons"] == set(range(1, 13))
    # observed with this seed: 469 trades, 143 by stops, 4 cascades (>= 2 stops fired by one
    # message), 20 priority-losing MODIFYs in a queue, 711 messages leaving a level >= 3 orders deep
    assert count["trades"] > 400 and count["stop_trades"] > 100 and count["cascades"] >= 3
    assert count["modify_up_queued"] >= 10 and count["deep"] > 500
