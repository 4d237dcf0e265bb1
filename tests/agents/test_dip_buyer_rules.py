"""The dip buyer's rules (agents.dip_buyer) against the stub world of tests/agents/stub_world.py.

A buyer acts only at or below its entry level (the day's high minus its drawdown; each further
tranche ``tranche_step_pct`` deeper), follows the high up, and never spends more than its capital.
Aggressive buyers watch the level and buy with protected market orders; passive ones rest a bid
there once the price comes within ``APPROACH_PCT``.
"""

from __future__ import annotations

import pytest
from stub_world import F0, StubWorld, as_world

from agents.dip_buyer import APPROACH_PCT, DipBuyer, DipBuyerConfig, DipBuyerParams, build_crowd
from market.types import BUY, LIMIT

CONTRACT_USD = F0 * 50.0  # one E-mini at the starting price ($)


def buyer(world: StubWorld, **overrides) -> DipBuyer:
    values = dict(capital_usd=10 * CONTRACT_USD, entry_drawdown_pct=1.0, tranches=3, tranche_step_pct=1.0,
                  aggressive=True, max_slippage_ticks=8)  # fmt: skip
    values.update(overrides)
    return DipBuyer(as_world(world), "dip_buyer_0", DipBuyerParams(**values))


def level(world: StubWorld, drawdown_pct: float) -> float:
    return world.day_high_points * (1 - drawdown_pct / 100)


def fire(world: StubWorld, b: DipBuyer) -> None:
    """Move the price to the buyer's watched level and run the watch's callback."""
    world.fire(b.owner)


def test_does_nothing_above_its_entry_level():
    world = StubWorld()
    b = buyer(world)
    (w,) = world.watches_of(b.owner)
    assert w.direction == -1  # waits for a fall
    assert w.level_ticks * world.exchange.tick == pytest.approx(level(world, 1.0), abs=0.25)
    world.move_to(F0 * 0.995)  # a 0.5% dip: above the 1% level
    assert world.exchange.orders == [] and b.position == 0


def test_aggressive_buyer_buys_at_its_level_and_then_watches_one_step_deeper():
    world = StubWorld()
    b = buyer(world)
    fire(world, b)
    (order,) = world.exchange.orders
    assert order.side == BUY and order.filled > 0
    assert world.exchange.mid <= level(world, 1.0) + 0.25
    assert b.tranche == 1
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(level(world, 2.0), abs=0.25)


def test_never_spends_more_than_its_capital():
    world = StubWorld()
    b = buyer(world, capital_usd=2.5 * CONTRACT_USD, tranches=5)
    for _ in range(10):
        if not world.watches_of(b.owner):
            break
        fire(world, b)
    assert b.spent_usd <= b.params.capital_usd
    assert b.position == 2  # 2.5 contracts' worth buys two whole contracts
    assert world.watches_of(b.owner) == []  # budget spent: nothing armed any more
    assert b.budget_left_usd < CONTRACT_USD


def test_a_buyer_too_poor_for_one_contract_never_trades():
    world = StubWorld()
    b = buyer(world, capital_usd=0.5 * CONTRACT_USD)
    fire(world, b)
    assert world.exchange.signed_qty(b.owner) == 0 and b.spent_usd == 0


def test_entry_level_follows_a_new_high():
    world = StubWorld()
    b = buyer(world)
    world.move_to(F0 * 1.02)  # new high
    b.on_new_high(world.day_high_points)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 1.02 * 0.99, abs=0.25)
    assert world.high_subscribers == [b]


def test_a_prior_close_buyer_keeps_its_level_when_the_high_rises():
    world = StubWorld()
    world.day_high_points = 0.0  # before the first trade, as in the model: armed by the first high
    b = buyer(world, anchor_points=F0)  # F0 is the prior close here
    assert world.watches_of(b.owner) == []
    world.move_to(F0 * 1.02)  # a 2% rally: a day's-high buyer's level would rise to 0.99 x 1.02 x F0
    b.on_new_high(world.day_high_points)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
    world.move_to(F0 * 1.005)  # 1.5% below the high but still 0.5% above the prior close
    assert world.exchange.orders == [] and b.position == 0


def test_build_crowd_gives_the_prior_close_share_a_fixed_reference():
    world = StubWorld(seed=3)
    config = DipBuyerConfig(n_agents=200, capital_usd=1e10, prior_close_share=0.3)
    crowd = build_crowd(as_world(world), config, F0)
    anchored = [b for b in crowd if b.params.anchor_points is not None]
    assert all(b.params.anchor_points == F0 for b in anchored)
    assert 40 <= len(anchored) <= 80  # about 30% of 200
    none = build_crowd(as_world(StubWorld(seed=3)), DipBuyerConfig(n_agents=200, capital_usd=1e10), F0)
    assert all(b.params.anchor_points is None for b in none)


