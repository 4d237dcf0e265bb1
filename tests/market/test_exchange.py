"""The exchange: accounts, mark-to-market, price watches, the clock, order validation, determinism.

A *quiet* exchange (no market makers, no noise orders) lets a test place every resting order by
hand, so fills, average prices and P&L can be checked against numbers worked out on paper.
Reference price 100 points = 400 ticks; 1 tick = 0.25 points = $12.50 per contract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market import _flow_kernels as F
from market import _lob_kernels as K
from market.exchange import (
    MAX_RESERVED_TRADE_ROWS,
    TRADES_PER_EXPECTED_EVENT,
    Exchange,
    MarketParams,
    expected_events,
)
from market.flow import FlowParams
from market.types import (
    BUY,
    CANCEL,
    IOC,
    LIMIT,
    MARKET,
    MODIFY,
    REJECT_BAD_QTY,
    REJECT_BAD_SIDE,
    REJECT_UNKNOWN_OID,
    SELL,
)

QUIET = FlowParams(n_market_makers=0, noise_limit_rate_per_s=0.0, noise_market_rate_per_s=0.0)
TICK_USD = 12.5
SHORT = MarketParams(session_end_s=3600.0)


def quiet_exchange(n_agents: int = 2) -> tuple[Exchange, list[int]]:
    ex = Exchange(100.0, QUIET, seed=0, market=SHORT)
    return ex, [ex.register_owner(f"agent_{i}", "agents") for i in range(n_agents)]


def assert_conserved(ex: Exchange) -> None:
    """Futures and cash are only moved between owners, never created (exact integers)."""
    assert int(ex.positions.sum()) == 0
    assert int(ex.cash_ticks.sum()) == 0


def assert_accounts_match_tape(ex: Exchange) -> None:
    """Every owner's position and cash equal what the trade tape implies (exact, in ticks)."""
    tr = ex.trades()
    price_ticks = np.rint(tr["price"].to_numpy() / ex.tick).astype(np.int64)
    qty = tr["qty"].to_numpy()
    side = tr["side"].to_numpy()
    buyer = np.where(side == BUY, tr["taker_owner"], tr["maker_owner"])
    seller = np.where(side == BUY, tr["maker_owner"], tr["taker_owner"])
    pos = np.zeros(ex.n_owners, dtype=np.int64)
    cash = np.zeros(ex.n_owners, dtype=np.int64)
    np.add.at(pos, buyer, qty)
    np.add.at(pos, seller, -qty)
    np.add.at(cash, buyer, -qty * price_ticks)
    np.add.at(cash, seller, qty * price_ticks)
    np.testing.assert_array_equal(ex.positions, pos)
    np.testing.assert_array_equal(ex.cash_ticks, cash)


def assert_mtm_identity(ex: Exchange) -> None:
    """Average-cost accounting: cash + position x mark == realized + position x (mark - average)."""
    mark_usd = ex.mark_ticks() * TICK_USD
    total = 0.0
    for owner in range(ex.n_owners):
        a = ex.account(owner)
        unrealized = a["position"] * (mark_usd - a["avg_price_points"] / ex.tick * TICK_USD)
        # float64 average prices: exact up to rounding (1e-9 relative, far below a tick's $12.50)
        assert a["mtm_pnl_usd"] == pytest.approx(a["realized_pnl_usd"] + unrealized, rel=1e-9, abs=1e-6)
        total += a["mtm_pnl_usd"]
    assert total == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------------- accounts by hand
