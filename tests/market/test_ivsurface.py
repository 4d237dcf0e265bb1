"""The implied-vol surface: shape, events and IV crush, dynamics (market.ivsurface)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from market.black76 import SECONDS_PER_YEAR, tau_years
from market.ivsurface import IVSurface, IVSurfaceParams

F = 6700.0
TAU_1M = 30.0 / 365.0


def test_hand_computed_point():
    p = IVSurfaceParams()
    s = IVSurface(p)
    K, tau = 6300.0, 10.0 / 365.0
    m = math.log(K / F) * (p.tau_ref_yrs / tau) ** p.skew_tau_power
    level = p.atm_vol_ann + p.term_slope_per_sqrt_yr * (math.sqrt(tau) - math.sqrt(p.tau_ref_yrs))
    expected = level + p.skew * m + p.curvature * m * m
    assert s.sigma(K, tau, F) == pytest.approx(expected, rel=1e-14)
    assert s.sigma(F, TAU_1M, F) == pytest.approx(p.atm_vol_ann, rel=1e-14)  # ATM at tau_ref


def test_skew_puts_richer_and_term_structure():
    s = IVSurface()
    strikes = np.array([6000.0, 6300.0, 6500.0, 6700.0, 6900.0])
    vols = s.sigma(strikes, TAU_1M, F)
    assert np.all(np.diff(vols) < 0.0)  # OTM puts richer than ATM, ATM richer than near calls
    assert vols[0] - vols[3] > 0.04  # ~10% OTM put at least 4 points over ATM
    # calm-market contango: 1-year ATM above 1-month ATM above 1-day ATM
    atm = s.atm_vol(np.array([1 / 365, TAU_1M, 1.0]))
    assert atm[0] < atm[1] < atm[2]
    # the short-dated smile is steeper in log-moneyness
    short = s.sigma(np.array([6500.0, 6700.0]), 2 / 365, F)
    assert short[0] - short[1] > vols[2] - vols[3]


def test_floor_cap_and_broadcast_shape():
    p = IVSurfaceParams(skew=-3.0, curvature=0.0, sigma_floor_ann=0.07, sigma_cap_ann=1.0)
    s = IVSurface(p)
    vols = s.sigma(np.array([3000.0, 6700.0, 9000.0]), np.array([[0.01], [0.5]]), F)
    assert vols.shape == (2, 3)
    assert vols.min() == pytest.approx(0.07)  # deep OTM calls hit the floor
    assert vols.max() == pytest.approx(1.0)  # deep OTM puts hit the cap


def test_sticky_moneyness_scaling():
    s = IVSurface()
    K = np.array([6000.0, 6700.0, 7100.0])
    tau = np.array([0.01, 0.1, 1.0])
    np.testing.assert_allclose(s.sigma(K * 0.97, tau, F * 0.97), s.sigma(K, tau, F), rtol=1e-13)


def test_event_premium_applies_after_the_event_and_crushes_on_resolve():
    s = IVSurface()
    K = np.array([6400.0, 6700.0, 7000.0])
    tau = tau_years(0.0, np.array([0, 1, 30]))[:, None]  # today, tomorrow, a month out
    before = s.sigma(K, tau, F)
    # payrolls tomorrow at 08:30 ET (1 h before the open), a 1% expected move
    s.add_event("payrolls", event_day=1, event_t_seconds=-3600.0, move_std=0.01)
    with_event = s.sigma(K, tau, F)
    np.testing.assert_array_equal(with_event[0], before[0])  # 0DTE expires before the event
    # total variance adds move_std**2 exactly
    np.testing.assert_allclose(with_event[1:] ** 2 * tau[1:],
                               before[1:] ** 2 * tau[1:] + 1e-4, rtol=1e-12)
    assert np.all(with_event[1] - before[1] > 0.04)  # 1DTE: several vol points
    assert np.all((with_event[2] - before[2] > 0.002) & (with_event[2] - before[2] < 0.01))
    s.add_event("earnings", 0, 24600.0, 0.008)  # after today's close
    assert [e.name for e in s.events] == ["payrolls", "earnings"]
    with pytest.raises(ValueError, match="already priced"):
        s.add_event("earnings", 0, 24600.0, 0.008)
    s.resolve_event("payrolls")
    s.resolve_event("earnings")
    np.testing.assert_array_equal(s.sigma(K, tau, F), before)  # the IV crush is complete
    with pytest.raises(KeyError, match="payrolls"):
        s.resolve_event("payrolls")


def test_unresolved_past_event_applies_to_every_expiry():
    s = IVSurface()
    s.add_event("fed", 0, 3600.0, 0.005)  # 10:30 today
    tau_0dte = tau_years(0.0, 0)
    base = IVSurface().sigma(F, tau_0dte, F)
    assert s.sigma(F, tau_0dte, F) > base
    s.update(7200.0, 0.0)  # 11:30, still unresolved: priced into the remaining 0DTE life
    tau_now = tau_years(7200.0, 0)
    assert s.sigma(F, tau_now, F) ** 2 * tau_now == pytest.approx(
        IVSurface(t_seconds=7200.0).sigma(F, tau_now, F) ** 2 * tau_now + 0.005**2, rel=1e-12
    )


def test_event_timing_uses_the_given_clock():
    s = IVSurface()
    s.add_event("cpi", 0, 10000.0, 0.01)
    tau = 3000.0 / SECONDS_PER_YEAR  # an expiry 3000 s after the clock
    before_event = s.sigma(F, tau, F, t_seconds=0.0)  # expiry at 3000 s < event at 10000 s
    after = s.sigma(F, tau, F, t_seconds=8000.0)  # expiry at 11000 s > event
    assert after > before_event + 0.1


def test_spot_vol_beta_signs_and_size():
    p = IVSurfaceParams()
    s = IVSurface(p)
    s.update(60.0, math.log(0.99))  # spot falls 1%
    assert s.atm_vol_ann - p.atm_vol_ann == pytest.approx(p.spot_vol_beta * math.log(0.99))
    assert 0.008 < s.atm_vol_ann - p.atm_vol_ann < 0.012  # about +1 vol point per -1%
    s2 = IVSurface(p)
    s2.update(60.0, math.log(1.01))
    assert s2.atm_vol_ann < p.atm_vol_ann
    # symmetric: down then up by the same log move is a round trip
    s.update(0.0, -math.log(0.99))
    assert s.atm_vol_ann == pytest.approx(p.atm_vol_ann, abs=1e-15)


def test_mean_reversion_toward_realized_vol_with_half_life():
    p = IVSurfaceParams(atm_vol_ann=0.20, vol_risk_premium_ann=0.03, rv_half_life_s=1000.0)
    s = IVSurface(p)
    s.update(1000.0, 0.0, realized_vol_ann=0.40)  # target 0.43: halfway after one half-life
    assert s.atm_vol_ann == pytest.approx(0.315, rel=1e-12)
    s.update(1e9, 0.0, realized_vol_ann=0.05)
    assert s.atm_vol_ann == pytest.approx(0.08, rel=1e-9)
    s.update(500.0, 0.0, realized_vol_ann=None)  # no pull without a realized vol
    assert s.atm_vol_ann == pytest.approx(0.08, rel=1e-9)


def test_customer_demand_raises_quoted_iv_and_decays():
    p = IVSurfaceParams(demand_impact_per_usd_vega=4e-11, demand_half_life_s=3600.0)
    s = IVSurface(p)
    base = s.sigma(np.array([6400.0, 6700.0]), TAU_1M, F)
    s.update(1.0, 0.0, net_customer_demand_vega=250e6)  # customers buy $250M vega / vol point
    assert s.demand_premium_ann == pytest.approx(0.01)
    np.testing.assert_allclose(s.sigma(np.array([6400.0, 6700.0]), TAU_1M, F) - base, 0.01,
                               rtol=1e-9)
    s.update(3600.0, 0.0)
    assert s.demand_premium_ann == pytest.approx(0.005, rel=1e-3)
    s.update(0.0, 0.0, net_customer_demand_vega=-500e6)  # customers sell vega: IV marked down
    assert s.demand_premium_ann < 0.0
    assert s.t_seconds == pytest.approx(3601.0)


def test_update_and_params_validation():
    with pytest.raises(ValueError, match="dt_seconds"):
        IVSurface().update(-1.0, 0.0)
    with pytest.raises(ValueError, match="rv_half_life_s"):
        IVSurfaceParams(rv_half_life_s=0.0)
    with pytest.raises(ValueError, match="atm_vol_ann"):
        IVSurfaceParams(atm_vol_ann=0.01)
    with pytest.raises(ValueError, match="move_std"):
        IVSurface().add_event("x", 0, 0.0, -0.01)
    p = IVSurfaceParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.skew = 0.0  # type: ignore[misc]
    assert dataclasses.replace(p, skew=-0.8).skew == -0.8


def test_atm_clipped_to_floor_and_cap():
    p = IVSurfaceParams(sigma_floor_ann=0.08, sigma_cap_ann=2.0)
    s = IVSurface(p)
    s.update(1.0, 5.0)  # absurd rally: ATM would go negative
    assert s.atm_vol_ann == 0.08
    s.update(1.0, -10.0)
    assert s.atm_vol_ann == 2.0


@pytest.mark.parametrize("term_scaled", [False, True])
def test_short_dated_put_iv_at_a_fixed_strike_rises_on_a_fall_only_with_term_scaled_beta(term_scaled):
    """Sticky moneyness slides a 1-day put down the steep short-dated smile as spot falls onto it;
    a spot-vol beta scaled like the skew lifts its fixed-strike IV instead (the article's re-spike)."""
    p = IVSurfaceParams(atm_vol_ann=0.22, skew=-0.6, spot_vol_beta=-1.2, spot_vol_term_scaled=term_scaled)
    s = IVSurface(p)
    F0, K, tau = 6700.0, 6575.0, 1.2 / 365.0
    before = float(s.sigma(K, tau, F0))
    F1 = F0 * 0.98
    s.update(0.0, math.log(F1 / F0))
    after = float(s.sigma(K, tau, F1))
    assert (after > before) == term_scaled
    # the 30-day ATM vol moves by the plain beta either way
    assert s.atm_vol_ann == pytest.approx(0.22 - 1.2 * math.log(0.98))


@pytest.mark.parametrize("term_scaled", [False, True])
def test_sigma_equals_terms_and_the_smile_kernel_bits(term_scaled):
    """IVSurface.sigma (one compiled pass) equals terms() + _sigma_fill bit for bit."""
    from market.ivsurface import _sigma_fill

    rng = np.random.default_rng(9)
    s = IVSurface(IVSurfaceParams(spot_vol_term_scaled=term_scaled), t_seconds=-5400.0)
    s.add_event("payrolls", 0, -3600.0, 0.01)
    s.add_event("earnings", 2, 24600.0, 0.03)
    k = np.round(rng.uniform(5000, 8000, 500) / 5) * 5
    tau = rng.uniform(-0.01, 1.5, 500)
    tau[::17] = 0.0
    for t, F, step in [(-5000.0, 6600.0, 0), (-3600.0, 6652.5, 1), (9000.0, 6480.25, 2)]:
        s.update(max(t - s.t_seconds, 0.0), -0.006, 0.3, 2e8)
        if step == 2:
            s.resolve_event("payrolls")
        tm = s.terms(tau, t)
        p = s.params
        want = np.empty(tau.shape[0])
        _sigma_fill(k, tau, math.log(F), tm.level, tm.mscale, tm.event_var, p.skew, p.curvature,
                    p.sigma_floor_ann, p.sigma_cap_ann, want)  # fmt: skip
        assert np.array_equal(s.sigma(k, tau, F, t), want)
    s.resolve_event("earnings")
    tm = s.terms(tau)
    want = np.empty(tau.shape[0])
    p = s.params
    _sigma_fill(k, tau, math.log(6500.0), tm.level, tm.mscale, tm.event_var, p.skew, p.curvature,
                p.sigma_floor_ann, p.sigma_cap_ann, want)  # fmt: skip
    assert np.array_equal(s.sigma(k, tau, 6500.0), want)
