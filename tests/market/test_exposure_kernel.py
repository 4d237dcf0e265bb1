"""The one-pass dealer exposures (market._exposure_kernel) equal the step-by-step path bit for bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from market.exposures import _position_sigma, dealer_exposures, exposures_of, live_positions
from market.ivsurface import IVSurface, IVSurfaceParams
from market.positions import OptionBook


def _stepwise(book, surface, F, t, rate, holder=None):
    pos = live_positions(book, t, holder)
    return exposures_of(pos, F, _position_sigma(pos, surface, F, t, 0.0), rate)


def _book(rng: np.random.Generator, n: int) -> OptionBook:
    book = OptionBook(("dealer", "customer", "hedgers"), capacity=4)
    for _ in range(n):
        k = float(np.round(rng.uniform(5500, 7500) / 5) * 5)
        book.trade(k, int(rng.integers(0, 60)), bool(rng.integers(0, 2)), int(rng.integers(-500, 500)) or 1,
                   "customer")  # fmt: skip
    book.add(6600.0, 3, True, 0, "dealer")  # a flat series
    return book


@pytest.mark.parametrize("term_scaled", [False, True])
def test_one_pass_exposures_equal_stepwise_bits(term_scaled):
    rng = np.random.default_rng(7)
    book = _book(rng, 300)
    surface = IVSurface(IVSurfaceParams(spot_vol_term_scaled=term_scaled), t_seconds=-3600.0)
    surface.add_event("payrolls", 0, -3600.0, 0.01)
    surface.add_event("earnings", 0, 24600.0, 0.02)
    for t, F in [(-3600.0, 6600.0), (0.0, 6712.25), (12000.0, 6401.5), (23399.0, 6650.0), (23400.0, 6650.0)]:
        surface.update(max(t - surface.t_seconds, 0.0), -0.004, 0.25, 3e8)
        for rate in (0.0, 0.04):
            fast = dealer_exposures(book, surface, F, t, rate)
            slow = _stepwise(book, surface, F, t, rate)
            assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
    surface.resolve_event("earnings")
    fast = dealer_exposures(book, surface, 6500.0, 100.0, 0.04, holder="hedgers")
    slow = _stepwise(book, surface, 6500.0, 100.0, 0.04, "hedgers")
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)


def test_one_pass_exposures_of_an_empty_book():
    book = OptionBook()
    x = dealer_exposures(book, IVSurface(), 6600.0, 0.0)
    assert x.n_live == 0 and x.delta_es == 0.0 and x.gamma_usd_per_pct == 0.0


def test_split_deltas_equal_hedge_target_of_bits():
    """The fused delta-only pass of hedge_target_split equals portfolio_greeks' delta sums bit for bit."""
    from market._exposure_kernel import split_deltas
    from market.exposures import ES_PER_OPTION_DELTA, hedge_target_of

    rng = np.random.default_rng(5)
    n = 60
    k = np.round(rng.uniform(6000, 7200, n) / 5) * 5
    tau0 = rng.uniform(-0.01, 0.3, n)
    tau1 = tau0 - rng.uniform(0.0, 0.02, n)  # some expire in between
    c = rng.integers(0, 2, n).astype(np.bool_)
    q0 = rng.integers(-900, 900, n).astype(np.float64)
    q1 = q0.copy()
    q0[::7] = 0.0  # new series
    q1[::5] = 0.0  # closed series
    q1[3::11] += 17.0  # resized
    s0, s1 = rng.uniform(0.1, 0.6, n), rng.uniform(0.1, 0.6, n)
    s0[::13] = 0.0  # zero vol: the intrinsic delta branch
    for spots in [(6600.0, 6571.25), (6600.0, 6600.0)]:
        got = split_deltas(spots[0], spots[1], k, c, tau0, tau1, q0, q1, s0, s1, 0.04)
        surv = (tau1 > 0.0) & (q0 != 0.0)
        taus, sigmas = (tau0[surv], tau1[surv]), (s0[surv], s1[surv])
        for a in (0, 1):
            for b in (0, 1):
                for d in (0, 1):
                    want = hedge_target_of(spots[a], k[surv], taus[d], c[surv], q0[surv], sigmas[b], 0.04)
                    assert float(-ES_PER_OPTION_DELTA * got[4 * a + 2 * b + d]) + 0.0 == want
        es = ES_PER_OPTION_DELTA
        assert float(-es * got[8]) + 0.0 == hedge_target_of(spots[1], k, tau1, c, q1, s1, 0.04)
        assert float(-es * got[9]) + 0.0 == hedge_target_of(spots[0], k, tau0, c, q0, s0, 0.04)


def test_dealer_hedge_need_equals_exposures_bits():
    from market.exposures import dealer_hedge_need

    rng = np.random.default_rng(3)
    book = _book(rng, 80)
    surface = IVSurface(IVSurfaceParams(), t_seconds=0.0)
    for F, t in [(6600.0, 0.0), (6512.75, 9000.0), (6700.0, 23000.0)]:
        x = dealer_exposures(book, surface, F, t, 0.04)
        assert dealer_hedge_need(book, surface, F, t, 0.04) == (x.hedge_target_es, x.gamma_es_per_point)
