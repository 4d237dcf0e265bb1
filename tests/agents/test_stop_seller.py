"""The stop-loss seller (agents.stop_seller) against the stub world of tests/agents/stub_world.py.

A seller carries a long position, keeps a stop ``stop_pct`` below the day's high (moving up with
the high), and once the price reaches it sells ``immediate_share`` at once and the rest at most
``max_participation`` of the market volume per order, never buying anything back.
"""

from __future__ import annotations

import pytest
from stub_world import F0, StubWorld, as_world

from agents.stop_seller import StopLossSeller, StopSellerConfig, StopSellerParams, build_crowd
from market.types import SELL


def seller(world: StubWorld, **overrides) -> StopLossSeller:
    values = dict(position_contracts=100, stop_pct=1.0, immediate_share=0.3, max_participation=0.1,
                  retry_interval_s=30.0, max_slippage_ticks=8)  # fmt: skip
    values.update(overrides)
    return StopLossSeller(as_world(world), "stop_seller_0", StopSellerParams(**values), F0)


def fire(world: StubWorld, s: StopLossSeller) -> None:
    """Move the price to the seller's stop and run the watch's callback."""
    world.fire(s.owner)


def test_carries_its_position_and_waits_below_the_high():
    world = StubWorld()
    s = seller(world)
    assert s.position == 100
    (w,) = world.watches_of(s.owner)
    assert w.direction == -1
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
    world.move_to(F0 * 0.995)  # a 0.5% dip: above the stop
    assert world.exchange.orders == [] and not s.triggered


def test_the_stop_follows_a_new_high():
    world = StubWorld()
    s = seller(world)
    world.move_to(F0 * 1.02)
    s.on_new_high(world.day_high_points)
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 1.02 * 0.99, abs=0.25)


def test_at_the_stop_it_sells_a_share_at_once_then_works_the_rest_by_volume():
    world = StubWorld()
    s = seller(world, immediate_share=0.3, max_participation=0.1)
    fire(world, s)
    (first,) = world.exchange.orders
    assert first.side == SELL and first.filled == 30 and s.position == 70
    assert s.triggered and world.watches_of(s.owner) == []
    assert [m for _, m in world.wakeups] == [s.work]
    world.exchange.cum_volume += 200  # the market trades 200 contracts: room for 20
    s.work()
    assert world.exchange.orders[-1].filled == 20 and s.position == 50
    s.work()  # no volume since: at least one contract
    assert world.exchange.orders[-1].filled == 1 and s.position == 49


def test_sells_everything_and_never_buys_or_re_arms():
    world = StubWorld()
    s = seller(world, immediate_share=0.5, max_participation=1.0)
    fire(world, s)
    while s.position > 0:
        world.exchange.cum_volume += 1000
        s.work()
    assert s.position == 0
    assert all(o.side == SELL for o in world.exchange.orders)
    n_wakeups = len(world.wakeups)
    s.work()
    world.move_to(F0 * 1.05)
    s.on_new_high(world.day_high_points)
    assert len(world.wakeups) == n_wakeups and world.watches_of(s.owner) == []


def test_build_crowd_splits_the_position_and_draws_stops_in_range():
    world = StubWorld(seed=3)
    config = StopSellerConfig(n_agents=20, position_contracts=5000, min_stop_pct=0.5, max_stop_pct=3.0)
    crowd = build_crowd(as_world(world), config, F0)
    assert len(crowd) == 20
    assert sum(s.position for s in crowd) == pytest.approx(5000, abs=20)  # rounded per seller
    assert all(s.position >= 1 for s in crowd)
    assert all(0.5 <= s.params.stop_pct <= 3.0 for s in crowd)
    assert list(world.agents_by_type[StopLossSeller]) == crowd


