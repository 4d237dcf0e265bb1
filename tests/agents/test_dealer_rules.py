"""The option dealer's hedging rules (agents.dealer) against the stub world of tests/agents/stub_world.py.

Customers long puts leave the dealers short gamma: they must sell futures into a fall and buy into
a rise; customers short puts (dealers long gamma) the opposite. A gap inside the band is not traded,
one order is at most a clip, and the price watches sit one band's move (or ``watch_move_pct``) away.
"""

from __future__ import annotations

import math

import pytest
from stub_world import F0, StubWorld, as_world

from agents.dealer import DealerConfig, DealerParams, OptionDealer, build_crowd
from market.options_desk import OpenInterest

SHORT_GAMMA = (OpenInterest(100.0, 30, False, 20_000),)  # customers long ATM puts
LONG_GAMMA = (OpenInterest(100.0, 30, False, -20_000),)  # customers short them


def dealer(world: StubWorld, **overrides) -> OptionDealer:
    """One dealer hedging the whole book, starting the day hedged at F0."""
    values = dict(share=1.0, hedge_interval_s=300.0, band_contracts=5.0, max_clip_contracts=100_000,
                  hedge_fraction=1.0, hedging=True, watch_move_pct=0.1, max_slippage_ticks=8,
                  max_participation=math.inf)  # fmt: skip
    values.update(overrides)
    d = OptionDealer(as_world(world), "dealer_0", DealerParams(**values))
    target, _ = d.target_contracts()
    world.exchange.set_initial_position(d.owner, int(round(target)), F0)
    return d


def traded_after_move(positions, move_pct: float, **overrides) -> tuple[int, float]:
    """(signed futures traded by one hedge after the index moves ``move_pct``, gap left after it)."""
    world = StubWorld(positions)
    d = dealer(world, **overrides)
    before = d.position
    world.move_to(F0 * (1 + move_pct / 100))
    d.hedge()
    return d.position - before, d.target_contracts()[0] - d.position


def test_short_gamma_dealer_sells_futures_when_the_index_falls():
    qty, gap_left = traded_after_move(SHORT_GAMMA, -2.0)
    assert qty < 0
    assert abs(qty) > 100  # 20,000 ATM puts: a 2% fall moves the hedge by hundreds of contracts
    assert abs(gap_left) <= 1  # hedge_fraction 1 and no clip: the whole gap in one order


def test_short_gamma_dealer_buys_futures_when_the_index_rises():
    qty, _ = traded_after_move(SHORT_GAMMA, +2.0)
    assert qty > 0


def test_long_gamma_dealer_trades_against_the_move():
    assert traded_after_move(LONG_GAMMA, -2.0)[0] > 0  # buys the fall
    assert traded_after_move(LONG_GAMMA, +2.0)[0] < 0  # sells the rise


def test_no_hedge_trade_before_hedge_start_s_and_the_whole_gap_after_it():
    world = StubWorld(SHORT_GAMMA)
    world.exchange.now_s = -1800.0  # 09:00 ET, pre-market
    d = dealer(world, hedge_start_s=0.0)
    world.move_to(F0 * 0.98)
    d.hedge()
    assert world.exchange.orders == []  # the gap waits for the cash open
    world.exchange.now_s = 0.0
    d.hedge()
    (order,) = world.exchange.orders
    assert order.side == -1 and order.filled > 100  # then it is hedged, selling into the fall
    assert DealerConfig().hedge_start_s == -math.inf


def test_a_gap_inside_the_band_is_not_traded():
    world = StubWorld(SHORT_GAMMA)
    d = dealer(world, band_contracts=1e6)
    world.move_to(F0 * 0.98)
    d.hedge()
    assert world.exchange.orders == []


def test_one_order_is_at_most_a_clip_and_a_follow_up_is_scheduled():
    world = StubWorld(SHORT_GAMMA)
    d = dealer(world, max_clip_contracts=7)
    world.move_to(F0 * 0.98)
    n_wakeups = len(world.wakeups)
    d.hedge()
    (order,) = world.exchange.orders
    assert order.side == -1 and order.filled == 7
    assert [m for _, m in world.wakeups[n_wakeups:]] == [d.follow_up]  # the rest of the gap later


def test_hedges_from_price_watches_do_not_start_more_follow_ups():
    """A gap stays open while watches fire: one pending follow-up, not one per hedge call."""
    world = StubWorld(SHORT_GAMMA)
    d = dealer(world, max_clip_contracts=7)
    for move in (0.98, 0.975, 0.97):  # three watch-triggered hedges into a falling market
        world.move_to(F0 * move)
        d.on_price(None)
    assert len(world.exchange.orders) == 3  # each one traded a clip ...
    assert sum(m == d.follow_up for _, m in world.wakeups) == 1  # ... but one follow-up waits
    d.follow_up()  # it runs, the gap is still open: the next one is scheduled
    assert sum(m == d.follow_up for _, m in world.wakeups) == 2


@pytest.mark.parametrize("follow_up_s", [12.5, 60.0])
def test_the_follow_up_comes_0_4x_to_1_6x_follow_up_s_later(follow_up_s):
    waits = []
    for seed in range(20):
        world = StubWorld(SHORT_GAMMA, seed=seed)
        d = dealer(world, max_clip_contracts=7, follow_up_s=follow_up_s)
        world.move_to(F0 * 0.98)
        d.hedge()
        ((t_s, method),) = [w for w in world.wakeups if w[1] == d.follow_up]
        waits.append(t_s - world.exchange.now_s)
    assert 0.4 * follow_up_s <= min(waits) and max(waits) <= 1.6 * follow_up_s
    assert max(waits) - min(waits) > 0.5 * follow_up_s  # drawn, not fixed
    assert DealerConfig().follow_up_s == 12.5  # the default: 5-20 s, as before the key existed


