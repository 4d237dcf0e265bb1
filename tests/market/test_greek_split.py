"""The dealers' hedge need split by greek (market.exposures.hedge_target_split) and its bookkeeping.

Signs follow DOMAIN.md's dealer table; the parts add up to the change of the hedge target, checked
against :func:`market.exposures.exposures_of` (the path that fills ``dealer_delta``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.exposures import LivePositions, exposures_of, hedge_target_of, hedge_target_split

F = 6700.0
DAY = 1.0 / 365.0
TAU = 10 * DAY
SIGMA = 0.20
PUT_K, CALL_K = 6400.0, 7000.0  # both about 4.5% out of the money
N = 100.0  # option contracts


def split_one(strike, is_call, qty, F0=F, F1=F, tau0=TAU, tau1=TAU, s0=SIGMA, s1=SIGMA, qty1=None):
    """Split for a single series held by the dealers (qty1: the dealers' quantity afterwards)."""
    q1 = qty if qty1 is None else qty1
    return hedge_target_split(F0, F1, np.array([strike]), np.array([is_call]), np.array([tau0]),
                              np.array([tau1]), np.array([qty], dtype=float), np.array([q1], dtype=float),
                              np.array([s0]), np.array([s1]))  # fmt: skip


POSITIONS = {  # name: (strike, is_call, dealer qty)
    "short OTM put": (PUT_K, False, -N),
    "long OTM put": (PUT_K, False, +N),
    "short OTM call": (CALL_K, True, -N),
    "long OTM call": (CALL_K, True, +N),
}
# DOMAIN.md: the dealer's hedge trade (+1 BUY, -1 SELL) per position and move
TABLE = {
    "short OTM put": {"iv falls": +1, "spot falls": -1, "time passes": +1},
    "long OTM put": {"iv falls": -1, "spot falls": +1, "time passes": -1},
    "short OTM call": {"iv falls": -1, "spot falls": -1, "time passes": -1},
    "long OTM call": {"iv falls": +1, "spot falls": +1, "time passes": +1},
}
MOVES = {  # move: (keyword changes, the part that must carry it)
    "iv falls": ({"s1": SIGMA - 0.03}, "vanna"),
    "spot falls": ({"F1": F * 0.99}, "gamma"),
    "time passes": ({"tau1": TAU - 0.5 * DAY}, "charm"),
}


@pytest.mark.parametrize("position", list(POSITIONS))
@pytest.mark.parametrize("move", list(MOVES))
def test_each_part_has_the_sign_of_the_domain_table(position, move):
    strike, is_call, qty = POSITIONS[position]
    change, part = MOVES[move]
    split = split_one(strike, is_call, qty, **change)
    assert np.sign(getattr(split, part)) == TABLE[position][move]
    assert abs(getattr(split, part)) > 0.01  # contracts: a real hedge need, not rounding
    for other in ("gamma", "vanna", "charm", "oi", "other"):
        if other != part:  # one factor moved: the whole change is its part
            assert getattr(split, other) == pytest.approx(0.0, abs=1e-9)
    assert getattr(split, part) == pytest.approx(split.total, rel=1e-12)


def test_spot_falls_and_iv_rises_amplifies_the_short_put_selling():
    strike, is_call, qty = POSITIONS["short OTM put"]
    spot_only = split_one(strike, is_call, qty, F1=F * 0.99)
    both = split_one(strike, is_call, qty, F1=F * 0.99, s1=SIGMA + 0.03)
    assert both.gamma < 0 and both.vanna < 0
    assert both.total < spot_only.total < 0


def test_customers_buying_puts_from_the_dealers_is_an_oi_sell():
    # the dealers were flat in this series; customers buy 100 puts, so the dealers are short them:
    # short puts are long delta, the dealers hedge by selling futures
    split = split_one(PUT_K, False, 0.0, qty1=-N)
    expected = hedge_target_of(F, np.array([PUT_K]), np.array([TAU]), np.array([False]), np.array([-N]),
                               np.array([SIGMA]))  # fmt: skip
    assert split.oi < -0.01 and split.oi == pytest.approx(expected)
    assert split.gamma == split.vanna == split.charm == 0.0
    # customers closing (selling back) the puts: the opposite
    assert split_one(PUT_K, False, -N, qty1=0.0).oi == pytest.approx(-expected)


def test_an_expiring_position_is_other():
    # a 0DTE put expires between the samples: its old hedge is unwound, nothing else explains it
    split = split_one(PUT_K, False, -N, tau0=60.0 / (365 * 86400), tau1=-1e-9, F0=6401.0, F1=6401.0)
    old = hedge_target_of(6401.0, np.array([PUT_K]), np.array([60.0 / (365 * 86400)]), np.array([False]),
                          np.array([-N]), np.array([SIGMA]))  # fmt: skip
    assert old < -1.0  # an at-the-money short put: a real hedge to unwind
    assert split.other == pytest.approx(-old) and split.gamma == split.vanna == split.charm == 0.0


def test_time_running_backwards_is_rejected():
    with pytest.raises(ValueError, match="tau1"):
        split_one(PUT_K, False, -N, tau1=TAU + DAY)


def _target_by_exposures(F_, strike, tau, is_call, qty, sigma) -> float:
    live = (tau > 0) & (qty != 0)
    pos = LivePositions(strike[live], tau[live], is_call[live], qty[live].astype(float))
    return exposures_of(pos, F_, sigma[live]).hedge_target_es if live.any() else 0.0


@st.composite
def states(draw):
    n = draw(st.integers(1, 12))
    floats = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
    strike = np.array(draw(st.lists(floats(5000, 8000), min_size=n, max_size=n)))
    is_call = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    tau0 = np.array(draw(st.lists(floats(1e-5, 0.3), min_size=n, max_size=n)))
    dt = draw(floats(0.0, 2e-4))  # up to ~1.75 hours; some 0DTE positions expire
    qty0 = np.array(draw(st.lists(st.integers(-500, 500), min_size=n, max_size=n)), dtype=float)
    trade = np.array(draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n)), dtype=float)
    s0 = np.array(draw(st.lists(floats(0.05, 0.8), min_size=n, max_size=n)))
    s1 = np.array(draw(st.lists(floats(0.05, 0.8), min_size=n, max_size=n)))
    F0, F1 = draw(floats(5500, 7500)), draw(floats(5500, 7500))
    return F0, F1, strike, is_call, tau0, tau0 - dt, qty0, qty0 + trade, s0, s1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_parts_add_up_to_the_target_change(state):
    F0, F1, strike, is_call, tau0, tau1, qty0, qty1, s0, s1 = state
    split = hedge_target_split(F0, F1, strike, is_call, tau0, tau1, qty0, qty1, s0, s1)
    before = _target_by_exposures(F0, strike, tau0, is_call, qty0, s0)
    after = _target_by_exposures(F1, strike, tau1, is_call, qty1, s1)
    scale = 1.0 + np.abs(qty0).sum() + np.abs(qty1).sum()
    assert split.total == pytest.approx(after - before, abs=1e-9 * scale)
    parts = (split.gamma, split.vanna, split.charm, split.oi, split.other)
    assert all(math.isfinite(p) for p in parts)
    # nothing expired: 'other' is rounding only
    if np.all((tau1 > 0) | (qty0 == 0)):
        assert abs(split.other) <= 1e-9 * scale


