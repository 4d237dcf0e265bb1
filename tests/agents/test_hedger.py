"""The put-buying hedger (agents.hedger) against a small stub world implementing agents.world.World.

No order book and no Mesa event loop: the stub records wake-ups, the test sets the price, the
drawdown and the clock, and a real options desk books the trades.
"""

from __future__ import annotations

import math

import pytest
from stub_world import F0, as_world
from stub_world import StubWorld as SharedStubWorld

from agents.hedger import HedgerConfig, HedgerParams, PutBuyingHedger, build_crowd
from market.ivsurface import EventPremium


class StubWorld(SharedStubWorld):
    """The shared stub World (tests/agents/stub_world.py) with a scripted drawdown (0 until a test sets
    it); watching a price is a test failure."""

    def __init__(self, premia=(), seed: int = 0):
        super().__init__(premia=premia, seed=seed)
        self.drawdown = 0.0

    def watch(self, owner: int, level_ticks: int, direction: int, method) -> int:
        raise AssertionError("hedgers do not watch prices")

    def unwatch(self, token: int) -> None:
        raise AssertionError("hedgers do not watch prices")


def hedger(world: StubWorld, **overrides) -> PutBuyingHedger:
    values = dict(decision_interval_s=600.0, pre_event_qty=100, post_event_qty=0, panic_drawdown_pct=1.0,
                  panic_qty=50, monetize_gain_pct=100.0, strike_pct=95.0, expiry_day=1, panic_max_buys=0)
    values.update(overrides)
    return PutBuyingHedger(as_world(world), "hedger_0", HedgerParams(**values))


def hedger_puts(world: StubWorld) -> int:
    return int(world.options.book.holder_qty("hedgers").sum())


def test_schedules_its_first_decision_on_creation():
    world = StubWorld()
    h = hedger(world)
    assert world.exchange.owners == [("hedger_0", "hedgers")]
    assert [m for _, m in world.wakeups] == [h.decide]
    assert world.wakeups[0][0] >= 0.0


def test_buys_puts_before_the_event_and_stops_after_it():
    world = StubWorld(premia=[EventPremium("payrolls", 0, 3600.0, 0.01)])
    h = hedger(world, pre_event_qty=100, post_event_qty=5)
    h.decide()
    assert h.puts_bought == 100 and hedger_puts(world) == 100
    (lot,) = h.lots
    assert lot.strike == pytest.approx(0.95 * F0) and lot.strike % 5 == 0 and lot.paid_points > 0
    assert len(world.wakeups) == 2  # sleeps again after each decision
    world.options.resolve_event("payrolls")
    h.decide()
    assert h.puts_bought == 105 and hedger_puts(world) == 105


def test_panic_purchases_are_capped_by_panic_max_buys():
    world = StubWorld()
    h = hedger(world, post_event_qty=1, panic_qty=50, panic_drawdown_pct=1.0, panic_max_buys=2,
               monetize_gain_pct=1e6)  # fmt: skip
    h.decide()  # no drawdown: the post-event quantity
    world.drawdown = 1.5
    for _ in range(4):
        h.decide()
    assert h.panic_buys == 2
    assert h.puts_bought == 1 + 2 * 50 + 2 * 1
    assert hedger_puts(world) == h.puts_bought


def test_panic_buys_are_unlimited_when_panic_max_buys_is_zero():
    world = StubWorld()
    h = hedger(world, panic_qty=10, panic_max_buys=0, monetize_gain_pct=1e6)
    world.drawdown = 3.0
    for _ in range(5):
        h.decide()
    assert h.panic_buys == 5 and h.puts_bought == 50


def test_panic_puts_take_their_own_strike_and_expiry_and_event_hedges_keep_theirs():
    world = StubWorld(premia=[EventPremium("payrolls", 0, 3600.0, 0.01)])
    h = hedger(world, pre_event_qty=10, panic_qty=20, panic_strike_pct=100.0, panic_expiry_day=0,
               monetize_gain_pct=1e6)  # fmt: skip
    h.decide()  # before the event: the event hedge, 95% strike, tomorrow's expiry
    world.options.resolve_event("payrolls")
    world.drawdown = 2.0
    h.decide()  # in the sell-off: a 0DTE at-the-money put
    assert [(lot.strike, lot.expiry_day, lot.qty) for lot in h.lots] == [
        (pytest.approx(0.95 * F0), 1, 10), (pytest.approx(F0), 0, 20)]
    # at the money it costs more than the 5%-out-of-the-money event hedge
    assert h.lots[1].paid_points > h.lots[0].paid_points


def test_panic_strike_and_expiry_default_to_the_event_hedges():
    world = StubWorld()
    h = hedger(world, panic_qty=5)
    world.drawdown = 2.0
    h.decide()
    (lot,) = h.lots
    assert (lot.strike, lot.expiry_day) == (pytest.approx(0.95 * F0), 1)
    assert HedgerConfig().panic_strike_pct == 0.0 and HedgerConfig().panic_expiry_day == -1


def test_monetizes_puts_that_gained_enough_and_keeps_the_others():
    world = StubWorld(premia=[EventPremium("fomc", 0, 20_000.0, 0.01)])
    h = hedger(world, pre_event_qty=100, monetize_gain_pct=100.0)
    h.decide()  # buys 100 puts at 95% of 6600
    world.options.resolve_event("fomc")  # after the event: no new purchases (post_event_qty = 0)
    world.exchange.now_s = 600.0
    h.decide()  # spot unchanged: the put has not doubled, it is kept
    assert h.puts_sold == 0 and len(h.lots) == 1
    world.exchange.mid = 0.94 * F0  # the index falls through the strike: the put is worth far more
    world.exchange.now_s = 1200.0
    h.decide()
    assert h.puts_sold == 100 and h.lots == []
    assert hedger_puts(world) == 0
    assert [t.qty for t in world.options.trades] == [100, -100]
    assert world.options.trades[1].price_points >= 2 * world.options.trades[0].price_points


def test_build_crowd_draws_staggered_panic_thresholds_reproducibly():
    config = HedgerConfig(n_agents=6, panic_drawdown_pct=1.0, panic_drawdown_max_pct=2.5, panic_qty=10)
    crowds = [build_crowd(StubWorld(seed=7), config) for _ in range(2)]
    params = [[h.params for h in crowd] for crowd in crowds]
    assert params[0] == params[1]
    thresholds = [p.panic_drawdown_pct for p in params[0]]
    assert all(1.0 <= x <= 2.5 for x in thresholds) and len(set(thresholds)) == 6
    assert all(math.isfinite(p.decision_interval_s) and p.decision_interval_s > 0 for p in params[0])
    assert [h.name for h in crowds[0]] == [f"hedger_{i}" for i in range(6)]
