"""Black-76 prices, greeks, implied vol and the expiry clock (market.black76)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from market import black76 as b76

SCALAR = {
    "price": b76.price,
    "delta": b76.delta,
    "gamma": b76.gamma,
    "vega": b76.vega,
    "vanna": b76.vanna,
    "charm": b76.charm,
    "vomma": b76.vomma,
    "theta": b76.theta,
}
DAY_YRS = 1.0 / 365.0
MINUTE_YRS = 60.0 / b76.SECONDS_PER_YEAR


# ---- known values ------------------------------------------------------------------------------


def test_hull_futures_option_example():
    # Hull, Options Futures and Other Derivatives (Black's model): F0 = K = 20, r = 9%,
    # T = 4 months, sigma = 25%: the call and the put are both worth 1.1166.
    c = b76.price(20.0, 20.0, 4 / 12, 0.25, 0.09, True)
    p = b76.price(20.0, 20.0, 4 / 12, 0.25, 0.09, False)
    assert c == pytest.approx(1.1166, abs=5e-5)
    assert p == pytest.approx(c, rel=1e-14)


def test_hull_black_scholes_example_via_forward():
    # Hull's Black-Scholes example: S0 = 42, K = 40, r = 10%, sigma = 20%, T = 0.5:
    # c = 4.76, p = 0.81. Black-76 on the forward F = S0 e^{rT} gives the same prices.
    F = 42.0 * math.exp(0.1 * 0.5)
    assert b76.price(F, 40.0, 0.5, 0.2, 0.1, True) == pytest.approx(4.7594, abs=1e-4)
    assert b76.price(F, 40.0, 0.5, 0.2, 0.1, False) == pytest.approx(0.8086, abs=1e-4)


def test_hull_greek_letters_example():
    # Hull's running example for the greeks: S0 = 49, K = 50, r = 5%, sigma = 20%, 20 weeks:
    # delta 0.522, gamma 0.066, vega 12.1 (per unit vol), theta -4.31 per year (stock held fixed).
    S, K, r, s, T = 49.0, 50.0, 0.05, 0.2, 20 / 52
    g = math.exp(r * T)
    F = S * g
    d_F = b76.delta(F, K, T, s, r, True)
    assert d_F * g == pytest.approx(0.522, abs=5e-4)  # dC/dS = dC/dF * dF/dS
    assert b76.gamma(F, K, T, s, r, True) * g * g == pytest.approx(0.066, abs=5e-4)
    assert b76.vega(F, K, T, s, r, True) / b76.VOL_POINT == pytest.approx(12.1, abs=5e-2)
    # dC/dt at fixed S = dC/dt at fixed F + dC/dF * dF/dt with dF/dt = -r F
    theta_S_per_year = b76.theta(F, K, T, s, r, True) * 365.0 - r * F * d_F
    assert theta_S_per_year == pytest.approx(-4.31, abs=5e-3)


def test_closed_forms_at_the_money():
    F, tau, s, r = 6700.0, 30 * DAY_YRS, 0.2, 0.04
    df = math.exp(-r * tau)
    v = s * math.sqrt(tau)
    # ATM: d1 = v/2, d2 = -v/2
    n = b76.norm_cdf
    assert b76.price(F, F, tau, s, r, True) == pytest.approx(df * F * (2 * n(v / 2) - 1), rel=1e-13)
    assert b76.delta(F, F, tau, s, r, True) == pytest.approx(df * n(v / 2), rel=1e-14)
    assert b76.delta(F, F, tau, s, r, False) == pytest.approx(-df * n(-v / 2), rel=1e-14)
    phi = b76.norm_pdf(v / 2)
    assert b76.gamma(F, F, tau, s, r, True) == pytest.approx(df * phi / (F * v), rel=1e-14)
    assert b76.vega(F, F, tau, s, r, True) == pytest.approx(
        0.01 * df * F * phi * math.sqrt(tau), rel=1e-14
    )
    # vanna = -phi(d1) d2 / sigma: ATM d2 = -v/2 < 0, vanna > 0
    expected_vanna = 0.01 * df * phi * v / 2 / s
    assert b76.vanna(F, F, tau, s, r, False) == pytest.approx(expected_vanna, rel=1e-13)


def test_norm_cdf_tails_are_relatively_accurate():
    # N(-10) = 7.6198530241605260e-24 (erfc keeps relative accuracy; 1 - N(10) would be 0)
    assert b76.norm_cdf(-10.0) == pytest.approx(7.619853024160526e-24, rel=1e-13)
    assert b76.norm_cdf(0.0) == 0.5


# ---- greeks against finite differences ----------------------------------------------------------

CASES = [
    # F, K, tau, sigma, r, is_call
    (6700.0, 6400.0, 30 * DAY_YRS, 0.24, 0.04, False),  # OTM put
    (6700.0, 7000.0, 30 * DAY_YRS, 0.17, 0.04, True),  # OTM call
    (6700.0, 6700.0, 7 * DAY_YRS, 0.2, 0.0, True),  # ATM weekly
    (6700.0, 6600.0, 1 * DAY_YRS, 0.3, 0.05, False),  # 1DTE put
    (6700.0, 6000.0, 1.5, 0.3, 0.03, True),  # deep ITM long-dated call
    (100.0, 140.0, 0.5, 0.8, -0.01, False),  # deep ITM put, negative rate, high vol
]


def _fd_greeks(F, K, tau, s, r, c):
    """Central finite differences of the price, in the module's units."""
    p = b76.price
    hF = 1e-4 * F * s * math.sqrt(tau)  # small against the price's natural scale F sigma sqrt(tau)
    hs = 1e-4 * s
    ht = 1e-5 * tau
    d = lambda F_: b76.delta(F_, K, tau, s, r, c)  # noqa: E731
    vg = lambda s_: b76.vega(F, K, tau, s_, r, c)  # noqa: E731
    return {
        "delta": (p(F + hF, K, tau, s, r, c) - p(F - hF, K, tau, s, r, c)) / (2 * hF),
        "gamma": (d(F + hF) - d(F - hF)) / (2 * hF),
        "vega": 0.01 * (p(F, K, tau, s + hs, r, c) - p(F, K, tau, s - hs, r, c)) / (2 * hs),
        "vanna": 0.01 * (b76.delta(F, K, tau, s + hs, r, c)
                         - b76.delta(F, K, tau, s - hs, r, c)) / (2 * hs),
        "vomma": 0.01 * (vg(s + hs) - vg(s - hs)) / (2 * hs),
        # time passing = tau decreasing; per calendar day
        "charm": -(b76.delta(F, K, tau + ht, s, r, c)
                   - b76.delta(F, K, tau - ht, s, r, c)) / (2 * ht) / 365.0,
        "theta": -(p(F, K, tau + ht, s, r, c) - p(F, K, tau - ht, s, r, c)) / (2 * ht) / 365.0,
    }