def test_average_price_realized_and_mark_to_market_by_hand():
    ex, (a, b) = quiet_exchange()
    assert ex.submit(b, LIMIT, SELL, 5, 401).accepted
    assert ex.submit(b, LIMIT, SELL, 5, 402).accepted

    r = ex.submit(a, MARKET, BUY, 3)  # 3 @ 401
    assert (r.filled_qty, r.avg_price_ticks) == (3, 401.0)
    r = ex.submit(a, MARKET, BUY, 4)  # 2 @ 401 + 2 @ 402
    assert (r.filled_qty, r.avg_price_ticks) == (4, 401.5)
    acc = ex.account(a)
    assert acc["position"] == 7
    assert acc["avg_price_points"] == pytest.approx(2809 / 7 * 0.25)  # (5 x 401 + 2 x 402) / 7 ticks
    assert acc["cash_usd"] == -(5 * 401 + 2 * 402) * TICK_USD
    assert acc["realized_pnl_usd"] == 0.0
    assert ex.account(b)["position"] == -7
    assert ex.account(b)["avg_price_points"] == pytest.approx(2809 / 7 * 0.25)
    assert_conserved(ex)

    assert ex.submit(b, LIMIT, BUY, 10, 398).accepted
    r = ex.submit(a, MARKET, SELL, 4)  # reduce the long: 4 @ 398 realizes 4 x (398 - 2809/7)
    assert (r.filled_qty, r.avg_price_ticks) == (4, 398.0)
    acc = ex.account(a)
    assert acc["position"] == 3
    assert acc["avg_price_points"] == pytest.approx(2809 / 7 * 0.25)  # a reduction keeps the average
    assert acc["realized_pnl_usd"] == pytest.approx(4 * (398 - 2809 / 7) * TICK_USD)
    assert ex.account(b)["realized_pnl_usd"] == pytest.approx(-4 * (398 - 2809 / 7) * TICK_USD)

    r = ex.submit(a, MARKET, SELL, 6)  # flip: close 3, open a 3-lot short at 398
    assert r.filled_qty == 6
    acc = ex.account(a)
    assert acc["position"] == -3
    assert acc["avg_price_points"] == pytest.approx(398 * 0.25)
    assert acc["realized_pnl_usd"] == pytest.approx(-23 * TICK_USD)  # 7 x (398 - 2809/7) = -23 ticks
    # cash: -(2005 + 804) + 10 x 398 = 1171 ticks
    assert acc["cash_usd"] == 1171 * TICK_USD
    bacc = ex.account(b)
    assert (bacc["position"], bacc["avg_price_points"]) == (3, pytest.approx(398 * 0.25))
    assert bacc["realized_pnl_usd"] == pytest.approx(23 * TICK_USD)

    # the book: asks 3 @ 402, no bids -> the mark is the last trade (398)
    assert ex.book.best_bid is None and ex.mark_ticks() == 398.0
    assert ex.account(a)["mtm_pnl_usd"] == pytest.approx((1171 - 3 * 398) * TICK_USD)
    ex.submit(b, LIMIT, BUY, 1, 396)  # now the mark is the mid (396 + 402) / 2 = 399
    assert ex.mark_ticks() == 399.0 and ex.mid_points() == 399 * 0.25
    assert ex.account(a)["mtm_pnl_usd"] == pytest.approx(-26 * TICK_USD)  # -23 realized, -3 open
    assert ex.account(b)["mtm_pnl_usd"] == pytest.approx(26 * TICK_USD)
    assert ex.account(a)["volume"] == 17 and ex.account(b)["volume"] == 17
    assert ex.cum_volume == 17
    assert_conserved(ex)
    assert_accounts_match_tape(ex)
    assert_mtm_identity(ex)


def test_resting_order_fills_settle_for_the_maker():
    ex, (a, b) = quiet_exchange()
    rest = ex.submit(a, LIMIT, BUY, 5, 399)
    assert rest.accepted and rest.filled_qty == 0
    r = ex.submit(b, IOC, SELL, 8, 398)  # 5 fill at the maker's 399, the rest is dropped
    assert (r.filled_qty, r.avg_price_ticks) == (5, 399.0)
    assert ex.position(a) == 5 and ex.position(b) == -5
    assert ex.account(a)["avg_price_points"] == 399 * 0.25
    assert ex.book.best_bid is None and ex.book.best_ask is None
    tape = ex.trades()
    assert list(tape["taker_class"]) == ["agents"] and list(tape["maker_owner"]) == [a]


