"""The leveraged-ETF rebalancers (agents.letf) against the stub world and in whole runs.

A fund with assets A and leverage L must trade A (L^2 - L) r of index before the close on a day the
index returns r: every leveraged or inverse fund buys on up days and sells on down days. The funds
start at their start time, trade at most ``max_participation`` of the market volume since their last
order, and re-measure the need at the current price each time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stub_world import F0, StubWorld, as_world

from agents.letf import LeveragedETF, LeveragedETFConfig, LeveragedETFParams, build_crowd, rebalance_contracts
from market.types import BUY, SELL

POINT_USD = 50.0


def fund(world: StubWorld, **overrides) -> LeveragedETF:
    values = dict(aum_usd=1e9, leverage=3.0, start_s=21600.0, max_participation=0.1, retry_interval_s=20.0,
                  max_slippage_ticks=8)  # fmt: skip
    values.update(overrides)
    w = as_world(world)
    return LeveragedETF(w, "letf_0", LeveragedETFParams(**values), F0, w.new_stream())


def test_the_rebalance_of_a_3x_fund_on_a_1pct_fall():
    # $1bn of a 3x fund, index -1% at 6,534: sells $1bn x 6 x 1% = $60m, 183.7 contracts
    need = rebalance_contracts(1e9, 3.0, -0.01, F0 * 0.99, POINT_USD)
    assert need == pytest.approx(-6e7 / (F0 * 0.99 * POINT_USD))


@given(
    leverage=st.sampled_from([-3.0, -2.0, -1.0, 2.0, 3.0]),
    day_return=st.floats(-0.2, 0.2).filter(lambda r: abs(r) > 1e-6),
)
def test_leveraged_and_inverse_funds_all_trade_with_the_day(leverage, day_return):
    need = rebalance_contracts(1e9, leverage, day_return, F0 * (1 + day_return), POINT_USD)
    assert need * day_return > 0


def test_waits_for_its_start_then_counts_volume_from_there():
    world = StubWorld()
    f = fund(world, start_s=21600.0)
    ((t, method),) = world.wakeups
    assert t == 21600.0 and method == f.start
    world.exchange.cum_volume = 1_000_000  # the day's volume before the start does not count
    world.exchange.now_s = t
    world.move_to(F0 * 0.98)
    f.start()
    assert world.exchange.orders == []
    world.exchange.cum_volume += 500  # 500 contracts traded since the start: room for 50
    f.rebalance()
    (order,) = world.exchange.orders
    assert order.side == SELL and order.filled == 50 and f.position == -50


def test_sells_on_a_down_day_up_to_the_need_and_follows_the_price():
    world = StubWorld()
    f = fund(world, max_participation=1.0)
    f.start()
    world.move_to(F0 * 0.99)
    need = f.need_contracts()
    assert need < 0
    world.exchange.cum_volume += 10_000
    f.rebalance()
    assert f.position == int(need)  # the whole gap in whole contracts, within the cap
    world.move_to(F0 * 0.98)  # the fall deepens: the need grows, the fund sells more
    world.exchange.cum_volume += 10_000
    f.rebalance()
    assert abs(f.position - f.need_contracts()) < 1 and f.position < int(need)
    assert all(o.side == SELL for o in world.exchange.orders)


def test_buys_on_an_up_day_and_sells_back_if_the_day_turns():
    world = StubWorld()
    f = fund(world, max_participation=1.0)
    f.start()
    world.move_to(F0 * 1.01)
    world.exchange.cum_volume += 10_000
    f.rebalance()
    assert world.exchange.orders[-1].side == BUY and f.position > 0
    world.move_to(F0 * 1.002)  # most of the gain is gone: it has bought too much
    world.exchange.cum_volume += 10_000
    f.rebalance()
    assert world.exchange.orders[-1].side == SELL and 0 < f.position
    assert abs(f.position - f.need_contracts()) < 1  # the gap is traded in whole contracts


def test_build_crowd_splits_the_assets_and_spreads_the_starts():
    world = StubWorld(seed=4)
    config = LeveragedETFConfig(n_agents=6, aum_usd=3e9, leverage=3.0, start_s=21600.0, start_spread_s=600.0)
    draws_before = world.rng.bit_generator.state
    crowd = build_crowd(as_world(world), config, F0)
    assert len(crowd) == 6
    assert sum(f.params.aum_usd for f in crowd) == pytest.approx(3e9)
    assert all(21600.0 <= f.params.start_s <= 22200.0 for f in crowd)
    assert world.rng.bit_generator.state == draws_before  # the class's own stream: the model's is untouched
    assert list(world.agents_by_type[LeveragedETF]) == crowd


def _run(sets: list[str], seed: int):
    from experiments.config import load_scenario
    from experiments.runner import run_scenario

    return run_scenario(load_scenario("calm", ["market.session_end_s=3600", *sets]), seed=seed)


def test_in_a_run_the_funds_follow_the_day_and_leave_the_day_before_them_unchanged():
    # calm seed 2: after 10:01 the index dips to -0.11% and then rises to +0.16% of the prior close
    funds = ["letf.enabled=true", "letf.aum_usd=2e9", "letf.start_s=1800", "letf.start_spread_s=60"]
    off_run, on_run = _run([], seed=2), _run(funds, seed=2)
    off, on = off_run.timeseries, on_run.timeseries
    before = off["t"] < 1800
    assert off.loc[before].drop(columns="flow_letf").equals(on.loc[before].drop(columns="flow_letf"))
    assert (on.loc[before, "flow_letf"] == 0).all()
    after = on[on["t"] >= 1860]  # every fund has started
    held = after["flow_letf"].to_numpy()  # the funds' position (contracts)
    mid = after["mid"].to_numpy()
    need = rebalance_contracts(2e9, 3.0, mid / 6642.16 - 1.0, mid, POINT_USD)  # calm's prior close
    assert need.min() < -25 and need.max() > 10  # the day this seed gives: both signs
    assert held.min() < 0.8 * need.min() and held.max() > 0.5 * need.max()  # sold the dip, bought the rise
    assert np.corrcoef(held, need)[0, 1] > 0.9
    assert abs(on_run.summary["letf_unfilled_contracts"]) < 0.25 * abs(need).max()  # nearly caught up
    assert off_run.summary["letf_unfilled_contracts"] is None  # no funds (NaN, written as null)