@pytest.mark.parametrize("case", CASES)
def test_greeks_match_central_finite_differences(case):
    F, K, tau, s, r, c = case
    fd = _fd_greeks(*case)
    for name, approx in fd.items():
        exact = SCALAR[name](F, K, tau, s, r, c)
        scale = {"delta": 1.0, "gamma": 1.0 / F, "vanna": 0.01, "charm": 1.0 / 365,
                 "vega": 0.01 * F, "vomma": 1e-4 * F, "theta": F / 365}[name]
        # 1e-6 relative where the greek is not tiny compared with its natural scale
        assert exact == pytest.approx(approx, rel=1e-6, abs=1e-9 * scale), (name, case)


def test_second_order_greeks_by_differencing_the_price_twice():
    F, K, tau, s, r = 6700.0, 6500.0, 20 * DAY_YRS, 0.22, 0.04
    h = 0.5
    p = lambda F_: b76.price(F_, K, tau, s, r, False)  # noqa: E731
    fd_gamma = (p(F + h) - 2 * p(F) + p(F - h)) / (h * h)
    assert b76.gamma(F, K, tau, s, r, False) == pytest.approx(fd_gamma, rel=1e-5)


def test_put_call_parity_and_greek_relations():
    rng = np.random.default_rng(7)
    for _ in range(200):
        F = rng.uniform(1000, 8000)
        K = F * rng.uniform(0.5, 1.5)
        tau = math.exp(rng.uniform(math.log(MINUTE_YRS), math.log(2.0)))
        s = rng.uniform(0.05, 1.5)
        r = rng.uniform(-0.01, 0.08)
        df = math.exp(-r * tau)
        c = b76.price(F, K, tau, s, r, True)
        p = b76.price(F, K, tau, s, r, False)
        assert c - p == pytest.approx(df * (F - K), abs=1e-11 * F)
        assert b76.delta(F, K, tau, s, r, True) - b76.delta(F, K, tau, s, r, False) == (
            pytest.approx(df, rel=1e-12))
        for name in ("gamma", "vega", "vanna", "vomma"):
            assert SCALAR[name](F, K, tau, s, r, True) == SCALAR[name](F, K, tau, s, r, False)
        # charm_call - charm_put = d(DF)/dt per day = r DF / 365
        assert b76.charm(F, K, tau, s, r, True) - b76.charm(F, K, tau, s, r, False) == (
            pytest.approx(r * df / 365.0, abs=1e-12))