def test_cancel_and_modify_of_an_agent_order():
    ex, (a, _) = quiet_exchange()
    r = ex.submit(a, LIMIT, SELL, 5, 410)
    assert ex.submit(a, MODIFY, 0, 2, oid=r.oid).accepted
    assert ex.book.depth(1)[1].tolist() == [[410, 2]]
    assert ex.submit(a, CANCEL, 0, 0, oid=r.oid).accepted
    assert ex.book.best_ask is None
    assert ex.submit(a, CANCEL, 0, 0, oid=r.oid).reason == REJECT_UNKNOWN_OID


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # owner
            st.sampled_from([LIMIT, MARKET, IOC]),
            st.sampled_from([BUY, SELL]),
            st.integers(1, 9),  # qty
            st.integers(395, 405),  # price ticks
        ),
        min_size=1,
        max_size=40,
    )
)
def test_accounts_conserved_after_every_order(orders):
    ex, owners = quiet_exchange(3)
    for who, kind, side, qty, price in orders:
        ex.submit(owners[who], kind, side, qty, price if kind != MARKET else 0)
        assert_conserved(ex)
        assert_accounts_match_tape(ex)
        assert_mtm_identity(ex)
    # an independent average-cost ledger, replayed from the tape, gives the same realized P&L
    ledger = {o: [0, 0.0, 0.0] for o in range(ex.n_owners)}  # position, average ticks, realized ticks
    for t in ex.trades().itertuples():
        price = round(t.price / ex.tick)
        buyer, seller = (t.taker_owner, t.maker_owner) if t.side == BUY else (t.maker_owner, t.taker_owner)
        for owner, dq in ((buyer, t.qty), (seller, -t.qty)):
            pos, avg, real = ledger[owner]
            if pos == 0 or (pos > 0) == (dq > 0):
                avg = (avg * abs(pos) + price * abs(dq)) / abs(pos + dq)
            else:
                closed = min(abs(dq), abs(pos))
                real += np.sign(pos) * closed * (price - avg)
                if abs(dq) > abs(pos):
                    avg = price
                elif abs(dq) == abs(pos):
                    avg = 0.0
            ledger[owner] = [pos + dq, avg, real]
    for owner, (pos, avg, real) in ledger.items():
        acc = ex.account(owner)
        assert acc["position"] == pos
        assert acc["avg_price_points"] == pytest.approx(avg * ex.tick, abs=1e-9)
        assert acc["realized_pnl_usd"] == pytest.approx(real * TICK_USD, abs=1e-6)


def test_accounts_conserved_with_background_flow_and_an_agent():
    """Market makers, noise traders and an agent trading at random: exact conservation throughout."""
    rng = np.random.default_rng(7)
    ex = Exchange(6642.16, FlowParams(), seed=11, market=SHORT)
    agent = ex.register_owner("agent", "agents")
    t = 0.0
    for _ in range(300):
        t += float(rng.exponential(2.0))
        ex.advance_to(t)
        side = BUY if rng.random() < 0.5 else SELL
        if rng.random() < 0.5:
            ex.submit(agent, MARKET, side, int(rng.integers(1, 40)))
        else:
            touch = ex.book.best_bid if side == BUY else ex.book.best_ask
            ex.submit(
                agent, LIMIT, side, int(rng.integers(1, 20)), int(touch) - side * int(rng.integers(0, 3))
            )
        assert_conserved(ex)
    assert ex.book.n_trades > 5_000 and ex.position(agent) != 0
    assert_accounts_match_tape(ex)
    assert_mtm_identity(ex)
    groups = ex.owner_groups
    assert groups.count("background") == 7 and groups[-1] == "agents"  # 6 makers + the noise traders


# ---------------------------------------------------------------------------- price watches
def test_watch_crossed_by_an_agent_order_is_reported_at_the_next_advance():
    ex, (a, b) = quiet_exchange()
    for p in (400, 399, 398):
        ex.submit(b, LIMIT, BUY, 1, p)
    ex.advance_to(10.0)
    down = ex.add_watch(a, 399, -1)
    up = ex.add_watch(a, 420, 1)
    ex.submit(a, MARKET, SELL, 2)  # trades 400 then 399: reaches the level
    hit = ex.advance_to(20.0)
    assert hit is not None
    assert (hit.watch_id, hit.owner, hit.level_ticks, hit.direction) == (down, a, 399, -1)
    assert hit.t_s == 10.0 and ex.now_s == 10.0  # reported at the order's time, clock not advanced
    assert ex.advance_to(20.0) is None and ex.now_s == 20.0
    ex.submit(a, MARKET, SELL, 1)  # 398: further below, but the watch has fired already
    assert ex.advance_to(30.0) is None
    ex.submit(b, LIMIT, SELL, 1, 420)
    ex.submit(a, MARKET, BUY, 1)  # up watch at 420
    hit = ex.advance_to(40.0)
    assert hit is not None and (hit.watch_id, hit.direction, hit.t_s) == (up, 1, 30.0)


def test_watch_not_reached_does_not_fire_and_removed_watch_never_fires():
    ex, (a, b) = quiet_exchange()
    for p in (400, 399, 398):
        ex.submit(b, LIMIT, BUY, 1, p)
    w_far = ex.add_watch(a, 397, -1)
    w_removed = ex.add_watch(a, 400, -1)
    ex.remove_watch(w_removed)
    ex.submit(a, MARKET, SELL, 1)  # 400: would have hit w_removed; 397 is not reached
    assert ex.advance_to(5.0) is None
    ex.submit(a, MARKET, SELL, 2)  # 399, 398: still above 397
    assert ex.advance_to(6.0) is None
    ex.remove_watch(w_far)
    ex.remove_watch(w_far)  # removing twice is harmless
    ex.submit(b, LIMIT, BUY, 1, 390)
    ex.submit(a, MARKET, SELL, 1)
    assert ex.advance_to(7.0) is None
    with pytest.raises(ValueError, match="direction"):
        ex.add_watch(a, 400, 0)


