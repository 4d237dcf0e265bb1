"""Named state (#15.4): the book's public state record, the flow's state record and the units module."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from market import _flow_kernels as F
from market import _lob_kernels as K
from market import units
from market.exchange import Exchange
from market.flow import FlowParams, pack
from market.lob import BookState, OrderBook
from market.types import BUY, SELL

ROOT = Path(__file__).resolve().parents[2]


def test_book_state_is_a_live_view_of_the_books_arrays():
    book = OrderBook(100, 200, capacity=4)
    book.limit(BUY, 150, 3, oid=1)
    state = book.state
    assert isinstance(state, BookState)
    assert state.sc[K.SC_BEST_BID] == 150 == book.best_bid
    book.limit(SELL, 150, 1, oid=2)  # a trade: the same arrays change in place
    assert state.sc[K.SC_N_TRADES] == 1 == book.n_trades
    assert state.trades[0, K.T_QTY] == 1


def test_reserve_grows_the_buffers_and_state_follows():
    book = OrderBook(100, 200, capacity=4)
    before = book.state
    book.reserve(100, 50)
    after = book.state
    assert after.orders.shape[0] >= 100 > before.orders.shape[0]
    assert 2 * 100 <= after.htab.shape[0]
    assert after.rejects.shape[0] >= 100
    assert after.levels is before.levels  # the price ladder never moves


def test_new_flow_state_layout():
    fp = pack(FlowParams(n_market_makers=3, mm_levels=4))
    st = F.new_flow_state(fp, np.zeros(8), ref_ticks=20_000, open_s=0.0, close_s=units.SESSION_SECONDS,
                          seconds_per_ns=1e-9, n_snapshots=10)  # fmt: skip
    assert st.fi.shape == (F.N_FI,) and st.ff.shape == (F.N_FF,)
    assert st.mm.shape == (3, 2, 4, F.N_QUOTE_FIELDS)
    assert st.watches.shape == (0, F.N_WATCH_FIELDS) and st.snaps.shape == (10, F.N_SNAP_FIELDS)
    assert st.acct_i.shape == (0, F.N_ACCT_I) and st.acct_f.shape == (0, F.N_ACCT_F)
    assert st.fi[F.FI_REF_TICKS] == 20_000 and st.ff[F.FF_VALUE] == 20_000.0
    assert st.ff[F.FF_CLOSE_S] == 23_400.0


def test_exchange_runs_on_the_records_and_grows_them(monkeypatch):
    monkeypatch.setattr(F, "NOISE_SLOTS", 8)  # start tiny, so the noise slots must grow during the run
    ex = Exchange(5000.0, FlowParams(), seed=1)
    assert ex._state.noise.shape[0] == 8
    rows = ex._state.acct_i.shape[0]
    ex.register_owner("late", "x")  # an owner added after the records were built gets its own row
    ex.advance_to(120.0)
    assert ex.n_messages > 0 and ex.book.n_trades > 0
    assert ex._state.noise.shape[0] > 8
    assert ex._state.acct_i.shape == (ex.n_owners, F.N_ACCT_I) and ex.n_owners == rows + 1


def test_the_exchange_reads_no_private_attribute_of_the_book():
    tree = ast.parse((ROOT / "market" / "exchange.py").read_text())
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        and isinstance(node.value, ast.Attribute) and node.value.attr == "book"
    ]  # fmt: skip
    assert private == []


def test_units():
    assert units.SESSION_SECONDS == 23_400.0 == 6.5 * 3600
    assert units.TRADING_DAYS_PER_YEAR == 252
    assert units.TICK_POINTS == 0.25
    assert units.ES_MULTIPLIER_USD == 50.0 and units.SPX_MULTIPLIER_USD == 100.0
    assert F.SECONDS_PER_YEAR_OF_TRADING == 23_400.0 * 252.0