def test_array_kernel_matches_scalar_kernels_and_weights_totals():
    rng = np.random.default_rng(11)
    n = 500
    F = 6700.0
    K = F * rng.uniform(0.7, 1.3, n)
    tau = rng.uniform(-0.01, 1.0, n)  # includes expired positions
    s = rng.uniform(0.08, 0.9, n)
    is_call = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    q = rng.integers(-100, 100, n).astype(float)
    per, totals = b76.greek_table(F, K, tau, is_call, s, 0.04, q)
    g = b76.greeks(F, K, tau, is_call == 1, s, 0.04)  # bool flags give the same numbers
    for k, name in enumerate(b76.GREEK_NAMES):
        expected = np.array([SCALAR[name](F, K[i], tau[i], s[i], 0.04, is_call[i])
                             for i in range(n)])
        np.testing.assert_allclose(per[k], expected, rtol=1e-13, atol=1e-15, err_msg=name)
        np.testing.assert_allclose(getattr(g, name), expected, rtol=1e-13, atol=1e-15)
        assert totals[k] == pytest.approx(float(q @ expected), rel=1e-12, abs=1e-9)
    tot = b76.portfolio_greeks(F, K, tau, is_call, s, q, 0.04)
    np.testing.assert_allclose(np.array(tot), totals, rtol=1e-15)


# ---- expiry --------------------------------------------------------------------------------------


@pytest.mark.parametrize("tau", [0.0, -1e-9, -1.0])
def test_expired_options_are_worth_intrinsic_with_zero_greeks(tau):
    for name, f in SCALAR.items():
        for c in (True, False):
            val = f(6700.0, 6600.0, tau, 0.2, 0.05, c)
            if name == "price":
                assert val == (100.0 if c else 0.0)
            else:
                assert val == 0.0, name
    per, _ = b76.greek_table(6700.0, np.array([6600.0, 6800.0]), tau, np.array([False, False]),
                             0.2, 0.05)
    np.testing.assert_array_equal(per[b76.PRICE], [0.0, 100.0])
    assert not per[1:].any()


def test_tau_years_clock():
    year_s = 365 * 86400.0
    assert b76.tau_years(0.0, 0) == pytest.approx(23400.0 / year_s)
    assert b76.tau_years(23400.0, 0) == 0.0  # 0DTE expires at 16:00
    assert b76.tau_years(23340.0, 0) == pytest.approx(60.0 / year_s)  # 15:59
    assert b76.tau_years(23400.0 + 1.0, 0) < 0.0
    assert b76.tau_years(3600.0, 1) == pytest.approx((86400 + 23400 - 3600) / year_s)
    np.testing.assert_allclose(b76.tau_years(0.0, np.array([0, 1, 2])),
                               (np.array([0, 1, 2]) * 86400 + 23400) / year_s)


def test_0dte_at_1559_has_finite_sharp_greeks():
    tau = b76.tau_years(23340.0, 0)  # one minute before expiry
    F, s = 6700.0, 0.2
    g_atm = b76.gamma(F, F, tau, s, 0.0, True)
    assert np.isfinite(g_atm) and g_atm > 0.1  # about 1/(F sigma sqrt(tau) sqrt(2 pi))
    assert b76.gamma(F, 6650.0, tau, s, 0.0, False) < 1e-100  # 50 points OTM: gamma vanishes
    assert b76.delta(F, 6650.0, tau, s, 0.0, True) == pytest.approx(1.0, abs=1e-12)
    assert b76.price(F, 6650.0, tau, s, 0.0, True) == pytest.approx(50.0, abs=1e-9)
    vol, ok = b76.implied_vol(b76.price(F, 6705.0, tau, s, 0.0, True), F, 6705.0, tau, 0.0, True)
    assert ok and vol == pytest.approx(s, rel=1e-9)


def test_zero_vol_is_the_deterministic_limit():
    df = math.exp(-0.05)
    assert b76.price(110.0, 100.0, 1.0, 0.0, 0.05, True) == pytest.approx(10 * df)
    assert b76.delta(110.0, 100.0, 1.0, 0.0, 0.05, True) == pytest.approx(df)
    assert b76.delta(90.0, 100.0, 1.0, 0.0, 0.05, False) == pytest.approx(-df)
    assert b76.gamma(100.0, 100.0, 1.0, 0.0, 0.05, True) == 0.0