def test_two_watches_crossed_by_one_order_both_fire():
    ex, (a, b) = quiet_exchange()
    for p in (400, 399, 398, 397):
        ex.submit(b, LIMIT, BUY, 1, p)
    w1 = ex.add_watch(a, 399, -1)
    w2 = ex.add_watch(a, 398, -1)
    ex.submit(a, MARKET, SELL, 4)  # sweeps to 397: both levels crossed by one order
    hits = [ex.advance_to(1.0), ex.advance_to(1.0)]
    assert {h.watch_id for h in hits if h is not None} == {w1, w2}


def _first_crossing_time(tape: pd.DataFrame, after_s: float, level_points: float, direction: int) -> float:
    """Time of the first event whose last trade price reaches the level (events share a timestamp)."""
    last = tape[tape["time_s"] > after_s].groupby("time_s", sort=True)["price"].last()
    crossed = last[last >= level_points] if direction > 0 else last[last <= level_points]
    return float(crossed.index[0]) if len(crossed) else float("nan")


def test_background_watches_fire_at_the_first_crossing_only_once():
    ex = Exchange(6642.16, FlowParams(), seed=5, market=SHORT)
    watcher = ex.register_owner("watcher", "agents")
    ex.advance_to(60.0)
    last = ex.book.last_price
    levels = {
        ex.add_watch(watcher, last + 6, 1): (last + 6, 1),
        ex.add_watch(watcher, last - 6, -1): (last - 6, -1),
    }
    hits = []
    while (hit := ex.advance_to(3600.0)) is not None:
        hits.append(hit)
        assert hit.t_s < 3600.0 and hit.t_s == ex.now_s
        tick_last = ex.book.last_price
        assert tick_last >= hit.level_ticks if hit.direction > 0 else tick_last <= hit.level_ticks
    assert ex.now_s == 3600.0
    assert sorted(h.watch_id for h in hits) == sorted(levels)  # each fired, exactly once
    tape = ex.trades()
    for h in hits:
        level, direction = levels[h.watch_id]
        assert (h.level_ticks, h.direction) == (level, direction)
        assert h.t_s == _first_crossing_time(tape, 60.0, level * ex.tick, direction)


# ---------------------------------------------------------------------------- clock and validation
def test_advance_to_refuses_to_go_back_in_time():
    ex, _ = quiet_exchange()
    ex.advance_to(100.0)
    ex.advance_to(100.0)  # staying put is fine
    with pytest.raises(ValueError, match="already at 100"):
        ex.advance_to(99.5)
    assert ex.now_s == 100.0


def test_submit_rejects_bad_input_clearly():
    ex, (a, b) = quiet_exchange()
    ex.submit(b, LIMIT, SELL, 5, 401)
    before = (ex.positions, ex.cash_ticks, ex.book.depth(5)[1].tolist(), ex.n_messages)
    with pytest.raises(ValueError, match="kind = 9: not an order kind"):
        ex.submit(a, 9, BUY, 1, 401)
    with pytest.raises(ValueError, match="need the oid"):
        ex.submit(a, CANCEL, 0, 0)
    with pytest.raises(ValueError, match="need the oid"):
        ex.submit(a, MODIFY, 0, 3)
    assert ex.n_messages == before[3]  # refused before reaching the book
    r = ex.submit(a, MARKET, 0, 1)
    assert not r.accepted and r.reason == REJECT_BAD_SIDE and r.filled_qty == 0
    r = ex.submit(a, LIMIT, BUY, 0, 401)
    assert r.reason == REJECT_BAD_QTY and ex.book.reject_reason(r.reason).startswith("quantity")
    after = (ex.positions, ex.cash_ticks, ex.book.depth(5)[1].tolist())
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert after[2] == before[2]


# ---------------------------------------------------------------------------- determinism
def _day(seed: int, steps: np.ndarray, watch: bool = False) -> Exchange:
    ex = Exchange(6642.16, FlowParams(), seed=seed, market=MarketParams(session_end_s=900.0))
    if watch:
        ex.add_watch(0, 26_560, -1)
        ex.add_watch(0, 26_580, 1)
    for t in steps:
        while ex.advance_to(float(t)) is not None:
            pass
    return ex


