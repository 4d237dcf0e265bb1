"""The options desk (market.options_desk): quotes, trades and the event crush, on a hand-built desk."""

from __future__ import annotations

import numpy as np
import pytest

from market.ivsurface import EventPremium, IVSurfaceParams
from market.options_desk import OpenInterest, OptionsDesk, OptionsDeskParams, snap_strike

F0 = 6600.0
T0 = 0.0  # 09:30


def make_desk(positions=(), premia=(), markup: float = 1e-5) -> OptionsDesk:
    params = OptionsDeskParams(
        surface=IVSurfaceParams(atm_vol_ann=0.20),
        rate_cc=0.04,
        inventory_vol_per_contract=markup,
        event_premia=tuple(premia),
        positions=tuple(positions),
    )
    return OptionsDesk.from_params(params, prev_close_points=F0, start_s=T0)


def test_from_params_books_open_interest_against_the_dealers_on_the_strike_grid():
    desk = make_desk([OpenInterest(95.0, 1, False, 1000), OpenInterest(101.3, 5, True, -200)])
    book = desk.book
    assert len(book) == 2
    assert sorted(book.strike.tolist()) == [snap_strike(F0 * 0.95), snap_strike(F0 * 1.013)]
    assert all(k % 5.0 == 0 for k in book.strike)
    assert book.holder_qty("customer").tolist() == [1000, -200]
    assert book.holder_qty("dealer").tolist() == [-1000, 200]
    assert desk.dealer_short_contracts() == 800


def test_quotes_mark_up_customer_buys_and_down_customer_sells_by_the_inventory():
    flat = make_desk()
    short = make_desk([OpenInterest(95.0, 30, False, 2000)], markup=1e-5)
    k = snap_strike(F0 * 0.97)
    mid_iv = flat.quote_iv(k, 30, F0, T0, customer_buys=True)
    assert flat.quote_iv(k, 30, F0, T0, customer_buys=False) == pytest.approx(mid_iv)  # no inventory
    buy = short.quote_iv(k, 30, F0, T0, customer_buys=True)
    sell = short.quote_iv(k, 30, F0, T0, customer_buys=False)
    assert buy == pytest.approx(mid_iv + 2000 * 1e-5)
    assert sell == pytest.approx(mid_iv - 2000 * 1e-5)
    assert sell < mid_iv < buy


def test_dealers_long_options_charge_no_markup():
    long_dealers = make_desk([OpenInterest(95.0, 30, False, -2000)], markup=1e-5)
    flat = make_desk()
    k = snap_strike(F0 * 0.97)
    for buys in (True, False):
        assert long_dealers.quote_iv(k, 30, F0, T0, buys) == pytest.approx(flat.quote_iv(k, 30, F0, T0, buys))


def test_trade_updates_open_interest_and_conserves_contracts():
    desk = make_desk([OpenInterest(95.0, 1, False, 500)])
    k = snap_strike(F0 * 0.95)
    oi_before = desk.book.open_interest().sum()
    trade = desk.trade("hedgers", k, 1, False, 300, F0, T0)
    assert trade.qty == 300 and trade.customer == "hedgers" and trade.price_points > 0
    assert desk.book.holder_qty("hedgers").sum() == 300
    assert desk.book.holder_qty("dealer").sum() == -800
    assert desk.book.open_interest().sum() == oi_before + 300
    desk.trade("hedgers", k, 1, False, -100, F0, T0)  # sells some back
    assert desk.book.holder_qty("hedgers").sum() == 200
    for row in desk.book.qty:  # every series: what customers hold, the dealers owe
        assert row.sum() == 0
    assert [t.qty for t in desk.trades] == [300, -100]
    assert len(desk.trades_frame()) == 2


def test_trade_at_the_quote_and_rejects_zero_quantity():
    desk = make_desk([OpenInterest(95.0, 1, False, 500)])
    k = snap_strike(F0 * 0.95)
    iv = desk.quote_iv(k, 1, F0, T0, customer_buys=True)
    trade = desk.trade("customer", k, 1, False, 10, F0, T0)
    assert trade.iv == pytest.approx(iv)
    assert trade.price_points == pytest.approx(desk.price(k, 1, False, F0, T0, iv))
    with pytest.raises(ValueError, match="non-zero"):
        desk.trade("customer", k, 1, False, 0, F0, T0)


def test_customer_buying_raises_the_surface_at_its_next_update():
    desk, calm = make_desk(), make_desk()
    k = snap_strike(F0 * 0.95)
    desk.trade("hedgers", k, 30, False, 50_000, F0, T0)
    for d in (desk, calm):
        d.update_surface(60.0, F0, F0, 0.0)
    assert desk.atm_iv(F0, 60.0) > calm.atm_iv(F0, 60.0)


def test_resolve_event_lowers_short_dated_iv_most():
    premium = EventPremium("payrolls", 0, 60.0, 0.015)  # at 09:31 today
    desk = make_desk(premia=[premium])
    t = 30.0
    before = {day: desk.atm_iv(F0, t, day) for day in (1, 30)}
    desk.resolve_event("payrolls")
    after = {day: desk.atm_iv(F0, t, day) for day in (1, 30)}
    assert after[1] < before[1] and after[30] < before[30]
    assert before[1] - after[1] > 5 * (before[30] - after[30])  # the crush is a short-dated thing
    with pytest.raises(KeyError, match="payrolls"):
        desk.resolve_event("payrolls")


def test_state_reports_the_dealers_greeks():
    empty = make_desk().state(F0, T0)
    assert empty["dealer_gamma"] == 0.0 and empty["iv_atm"] > 0
    short_puts = make_desk([OpenInterest(99.0, 1, False, 10_000)]).state(F0, T0)
    assert short_puts["dealer_gamma"] < 0  # dealers short options are short gamma
    assert np.isfinite(list(short_puts.values())).all()