# ---- implied volatility ------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(
    moneyness=st.floats(0.5, 1.5),
    log_tau=st.floats(math.log(MINUTE_YRS), math.log(2.0)),
    sigma=st.floats(0.05, 1.5),
    is_call=st.booleans(),
    rate=st.floats(-0.01, 0.08),
)
def test_implied_vol_round_trip(moneyness, log_tau, sigma, is_call, rate):
    F = 6700.0
    K = F * moneyness
    tau = math.exp(log_tau)
    p = b76.price(F, K, tau, sigma, rate, is_call)
    lo, hi = b76.price_bounds(F, K, tau, rate, is_call)
    # skip prices numerically indistinguishable from a bound: the time value must carry
    # at least ~7 significant digits of the price, and be a normal double
    assume(p - lo > 1e-9 * p and hi - p > 1e-9 * hi and p - lo > 1e-290)
    vol, ok = b76.implied_vol(p, F, K, tau, rate, is_call)
    assert ok
    assert vol == pytest.approx(sigma, rel=1e-6)
    assert b76.price(F, K, tau, vol, rate, is_call) == pytest.approx(p, rel=1e-12)
    assert b76.implied_vol_checked(p, F, K, tau, rate, is_call) == vol
    assert b76.implied_vol_checked(p, F, K, tau, rate, 1 if is_call else -1) == vol


@pytest.mark.parametrize(
    ("F", "K", "tau", "call"),
    [
        (6700.0, 3350.0, MINUTE_YRS, False),  # 50% OTM put, one minute: only vol >> 10 prices it
        (6700.0, 10050.0, 2.0, True),  # far OTM call, two years
        (6700.0, 6700.0, MINUTE_YRS, True),  # ATM one minute
        (100.0, 150.0, 0.01, True),
    ],
)
def test_implied_vol_converges_anywhere_inside_the_bounds(F, K, tau, call):
    lo, hi = b76.price_bounds(F, K, tau, 0.02, call)
    for frac in (1e-300, 1e-100, 1e-20, 1e-6, 0.01, 0.3, 0.7, 0.999, 1 - 1e-9):
        p = lo + frac * (hi - lo)
        if not lo < p < hi:
            continue
        vol, ok = b76.implied_vol(p, F, K, tau, 0.02, call)
        assert ok, (frac, vol)
        assert b76.price(F, K, tau, vol, 0.02, call) == pytest.approx(p, rel=1e-9)


def test_implied_vol_outside_bounds():
    F, K, tau, r = 6700.0, 6500.0, 0.1, 0.03
    lo, hi = b76.price_bounds(F, K, tau, r, True)
    for bad in (lo, lo - 1.0, hi, hi + 1.0, -1.0):
        vol, ok = b76.implied_vol(bad, F, K, tau, r, True)
        assert not ok and math.isnan(vol)
        with pytest.raises(ValueError, match=r"outside the no-arbitrage bounds") as err:
            b76.implied_vol_checked(bad, F, K, tau, r, True)
        assert repr(bad) in str(err.value) and repr(lo) in str(err.value)
    with pytest.raises(ValueError, match="expired"):
        b76.implied_vol_checked(10.0, F, K, 0.0, r, False)
    with pytest.raises(ValueError, match="F and K"):
        b76.implied_vol_checked(10.0, -F, K, 0.1, r, False)


def test_implied_vols_vectorised():
    rng = np.random.default_rng(3)
    n = 300
    F = 6700.0
    K = F * rng.uniform(0.8, 1.2, n)
    tau = rng.uniform(1 * DAY_YRS, 1.0, n)
    s = rng.uniform(0.1, 0.6, n)
    c = rng.random(n) < 0.5
    prices = b76.greeks(F, K, tau, c, s, 0.01).price
    vol, ok = b76.implied_vols(prices, F, K, tau, c, 0.01)
    assert ok.all()
    lo = np.maximum(np.where(c, F - K, K - F), 0.0) * np.exp(-0.01 * tau)
    meaningful = prices - lo > 1e-9 * prices  # time value resolvable in the price
    assert meaningful.sum() > 250
    np.testing.assert_allclose(vol[meaningful], s[meaningful], rtol=1e-7)
    np.testing.assert_allclose(b76.greeks(F, K, tau, c, vol, 0.01).price, prices, rtol=1e-9)
    prices[0] = -1.0
    vol, ok = b76.implied_vols(prices, F, K, tau, c, 0.01)
    assert not ok[0] and np.isnan(vol[0]) and ok[1:].all()


# ---- the package's layout ----------------------------------------------------------------------


def test_every_public_name_imports_from_the_package():
    """The split into conventions/scalar/vectorised/iv_solver keeps ``from market.black76 import X``."""
    import importlib

    names = set(b76.__all__)
    assert {"price", "greeks", "greek_table", "portfolio_greeks", "implied_vol", "implied_vols",
            "implied_vol_checked", "price_bounds", "tau_years", "SECONDS_PER_YEAR", "Greeks",
            "GREEK_NAMES", "DELTA", "_fill_greeks"} <= names  # fmt: skip
    for name in names:
        assert getattr(b76, name) is not None
    homes = {"conventions": "tau_years", "scalar": "price", "vectorised": "greeks",
             "iv_solver": "implied_vol"}
    for module, name in homes.items():
        assert getattr(importlib.import_module(f"market.black76.{module}"), name) is getattr(b76, name)