# --- in the model ------------------------------------------------------------------------------

PARTS = [f"dealer_flow_{p}" for p in ("gamma", "vanna", "charm", "oi", "other")]


@pytest.fixture(scope="module")
def nov20_short():
    from experiments.config import load_scenario
    from experiments.model import CascadeModel

    model = CascadeModel(load_scenario("nov20_2025", ["market.session_end_s=1800"]), seed=3)
    model.run()
    return model, model.timeseries()


def test_model_parts_add_up_to_the_target_change_at_every_sample(nov20_short):
    _, ts = nov20_short
    # the dealer book's hedge target is -dealer_delta (the column comes from market.exposures)
    target_change = -(ts["dealer_delta"] - ts["dealer_delta"].iloc[0]).to_numpy()
    parts = ts[PARTS].to_numpy()
    np.testing.assert_allclose(parts.sum(axis=1), target_change, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ts["dealer_flow_target"], target_change, rtol=0, atol=1e-6)
    assert (ts[PARTS].iloc[0] == 0.0).all()
    # on this morning spot, the 08:30 IV crush and the customers' put buying all move the need
    moved = ts[PARTS].diff().abs().sum()
    assert moved["dealer_flow_gamma"] > 100 and moved["dealer_flow_vanna"] > 10
    assert moved["dealer_flow_oi"] > 10


def test_model_iv_crush_at_the_payrolls_release_is_a_vanna_buy(nov20_short):
    model, ts = nov20_short
    release = next(ev.t_s for ev in model.config.events if ev.resolves)
    i = int(np.searchsorted(ts["t"].to_numpy(), release))  # the first sample at or after the release
    step = ts[PARTS].iloc[i] - ts[PARTS].iloc[i - 1]
    # dealers short customers' index puts: the crush lowers their puts' delta, they buy back hedges
    assert step["dealer_flow_vanna"] > 0


def test_model_cta_split_adds_up_to_each_ctas_target_change(nov20_short):
    model, ts = nov20_short
    ctas = model.agent_groups["cta"]
    hist = [a.sigma_daily * math.sqrt(252.0) for a in ctas]
    start = sum(a.target_at(a.closes[-1], s) for a, s in zip(ctas, hist, strict=True))  # unrounded
    now = sum(a.target for a in ctas)
    total = ts["cta_flow_signal"].iloc[-1] + ts["cta_flow_vol"].iloc[-1]
    assert total == pytest.approx(now - start, abs=1e-6 * (1 + abs(now)))
    assert ts["cta_flow_signal"].abs().max() > 1.0  # the morning rally moves the signals