def test_same_seed_same_market_regardless_of_how_time_is_cut():
    one = _day(3, np.array([900.0]))
    cut = _day(3, np.round(np.arange(0.37, 900.0, 0.37), 6).tolist() + [900.0], watch=True)
    assert one.n_messages > 30_000
    pd.testing.assert_frame_equal(one.snapshots(), cut.snapshots(), check_exact=True)
    pd.testing.assert_frame_equal(one.trades(), cut.trades(), check_exact=True)
    np.testing.assert_array_equal(one.cash_ticks, cut.cash_ticks)


def test_different_seeds_give_different_markets():
    a = _day(3, np.array([300.0]))
    b = _day(4, np.array([300.0]))
    assert not a.snapshots()["last"].equals(b.snapshots()["last"])
    assert a.n_messages != b.n_messages or not a.trades().equals(b.trades())
    ss = np.random.SeedSequence(3)  # a SeedSequence and its int entropy give the same market
    c = Exchange(6642.16, FlowParams(), seed=ss, market=MarketParams(session_end_s=900.0))
    c.advance_to(300.0)
    pd.testing.assert_frame_equal(a.trades(), c.trades(), check_exact=True)


def _bounds_by_refresh(ex: Exchange) -> tuple[int, int]:
    fi = ex._state.fi.copy()
    F.refresh_watch_bounds(fi, ex._state.watches)
    return int(fi[F.FI_MIN_UP_WATCH]), int(fi[F.FI_MAX_DOWN_WATCH])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(390, 410), st.sampled_from([1, -1])), max_size=40))
def test_watch_bounds_updated_in_place_equal_a_full_refresh(ops):
    ex, (a, _) = quiet_exchange()
    live: list[int] = []
    for add, level, direction in ops:
        if add or not live:
            live.append(ex.add_watch(a, level, direction))
        else:
            ex.remove_watch(live.pop(level % len(live)))
        fi = ex._state.fi
        assert (int(fi[F.FI_MIN_UP_WATCH]), int(fi[F.FI_MAX_DOWN_WATCH])) == _bounds_by_refresh(ex)


def test_trade_tape_is_sized_from_the_expected_events_and_class_columns_are_strings():
    ex = Exchange(6642.16, FlowParams(), seed=5, market=SHORT)
    expected = expected_events(FlowParams(), SHORT)
    assert ex.book.state.trades.shape[0] == int(TRADES_PER_EXPECTED_EVENT * expected)
    rate = 6.0 + 8.0 * (1.0 + FlowParams().value_rate_gain) + 6 * 2.0  # limits, markets, requotes per s
    assert expected == pytest.approx(rate * 3.5 * 3600)  # peak activity 1 + 1.5 + 1.0, one hour
    agent = ex.register_owner("agent", "agents")
    ex.advance_to(120.0)
    ex.submit(agent, MARKET, BUY, 5)
    tape = ex.trades()
    labels = np.array(ex.owner_groups, dtype=object)
    plain = pd.DataFrame({f"{r}_class": labels[tape[f"{r}_owner"]] for r in ("taker", "maker")})
    pd.testing.assert_frame_equal(tape[["taker_class", "maker_class"]], plain, check_exact=True)
    assert "agents" in set(tape["taker_class"])
    empty = quiet_exchange()[0].trades()  # no trades: the columns pandas makes of empty object arrays
    assert empty["taker_class"].dtype == object and len(empty) == 0


def test_reserve_trades_keeps_the_tape_and_never_shrinks():
    book = Exchange(100.0, QUIET, seed=0, market=SHORT).book
    before = book.state.trades.shape[0]
    book.reserve_trades(10)
    assert book.state.trades.shape[0] == before
    book.reserve_trades(before + 1000)
    assert book.state.trades.shape[0] == before + 1000
    book.limit(BUY, 400, 3, oid=1, owner=0)
    book.market(SELL, 2, oid=2, owner=1)
    assert book.n_trades == 1 and int(book.trade_rows()[0, K.T_QTY]) == 2


def test_trade_tape_reservation_is_bounded_for_flows_built_in_code():
    huge = FlowParams(noise_limit_rate_per_s=1e7)  # far beyond what a scenario may ask for
    ex = Exchange(100.0, huge, seed=0, market=SHORT)
    assert ex.book.state.trades.shape[0] == MAX_RESERVED_TRADE_ROWS
