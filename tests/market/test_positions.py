"""Open interest (market.positions), exposures and hedge trades (market.exposures), GEX (market.gex)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market import black76 as b76
from market.exposures import (
    ES_PER_OPTION_DELTA,
    dealer_exposures,
    hedge_target_es,
    hedge_trade_es,
    live_positions,
)
from market.gex import gamma_flip, gamma_flip_levels, gex_profile
from market.ivsurface import IVSurface, IVSurfaceParams
from market.positions import OptionBook

F0 = 6700.0
T0 = 3600.0  # 10:30 ET
MONTHLY = 30  # expiry day offset
FLAT = IVSurfaceParams(skew=0.0, curvature=0.0, term_slope_per_sqrt_yr=0.0)
BUY, SELL = 1, -1


# ---- OptionBook ---------------------------------------------------------------------------------


def test_add_and_trade_conserve_contracts_and_aggregate_series():
    book = OptionBook(("dealer", "hedger", "retail"), capacity=2)
    row = book.add(6400.0, 30, False, -500, "dealer", counterparty="hedger")
    assert book.add(6400.0, 30, False, -200, "dealer", counterparty="retail") == row
    book.trade(6400.0, 30, False, 300, "hedger")  # hedger buys 300 more puts from dealers
    book.trade(7000.0, 1, True, -50, "retail")  # retail sells calls: dealers get long
    book.add(7100.0, 2, True, 10, "retail")  # one-sided (e.g. bought from outside the model)
    assert len(book) == 3  # grew past capacity 2
    np.testing.assert_array_equal(book.holder_qty("dealer"), [-1000, 50, 0])
    np.testing.assert_array_equal(book.holder_qty("hedger"), [800, 0, 0])
    np.testing.assert_array_equal(book.holder_qty("retail"), [200, -50, 10])
    np.testing.assert_array_equal(book.qty.sum(axis=1), [0, 0, 10])
    np.testing.assert_array_equal(book.open_interest(), [1000, 50, 10])
    np.testing.assert_array_equal(book.strike, [6400.0, 7000.0, 7100.0])
    np.testing.assert_array_equal(book.is_call, [False, True, True])
    np.testing.assert_array_equal(book.expiry_day, [30, 1, 2])
    with pytest.raises(ValueError):
        book.holder_qty("dealer")[0] = 5  # read-only views


def test_book_validation_errors_name_the_value():
    book = OptionBook()
    with pytest.raises(ValueError, match="unknown holder 'hedgie'"):
        book.add(6400.0, 1, False, 1, "hedgie")
    with pytest.raises(ValueError, match="strike"):
        book.add(-1.0, 1, False, 1, "dealer")
    with pytest.raises(ValueError, match="expiry_day"):
        book.add(6400.0, -1, False, 1, "dealer")
    with pytest.raises(ValueError, match="whole contracts"):
        book.add(6400.0, 1, False, 1.5, "dealer")
    with pytest.raises(ValueError, match="is the dealer"):
        book.trade(6400.0, 1, False, 1, "dealer")
    with pytest.raises(ValueError, match="dealer"):
        OptionBook(("mm", "customer"))
    assert len(book) == 0  # failed adds leave nothing behind


def test_settle_expired_pays_intrinsic_and_drops_series():
    book = OptionBook(("dealer", "customer"))
    book.trade(6600.0, 0, False, 100, "customer")  # 0DTE put, customer long
    book.trade(6500.0, 0, True, -40, "customer")  # 0DTE call, customer short
    book.trade(6400.0, 1, False, 70, "customer")  # tomorrow
    assert book.settle_expired(23399.0, 6550.0) == {"dealer": 0.0, "customer": 0.0}
    assert len(book) == 3
    cash = book.settle_expired(23400.0, 6550.0)  # 16:00: 0DTE settles at 6550
    # put: 100 x 50 pts x $100 to the customer; call: customer short 40 x 50 x $100
    assert cash["customer"] == pytest.approx(100 * 50 * 100 - 40 * 50 * 100)
    assert cash["dealer"] == pytest.approx(-cash["customer"])
    assert len(book) == 1
    np.testing.assert_array_equal(book.strike, [6400.0])
    assert book.add(6400.0, 1, False, 5, "customer") == 0  # the index was rebuilt
    np.testing.assert_array_equal(book.holder_qty("customer"), [75])


def test_add_many_matches_add():
    rng = np.random.default_rng(5)
    K = rng.choice(np.arange(6000.0, 7400.0, 25.0), 300)
    d = rng.integers(0, 5, 300)
    c = rng.random(300) < 0.5
    q = rng.integers(-50, 50, 300)
    a = OptionBook()
    a.add_many(K, d, c, q, "customer", counterparty="dealer")
    b = OptionBook()
    for i in range(300):
        b.add(K[i], int(d[i]), bool(c[i]), int(q[i]), "customer", counterparty="dealer")
    np.testing.assert_array_equal(a.qty, b.qty)
    np.testing.assert_array_equal(a.strike, b.strike)
    c_int = np.where(c, 1, -1).astype(np.int8)  # +1 call / -1 put flags give the same book
    a2 = OptionBook()
    a2.add_many(K, d, c_int, q, "customer", counterparty="dealer")
    np.testing.assert_array_equal(a2.is_call, a.is_call)
    np.testing.assert_array_equal(a2.qty, a.qty)


# ---- exposures ----------------------------------------------------------------------------------


def _single(strike: float, is_call: bool, dealer_qty: int, expiry_day: int = MONTHLY):
    book = OptionBook(("dealer", "customer"))
    book.trade(strike, expiry_day, is_call, -dealer_qty, "customer")
    return book


def test_exposures_units_against_the_greeks():
    book = _single(6400.0, False, -100)  # dealers short 100 OTM puts
    surface = IVSurface()
    e = dealer_exposures(book, surface, F0, T0, rate_cc=0.04)
    tau = b76.tau_years(T0, MONTHLY)
    sig = float(surface.sigma(6400.0, tau, F0))
    g = {name: fn(F0, 6400.0, tau, sig, 0.04, False) for name, fn in
         (("delta", b76.delta), ("gamma", b76.gamma), ("vanna", b76.vanna),
          ("charm", b76.charm), ("vega", b76.vega), ("price", b76.price))}
    assert ES_PER_OPTION_DELTA == 2.0  # $100 SPX multiplier / $50 E-mini
    assert e.delta_es == pytest.approx(2 * -100 * g["delta"], rel=1e-12)
    assert e.delta_es > 0.0  # short puts = long delta
    assert e.hedge_target_es == -e.delta_es
    assert hedge_target_es(book, surface, F0, T0, rate_cc=0.04) == e.hedge_target_es
    assert e.gamma_usd_per_pct == pytest.approx(-100 * g["gamma"] * F0**2 * 0.01 * 100,
                                                rel=1e-12)
    assert e.gamma_es_per_point == pytest.approx(2 * -100 * g["gamma"], rel=1e-12)
    assert e.vanna_es_per_volpt == pytest.approx(2 * -100 * g["vanna"], rel=1e-12)
    assert e.charm_es_per_hour == pytest.approx(2 * -100 * g["charm"] / 24, rel=1e-12)
    assert e.vega_usd_per_volpt == pytest.approx(-100 * 100 * g["vega"], rel=1e-12)
    assert e.value_usd == pytest.approx(-100 * 100 * g["price"], rel=1e-12)
    assert e.n_live == 1


def test_exposure_rates_predict_small_hedge_trades():
    """gamma, vanna and charm in ES units are the first-order hedge trades (with a minus sign)."""
    book = OptionBook(("dealer", "customer"))
    for K, c, q in ((6400.0, False, 300), (6600.0, False, 200), (6900.0, True, -150)):
        book.trade(K, 9, c, q, "customer")
    s = IVSurface(FLAT)
    e = dealer_exposures(book, s, F0, T0)
    def central(**kw_pair):
        (up, down) = kw_pair.values()
        return 0.5 * (hedge_trade_es(book, s, **up) - hedge_trade_es(book, s, **down))

    base = {"F_from": F0, "F_to": F0, "t_from_s": T0, "t_to_s": T0}
    dF = 0.5
    trade = central(a={**base, "F_to": F0 + dF}, b={**base, "F_to": F0 - dF})
    assert trade == pytest.approx(-e.gamma_es_per_point * dF, rel=1e-6)
    trade = central(a={**base, "iv_shift_ann": 1e-4}, b={**base, "iv_shift_ann": -1e-4})
    assert trade == pytest.approx(-e.vanna_es_per_volpt * 0.01, rel=1e-6)  # 0.01 vol point
    trade = central(a={**base, "t_to_s": T0 + 36.0}, b={**base, "t_to_s": T0 - 36.0})
    assert trade == pytest.approx(-e.charm_es_per_hour * 0.01, rel=1e-6)  # 1/100 hour


def test_expired_series_drop_out_of_exposures():
    book = OptionBook(("dealer", "customer"))
    book.trade(6700.0, 0, True, 100, "customer")  # 0DTE
    book.trade(6700.0, 1, True, 100, "customer")
    s = IVSurface()
    assert dealer_exposures(book, s, F0, 23340.0).n_live == 2  # 15:59
    late = dealer_exposures(book, s, F0, 23400.0)
    assert late.n_live == 1
    assert late.delta_es == pytest.approx(dealer_exposures(_single(6700.0, True, -100, 1), s, F0,
                                                           23400.0).delta_es)
    assert live_positions(book, 23400.0).strike.shape == (1,)


# ---- the sign table of DOMAIN.md ----------------------------------------------------------------

# rows: dealer position; columns: IV falls, spot falls, spot falls and IV rises, time passes
SIGN_TABLE = {
    ("put", -1): (BUY, SELL, SELL, BUY),  # short OTM put
    ("put", +1): (SELL, BUY, BUY, SELL),  # long OTM put
    ("call", -1): (SELL, SELL, SELL, SELL),  # short OTM call
    ("call", +1): (BUY, BUY, BUY, BUY),  # long OTM call
}
OTM_STRIKE = {"put": 6400.0, "call": 7000.0}


def _scenario_trades(book, surface):
    beta = surface.params.spot_vol_beta
    down = F0 * 0.99
    iv_up = beta * math.log(0.99)  # the surface's own spot-vol beta: about +1 vol point
    return (
        hedge_trade_es(book, surface, F0, F0, T0, T0, iv_shift_ann=-0.02),  # IV falls 2 points
        hedge_trade_es(book, surface, F0, down, T0, T0),  # spot falls 1%, IV per strike fixed
        hedge_trade_es(book, surface, F0, down, T0, T0, iv_shift_ann=iv_up),
        hedge_trade_es(book, surface, F0, F0, T0, T0 + 3600.0),  # one hour passes
    )


@pytest.mark.parametrize("params", [FLAT, IVSurfaceParams()], ids=["flat", "skewed"])
@pytest.mark.parametrize(("kind", "dealer_sign"), list(SIGN_TABLE))
def test_domain_sign_table(params, kind, dealer_sign):
    book = _single(OTM_STRIKE[kind], kind == "call", dealer_sign * 1000)
    surface = IVSurface(params)
    trades = _scenario_trades(book, surface)
    observed = tuple(int(np.sign(t)) for t in trades)
    assert observed == SIGN_TABLE[(kind, dealer_sign)], trades
    # each cell is a real flow, far above rounding noise of the hedge target
    target = abs(hedge_target_es(book, surface, F0, T0))
    assert target > 100.0
    assert min(abs(t) for t in trades) > 1e-4 * target
    if (kind, dealer_sign) == ("put", -1):
        # dealers short puts: spot down with IV up sells more than spot down alone
        assert abs(trades[2]) > 1.1 * abs(trades[1])


def test_usual_book_vanna_rally_and_sell_off_loop():
    """Customers long puts: IV crush makes dealers BUY; a sell-off with IV up makes them SELL."""
    book = OptionBook(("dealer", "hedger"))
    for K in np.arange(6200.0, 6650.0, 50.0):
        book.trade(K, 1, False, 2000, "hedger")
        book.trade(K, MONTHLY, False, 1000, "hedger")
    s = IVSurface()
    s.add_event("payrolls", 0, -3600.0, 0.01)
    before = hedge_target_es(book, s, F0, T0)
    s.resolve_event("payrolls")  # IV crush
    assert hedge_target_es(book, s, F0, T0) - before > 0.0  # BUY: the vanna rally
    spiral = hedge_trade_es(book, s, F0, F0 * 0.98, T0, T0, iv_shift_ann=0.02)
    assert spiral < 0.0


def test_sticky_moneyness_dampens_the_spot_sell_for_short_skewed_puts():
    book = _single(6400.0, False, -1000)
    s = IVSurface()
    strike_ = hedge_trade_es(book, s, F0, F0 * 0.99, T0, T0, sticky_strike=True)
    money = hedge_trade_es(book, s, F0, F0 * 0.99, T0, T0, sticky_strike=False)
    # the put slides up toward the money, where the smile is lower: its IV falls, partly offsetting
    assert money < 0.0 and strike_ < money


# ---- GEX profile and the gamma flip -------------------------------------------------------------


def test_gex_profile_and_flip_on_a_hand_checkable_book():
    # dealers short 1000 puts at 6500 and long 1000 calls at 6900, one expiry, flat vol:
    # gamma(F; K) depends on |d1|, so the two cancel where ln(F/6900)/v + v/2 = -(ln(F/6500)/v
    # + v/2), i.e. F* = sqrt(6500 * 6900) * exp(-v**2 / 2).
    book = OptionBook(("dealer", "customer"))
    book.trade(6500.0, MONTHLY, False, 1000, "customer")
    book.trade(6900.0, MONTHLY, True, -1000, "customer")
    s = IVSurface(FLAT)
    grid = np.linspace(6000.0, 7400.0, 281)  # 5-point spacing
    gex = gex_profile(book, s, grid, T0)
    tau = b76.tau_years(T0, MONTHLY)
    v = 0.2 * math.sqrt(tau)
    f_star = math.sqrt(6500.0 * 6900.0) * math.exp(-v * v / 2)
    assert gex[0] < 0.0 < gex[-1]  # short gamma below, long above
    flip = gamma_flip(grid, gex)
    assert flip == pytest.approx(f_star, abs=0.5)  # linear interpolation on a 5-point grid
    assert gamma_flip(grid, gex, near=F0) == flip
    # each grid value is the dealer gamma at that spot, $ per 1%
    for j in (0, 100, 200):
        e = dealer_exposures(book, s, grid[j], T0)
        assert gex[j] == pytest.approx(e.gamma_usd_per_pct, rel=1e-9)
    # by hand at F = 6500: 1000 x (gamma of the 6900 call - gamma of the 6500 put) x F^2 x 1%
    # x $100 per point
    assert grid[100] == 6500.0
    by_hand = 1000 * (b76.gamma(6500.0, 6900.0, tau, 0.2, 0.0, True)
                      - b76.gamma(6500.0, 6500.0, tau, 0.2, 0.0, False)) * 6500.0**2 * 0.01 * 100
    assert gex[100] == pytest.approx(by_hand, rel=1e-9)


def test_gex_profile_recomputes_the_smile_at_each_spot():
    rng = np.random.default_rng(9)
    book = OptionBook(("dealer", "customer"))
    book.add_many(rng.choice(np.arange(5800.0, 7600.0, 25.0), 400), rng.integers(0, 60, 400),
                  rng.random(400) < 0.5, rng.integers(-300, 300, 400), "customer", "dealer")
    s = IVSurface()
    s.add_event("earnings", 0, 24600.0, 0.008)
    s.update(600.0, -0.004, 0.25, 1e8)
    grid = np.linspace(6300.0, 7100.0, 17)
    gex = gex_profile(book, s, grid, rate_cc=0.04)
    expected = [dealer_exposures(book, s, x, rate_cc=0.04).gamma_usd_per_pct for x in grid]
    np.testing.assert_allclose(gex, expected, rtol=1e-9)


def test_gex_names_still_import_from_market_exposures():
    import market.exposures as exposures
    import market.gex as gex
    from market.exposures import gex_profile_of  # the old path (notebooks, docs)

    assert gex_profile_of is gex.gex_profile_of
    for name in ("gex_profile", "gamma_flip", "gamma_flip_levels"):
        assert getattr(exposures, name) is getattr(gex, name)
    with pytest.raises(AttributeError, match="no attribute 'gex_fill'"):
        exposures.gex_fill  # noqa: B018


def test_gamma_flip_levels_edge_cases():
    grid = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert gamma_flip(grid, np.array([1.0, 2.0, 3.0, 2.0, 1.0])) is None
    assert gamma_flip(grid, -np.ones(5)) is None
    g = np.array([-2.0, 2.0, 1.0, -1.0, -3.0])  # crossings at 1.5 and 3.5
    np.testing.assert_allclose(gamma_flip_levels(grid, g), [1.5, 3.5])
    assert gamma_flip(grid, g) == 1.5
    assert gamma_flip(grid, g, near=3.2) == 3.5
    np.testing.assert_allclose(gamma_flip_levels(grid, np.array([-1.0, 0.0, 1.0, 0.0, 2.0])),
                               [2.0])  # an exact zero between opposite signs counts once
    with pytest.raises(ValueError):
        gamma_flip_levels(grid, g[:3])


def test_empty_book_has_zero_exposures():
    book = OptionBook()
    s = IVSurface()
    e = dealer_exposures(book, s, F0, T0)
    assert e.n_live == 0 and e.delta_es == 0.0 and e.hedge_target_es == 0.0
    assert math.copysign(1.0, e.hedge_target_es) == 1.0
    grid = np.linspace(6000.0, 7000.0, 5)
    gex = gex_profile(book, s, grid, T0)
    assert not gex.any() and gamma_flip(grid, gex) is None
    assert hedge_trade_es(book, s, F0, F0 * 0.9, T0, T0 + 600.0) == 0.0