def test_in_a_run_the_sellers_only_sell_and_their_flow_has_its_own_column():
    from experiments.config import load_scenario
    from experiments.runner import run_scenario

    config = load_scenario("calm", ["market.session_end_s=3600", "stop_sellers.enabled=true",
                                    "stop_sellers.n_agents=10", "stop_sellers.position_contracts=200",
                                    "stop_sellers.min_stop_pct=0.05", "stop_sellers.max_stop_pct=0.3"])
    ts = run_scenario(config, seed=2).timeseries  # its first hour draws down 0.23% from its high
    held = ts["flow_stop_sellers"].to_numpy()  # the crowd's position (contracts)
    assert held[0] == pytest.approx(200, abs=10)  # carried into the day
    assert held[-1] < held[0]  # some stops fired within the hour
    assert (held[1:] <= held[:-1]).all() and held[-1] >= 0  # never a purchase, never short


def test_a_stop_range_upside_down_is_a_config_error():
    from experiments.config import load_scenario
    from experiments.config_errors import ConfigError

    with pytest.raises(ConfigError, match="stop_sellers.max_stop_pct"):
        load_scenario("calm", ["stop_sellers.min_stop_pct=2", "stop_sellers.max_stop_pct=1"])


def test_a_support_stop_rests_below_its_support_and_does_not_follow_the_high():
    world = StubWorld()
    level = F0 * 0.98 * 0.999  # 0.1% under a support 2% below
    s = seller(world, fixed_stop_points=level)
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(level, abs=0.25)
    world.move_to(F0 * 1.02)
    s.on_new_high(world.day_high_points)  # a trailing stop would move to 1.02 x 0.99 x F0
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(level, abs=0.25)
    world.move_to(F0 * 0.99)  # 3% below the high, above the support stop: nothing
    assert world.exchange.orders == [] and not s.triggered
    fire(world, s)
    assert s.triggered and world.exchange.orders[0].side == SELL


def test_build_crowd_puts_a_share_of_the_stops_under_the_supports_below_the_prior_close():
    supports = (F0 * 1.01, F0 * 0.985, F0 * 0.97)  # the first is above the prior close: never used
    config = StopSellerConfig(n_agents=400, support_share=0.5, support_offset_pct=0.2)
    crowd = build_crowd(as_world(StubWorld(seed=5)), config, F0, supports)
    fixed = [s.params.fixed_stop_points for s in crowd if s.params.fixed_stop_points > 0]
    assert 160 < len(fixed) < 240  # about half
    allowed = {round(x * 0.998, 6) for x in supports[1:]}
    assert {round(x, 6) for x in fixed} == allowed  # both supports under the prior close, 0.2% below
    # without a share no draw is made: the crowd is the one drawn before support stops existed
    plain = build_crowd(as_world(StubWorld(seed=5)), StopSellerConfig(n_agents=400), F0, supports)
    again = build_crowd(as_world(StubWorld(seed=5)), StopSellerConfig(n_agents=400), F0)
    assert [s.params for s in plain] == [s.params for s in again]
    assert all(s.params.fixed_stop_points == 0.0 for s in plain)


def test_support_stops_need_a_support_below_the_prior_close():
    from experiments.config import load_scenario
    from experiments.config_errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_scenario("calm", ["stop_sellers.support_share=0.5"])
    assert err.value.key == "stop_sellers.support_share" and "below prev_close_points" in str(err.value)
    with pytest.raises(ConfigError, match="stop_sellers.support_share"):
        load_scenario("calm", ["stop_sellers.support_share=0.5", "levels.supports=[9000.0]"])
    config = load_scenario("calm", ["stop_sellers.support_share=0.5", "levels.supports=[6500.0]"])
    assert config.stop_sellers.support_share == 0.5


def test_a_closing_basis_stop_follows_the_highest_bar_close_not_a_spike():
    world = StubWorld()
    s = seller(world, high_bar_s=600.0)
    assert world.watches_of(s.owner) == []  # no bar has closed yet
    world.bar_highs[600.0] = F0
    s.on_new_high(F0)
    world.move_to(F0 * 1.02)  # a spike to +2% that no bar closes at
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
    world.bar_highs[600.0] = F0 * 1.015
    s.on_new_high(F0 * 1.015)
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 1.015 * 0.99, abs=0.25)


def test_a_stop_under_a_support_ignores_the_bar_length():
    world = StubWorld()
    s = seller(world, fixed_stop_points=F0 * 0.98, high_bar_s=600.0)
    assert world.bar_highs == {}
    (w,) = world.watches_of(s.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.98, abs=0.25)