def test_a_support_buyer_bids_at_each_support_in_turn_and_ignores_a_new_high():
    world = StubWorld()
    supports = (F0 * 0.99, F0 * 0.97)
    b = buyer(world, aggressive=False, tranches=2, levels_points=supports)
    world.move_to(F0 * 1.02)  # a new high does not move a support
    b.on_new_high(world.day_high_points)
    (w,) = world.watches_of(b.owner)
    approach = supports[0] * (1 + APPROACH_PCT / 100)
    assert w.level_ticks * world.exchange.tick == pytest.approx(approach, abs=0.25)
    fire(world, b)
    (bid,) = world.exchange.orders
    assert bid.kind == LIMIT and bid.side == BUY
    assert bid.price_ticks * world.exchange.tick == pytest.approx(supports[0], abs=0.25)
    world.exchange.fill(bid, bid.qty)
    b.check_bid()
    (w,) = world.watches_of(b.owner)  # the next support down
    approach = supports[1] * (1 + APPROACH_PCT / 100)
    assert w.level_ticks * world.exchange.tick == pytest.approx(approach, abs=0.25)


def test_a_support_buyer_skips_a_support_the_price_is_already_below():
    world = StubWorld()
    world.day_high_points = 0.0  # armed by the first high
    supports = (F0 * 1.01, F0 * 0.99)  # the first is above the market: already broken
    b = buyer(world, tranches=2, levels_points=supports)
    world.move_to(F0)
    b.on_new_high(world.day_high_points)
    assert b.tranche == 1 and world.exchange.orders == []  # nothing bought above the market
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(supports[1], abs=0.25)


def test_build_crowd_gives_the_support_share_the_supports_as_its_levels():
    world = StubWorld(seed=3)
    config = DipBuyerConfig(n_agents=200, capital_usd=1e10, prior_close_share=0.2, support_share=0.3)
    crowd = build_crowd(as_world(world), config, F0, supports=(6500.0, 6550.0))
    at_support = [b for b in crowd if b.params.levels_points]
    assert all(b.params.levels_points == (6550.0, 6500.0) and b.params.tranches == 2 for b in at_support)
    assert all(b.params.anchor_points is None for b in at_support)  # one reference per buyer
    assert 40 <= len(at_support) <= 80  # about 30% of 200
    from_close = [b for b in crowd if b.params.anchor_points is not None]
    assert 25 <= len(from_close) <= 55  # about 20%: the same draw as without support buyers
    alone = build_crowd(as_world(StubWorld(seed=3)), DipBuyerConfig(n_agents=200, capital_usd=1e10,
                                                                    prior_close_share=0.2), F0)  # fmt: skip
    assert [b.params.anchor_points for b in alone] == [b.params.anchor_points for b in crowd]


def test_passive_buyer_rests_a_bid_at_its_level_only_when_the_price_approaches():
    world = StubWorld()
    b = buyer(world, aggressive=False)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(
        level(world, 1.0) * (1 + APPROACH_PCT / 100), abs=0.25
    )
    assert world.exchange.orders == []
    fire(world, b)  # the price comes within APPROACH_PCT
    (bid,) = world.exchange.orders
    assert bid.kind == LIMIT and bid.side == BUY
    assert bid.price_ticks * world.exchange.tick == pytest.approx(level(world, 1.0), abs=0.25)
    assert bid.price_ticks * world.exchange.tick < world.exchange.mid  # below the market
    assert bid.qty * bid.price_ticks * world.exchange.tick * 50.0 <= b.params.capital_usd


def test_passive_buyer_moves_to_the_next_tranche_once_its_bid_is_filled():
    world = StubWorld()
    b = buyer(world, aggressive=False)
    fire(world, b)
    (bid,) = world.exchange.orders
    world.exchange.fill(bid, bid.qty)
    b.check_bid()
    assert b.tranche == 1 and b.position == bid.qty
    (w,) = world.watches_of(b.owner)  # approaching the next, deeper level
    assert w.level_ticks * world.exchange.tick == pytest.approx(
        level(world, 2.0) * (1 + APPROACH_PCT / 100), abs=0.25
    )


def test_build_crowd_splits_the_capital_and_draws_levels_in_range():
    world = StubWorld(seed=2)
    config = DipBuyerConfig(n_agents=20, capital_usd=1e9, min_drawdown_pct=1.0, max_drawdown_pct=3.0)
    crowd = build_crowd(as_world(world), config, F0)
    assert len(crowd) == 20
    assert sum(b.params.capital_usd for b in crowd) == pytest.approx(1e9)
    assert all(1.0 <= b.params.entry_drawdown_pct <= 3.0 for b in crowd)
    assert list(world.agents_by_type[DipBuyer]) == crowd


def test_a_bar_high_buyer_measures_from_the_highest_bar_close_not_from_a_spike():
    world = StubWorld()
    b = buyer(world, high_bar_s=900.0)
    assert world.bar_highs == {900.0: -float("inf")} and world.watches_of(b.owner) == []  # no bar yet
    world.bar_highs[900.0] = F0  # the first bar closes at F0
    b.on_new_high(F0)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
    world.move_to(F0 * 1.03)  # a spike: the day's high moves, no bar closed up there
    world.move_to(F0 * 1.005)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
    world.bar_highs[900.0] = F0 * 1.01  # a bar closes 1% up: the level follows it
    b.on_new_high(F0 * 1.01)
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 1.01 * 0.99, abs=0.25)


def test_a_prior_close_buyer_ignores_the_bar_length():
    world = StubWorld()
    b = buyer(world, anchor_points=F0, high_bar_s=900.0)
    assert world.bar_highs == {}  # it listens to the day's high, which only arms it
    (w,) = world.watches_of(b.owner)
    assert w.level_ticks * world.exchange.tick == pytest.approx(F0 * 0.99, abs=0.25)