def test_hedge_fraction_trades_part_of_the_gap():
    full, _ = traded_after_move(SHORT_GAMMA, -2.0)
    half, _ = traded_after_move(SHORT_GAMMA, -2.0, hedge_fraction=0.5)
    assert half == pytest.approx(full / 2, abs=1)


def test_watches_bracket_the_price_one_band_move_away():
    world = StubWorld(SHORT_GAMMA)
    d = dealer(world, band_contracts=50.0, watch_move_pct=0.0)
    d.hedge()
    up, down = sorted(world.watches_of(d.owner), key=lambda w: -w.direction)
    _, gamma = d.target_contracts()
    distance = 50.0 / gamma  # the move that opens a gap of one band (index points)
    tick = world.exchange.tick
    assert (up.direction, down.direction) == (1, -1)
    assert up.level_ticks * tick == pytest.approx(F0 + distance, abs=tick)
    assert down.level_ticks * tick == pytest.approx(F0 - distance, abs=tick)
    d.hedge()  # re-arming replaces the watches
    assert len(world.watches_of(d.owner)) == 2


def test_without_options_there_is_nothing_to_hedge_and_no_watch():
    world = StubWorld(())
    d = dealer(world)
    world.move_to(F0 * 0.9)
    d.hedge()
    assert world.exchange.orders == [] and world.watches_of(d.owner) == []


def test_a_dealer_that_does_not_hedge_never_wakes_up():
    world = StubWorld(SHORT_GAMMA)
    dealer(world, hedging=False)
    assert world.wakeups == []


def test_build_crowd_shares_add_up_and_start_hedged():
    world = StubWorld(SHORT_GAMMA, seed=4)
    crowd = build_crowd(as_world(world), DealerConfig(n_agents=5), F0)
    assert [d.name for d in crowd] == [f"dealer_{i}" for i in range(5)]
    assert sum(d.params.share for d in crowd) == pytest.approx(1.0)
    target = world.options.exposures(F0, 0.0).hedge_target_es
    assert target < 0  # short puts are hedged with short futures
    assert sum(d.position for d in crowd) == pytest.approx(target, abs=5)
    assert list(world.agents_by_type[OptionDealer]) == crowd  # registered with the model, in order


def test_the_band_grows_with_gamma_above_its_start_only_when_asked():
    world = StubWorld(SHORT_GAMMA)
    fixed = dealer(world, band_contracts=20.0)
    assert fixed.band(1e6) == 20.0  # exponent 0: the band never moves
    ww = dealer(StubWorld(SHORT_GAMMA), band_contracts=20.0, band_gamma_exponent=2 / 3, start_gamma=10.0)
    assert ww.band(5.0) == 20.0 and ww.band(10.0) == 20.0  # at or below the start gamma: unchanged
    assert ww.band(80.0) == pytest.approx(20.0 * 8 ** (2 / 3))  # 8x the gamma: 4x the band
    assert DealerConfig().band_gamma_exponent == 0.0


def test_a_gamma_scaled_band_leaves_a_high_gamma_gap_untraded_that_a_fixed_band_trades():
    """Near expiry gamma soars: a fixed band trades every swing, the Whalley-Wilmott band waits."""
    world = StubWorld(SHORT_GAMMA)
    probe = dealer(world)
    _, gamma = probe.target_contracts()
    move = -0.05  # a 0.05% dip: a gap of about gamma x 3.3 points
    gap = abs(traded_after_move(SHORT_GAMMA, move, band_contracts=0.0)[0])
    band = 0.5 * gap  # a fixed band of half the gap trades it ...
    assert traded_after_move(SHORT_GAMMA, move, band_contracts=band)[0] < 0
    # ... a band scaled from a start gamma 1/8 of today's is 4x wider and leaves it alone
    qty, _ = traded_after_move(SHORT_GAMMA, move, band_contracts=band, band_gamma_exponent=2 / 3,
                               start_gamma=gamma / 8)  # fmt: skip
    assert qty == 0


def test_build_crowd_gives_each_dealer_the_start_gamma_of_its_share():
    world = StubWorld(SHORT_GAMMA, seed=4)
    crowd = build_crowd(as_world(world), DealerConfig(n_agents=3, band_gamma_exponent=0.5), F0)
    gamma = abs(world.options.exposures(F0, 0.0).gamma_es_per_point)
    for d in crowd:
        assert d.params.band_gamma_exponent == 0.5
        assert d.params.start_gamma == pytest.approx(d.params.share * gamma)


@pytest.mark.parametrize(("share", "waiting"), [(1.0, 4), (0.5, 2), (0.0, 0)])
def test_hedge_start_share_sets_how_many_dealers_wait_for_hedge_start_s(share, waiting):
    """The first round(share x n) dealers wait for the cash open; the rest hedge pre-market too."""
    world = StubWorld(SHORT_GAMMA, seed=4)
    config = DealerConfig(n_agents=4, hedge_start_s=0.0, hedge_start_share=share, max_participation=math.inf)
    crowd = build_crowd(as_world(world), config, F0)
    starts = [d.params.hedge_start_s for d in crowd]
    assert starts == [0.0] * waiting + [-math.inf] * (4 - waiting)
    world.exchange.now_s = -1800.0  # 09:00 ET: a 2% fall before the open
    world.move_to(F0 * 0.98)
    for d in crowd:
        d.hedge()
    sellers = {order.owner for order in world.exchange.orders}
    assert sellers == {d.owner for d in crowd[waiting:]}  # only the around-the-clock desks sell
    assert all(order.side == -1 for order in world.exchange.orders)
    assert DealerConfig().hedge_start_share == 1.0
