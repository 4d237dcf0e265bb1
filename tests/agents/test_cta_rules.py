"""The CTA trend follower's rules (agents.cta) against the stub world of tests/agents/stub_world.py.

The signal of a lookback flips sign where the live price crosses the mean of the previous
``lookback - 1`` closes (its trigger): a CTA long above the trigger sells when the price falls
through it. Triggers are watched with hysteresis, and the target shrinks when volatility rises.
"""

from __future__ import annotations

import numpy as np
import pytest
from stub_world import F0, StubWorld, as_world

from agents.cta import TRIGGER_BUFFER, CTAConfig, CTAParams, CTATrendFollower, build_crowd

# 100 daily closes rising 0.05% a day with a +-0.5% zig-zag: the prior close sits above its 20-day MA
DAYS = np.arange(100)
CLOSES = F0 * np.exp(0.0005 * (DAYS - 99)) * (1 + 0.005 * (-1.0) ** (DAYS + 1))


def cta(world: StubWorld, **overrides) -> CTATrendFollower:
    values = dict(capital_usd=1e9, vol_target_ann=0.1, lookbacks_days=(20,), weights=(1.0,),
                  signal_width_vol=0.5, rebalance_interval_s=1800.0, slice_interval_s=60.0,
                  max_slice_contracts=100_000, max_slippage_ticks=8, execution_horizon_s=0.0)  # fmt: skip
    values.update(overrides)
    return CTATrendFollower(as_world(world), "cta_0", CTAParams(**values), CLOSES)


def test_signal_changes_sign_at_the_trigger():
    c = cta(StubWorld())
    (trigger,) = c.trigger_levels()
    assert trigger == pytest.approx(CLOSES[-19:].mean())
    assert c.signal(trigger * 1.001) > 0 > c.signal(trigger * 0.999)
    assert c.signal(trigger * 1.5) == 1.0 and c.signal(trigger * 0.5) == -1.0  # saturates


def test_starts_long_above_its_trigger_and_watches_it_from_above():
    world = StubWorld()
    c = cta(world)
    (trigger,) = c.trigger_levels()
    assert F0 > trigger and c.initial_position > 0 and c.position == c.initial_position
    (w,) = world.watches_of(c.owner)
    assert w.direction == -1  # from above: fires when the price falls through
    assert w.level_ticks * world.exchange.tick == pytest.approx(trigger * (1 - TRIGGER_BUFFER), abs=0.25)


def test_sells_when_the_price_crosses_below_the_trigger():
    world = StubWorld()
    c = cta(world)
    (trigger,) = c.trigger_levels()
    start = c.position
    world.move_to(trigger * 0.99, t_s=600.0)
    c.on_trigger(None)
    assert c.target < 0
    assert world.exchange.signed_qty(c.owner) < 0 and c.position < start
    assert c.position == pytest.approx(c.target, abs=1)  # one slice: max_slice_contracts is large
    (w,) = world.watches_of(c.owner)
    assert w.direction == +1  # now below: the watch waits for a rise back through


def test_stays_long_while_above_the_trigger():
    world = StubWorld()
    c = cta(world)
    (trigger,) = c.trigger_levels()
    world.move_to(trigger * 1.002, t_s=600.0)
    c.rebalance()
    assert c.target > 0 and c.position > 0


def test_slices_are_capped_and_the_rest_follows_later():
    world = StubWorld()
    c = cta(world, max_slice_contracts=5)
    (trigger,) = c.trigger_levels()
    world.move_to(trigger * 0.99, t_s=600.0)
    n = len(world.wakeups)
    c.on_trigger(None)
    (order,) = world.exchange.orders
    assert order.side == -1 and order.filled == 5
    assert [m for _, m in world.wakeups[n:]] == [c.execute_slice]


def test_vol_targeting_shrinks_the_target_when_volatility_rises():
    world = StubWorld()
    c = cta(world)
    calm = c.target_at(F0, 0.10)
    assert 0 < c.target_at(F0, 0.40) < calm
    assert c.target_at(F0, 0.40) == pytest.approx(calm / 4)


@pytest.mark.parametrize("weight", [0.0, 0.2, 1.0])
def test_live_vol_weight_sets_how_much_an_intraday_vol_burst_moves_the_estimate(weight):
    world = StubWorld()
    c = cta(world, live_vol_weight=weight)
    hist = c._sigma_ann()
    world.exchange.vol_ann = 4.0 * hist  # a burst of short-term volatility
    burst = c._sigma_ann()
    assert burst == pytest.approx(np.sqrt((1 - weight) * hist**2 + weight * (4.0 * hist) ** 2))
    if weight == 0.0:
        assert burst == hist  # a daily-horizon estimate: the CTA keeps its size through the burst
    else:
        assert burst > hist


def test_signal_and_vol_flows_add_up_to_the_target_change():
    world = StubWorld()
    c = cta(world)
    (trigger,) = c.trigger_levels()
    s0, l0 = c._signal_scale
    world.exchange.vol_ann = 0.5
    world.move_to(trigger * 0.99, t_s=600.0)
    c.on_trigger(None)
    assert c.flow_signal < 0  # the signal flipped: a sell
    assert c.flow_signal + c.flow_vol == pytest.approx(c.target - s0 * l0)


def test_build_crowd_registers_heterogeneous_ctas():
    world = StubWorld(seed=5)
    config = CTAConfig(n_agents=4, capital_usd=4e9, daily_closes=tuple(CLOSES))
    crowd = build_crowd(as_world(world), config)
    assert [c.name for c in crowd] == [f"cta_{i}" for i in range(4)]
    assert sum(c.params.capital_usd for c in crowd) == pytest.approx(4e9)
    assert len({c.params.lookbacks_days for c in crowd}) > 1
    assert list(world.agents_by_type[CTATrendFollower]) == crowd
