"""The background flow against its parameters: arrivals, sizes, cancels, spread, sentiment, stress.

Statistical checks use windows long enough for tight tolerances (mostly 4-sigma bands around the
expectation implied by ``FlowParams``) with fixed seeds; ``activity_vol = open_boost = close_boost
= 0`` (one activity factor) makes the noise traders' intensity constant where a test needs a plain
Poisson process.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.exchange import Exchange, MarketParams
from market.flow import FlowParams
from market.types import BUY, IOC, LIMIT, MARKET, SELL

PRICE = 6642.16
# one zero-variance activity factor: the Poisson tests keep the uniform stream they were written on
CONSTANT = {"activity_vol": 0.0, "activity_n_scales": 1, "open_boost": 0.0, "close_boost": 0.0}
TWO_HOURS = 7200.0


def run(flow: FlowParams, seed: int, t_end: float = TWO_HOURS) -> Exchange:
    ex = Exchange(PRICE, flow, seed=seed, market=MarketParams(session_end_s=t_end))
    ex.advance_to(t_end)
    return ex


def noise_market_orders(ex: Exchange) -> dict[str, np.ndarray]:
    """One entry per noise market order that traded: time of its first fill, side and filled qty.

    Noise limit orders never cross (they join or improve inside the spread), so every trade whose
    taker is the noise account comes from a noise market order.
    """
    rec = ex.book.trades
    noise = ex.owner_groups.index("background") + ex.flow.n_market_makers  # the makers come first
    m = rec[rec["taker_owner"] == noise]
    oids, first, inverse = np.unique(m["taker_oid"], return_index=True, return_inverse=True)
    return {
        "t_s": m["time"][first] / 1e9,
        "side": m["side"][first].astype(int),
        "qty": np.bincount(inverse, weights=m["qty"]).astype(int),
    }


def within_poisson(count: int, expected: float, n_sigma: float = 4.0) -> bool:
    return abs(count - expected) <= n_sigma * math.sqrt(expected)


# ---------------------------------------------------------------------------- arrivals and sizes
# A near-zero refill latency: a maker's refill after a sweep pre-empts the pending Poisson event and
# the next one is drawn from the refill time, so no noise order can arrive during the latency (see
# test_refill_latency_does_not_thin_the_noise_arrivals); 1 us makes that dead time negligible.
INSTANT_REFILL = {**CONSTANT, "mm_refill_latency_s": 1e-6}


@pytest.fixture(scope="module")
def constant_day() -> Exchange:
    flow = FlowParams(
        **INSTANT_REFILL, noise_market_min_qty=2.0, noise_market_alpha=1.5, noise_market_max_qty=40
    )
    return run(flow, seed=3)


def test_noise_market_order_count_is_rate_times_time(constant_day):
    orders = noise_market_orders(constant_day)
    expected = constant_day.flow.noise_market_rate_per_s * TWO_HOURS  # 57,600
    assert within_poisson(len(orders["t_s"]), expected)
    # a Poisson process: counts in 10-second bins have variance ~ mean (index of dispersion ~ 1)
    counts = np.bincount((orders["t_s"] // 10).astype(int), minlength=720)[:720]
    assert 0.8 < counts.var() / counts.mean() < 1.2


def test_refill_latency_does_not_thin_the_noise_arrivals():
    flow = FlowParams(**CONSTANT, mm_refill_latency_s=0.2)
    n = len(noise_market_orders(run(flow, seed=3))["t_s"])
    assert within_poisson(n, flow.noise_market_rate_per_s * TWO_HOURS)


def test_market_order_sizes_follow_the_capped_pareto(constant_day):
    q = noise_market_orders(constant_day)["qty"]
    n = len(q)
    assert q.min() == 2 and q.max() == 40  # Pareto minimum 2, cap 40
    for k in (3, 4, 6, 10, 20):  # P(qty >= k) = P(floor(2 U^(-1/1.5)) >= k) = (k / 2)^-1.5
        p = (k / 2.0) ** -1.5
        assert abs(np.mean(q >= k) - p) <= 4 * math.sqrt(p * (1 - p) / n), k
    p_cap = 20.0**-1.5  # every draw beyond the cap lands on it
    assert abs(np.mean(q == 40) - p_cap) <= 4 * math.sqrt(p_cap * (1 - p_cap) / n)


def test_activity_u_shape_raises_the_rate_after_the_open():
    flow = FlowParams(activity_vol=0.0, open_boost=1.5, open_decay_s=1800.0)
    t = noise_market_orders(run(flow, seed=8))["t_s"]
    rate = flow.noise_market_rate_per_s

    def expected(a: float, b: float) -> float:  # rate x integral of 1 + boost e^(-t/decay); close far
        return rate * ((b - a) + 1.5 * 1800.0 * (math.exp(-a / 1800.0) - math.exp(-b / 1800.0)))

    for a, b in ((0.0, 900.0), (900.0, 3600.0), (5400.0, 7200.0)):
        assert within_poisson(int(((t >= a) & (t < b)).sum()), expected(a, b)), (a, b)


def test_log_activity_factor_clusters_arrivals():
    flow = FlowParams(
        activity_vol=0.45, activity_n_scales=1, activity_halflife_s=900.0, open_boost=0.0, close_boost=0.0
    )
    t = noise_market_orders(run(flow, seed=2))["t_s"]
    per_min = np.bincount((t // 60).astype(int), minlength=120)[:120]
    assert per_min.var() / per_min.mean() > 10.0  # far from Poisson: the OU factor moves the rate
    # ... slowly (half-life 15 minutes): busy minutes follow busy minutes
    assert np.corrcoef(per_min[:-1], per_min[1:])[0, 1] > 0.7


def test_activity_factor_halflives_are_spaced_geometrically():
    from market._flow_kernels import _act_halflife_s
    from market.flow import pack

    fp = pack(FlowParams(activity_min_halflife_s=300.0, activity_halflife_s=7200.0))
    assert [_act_halflife_s(fp, i, 3) for i in range(3)] == pytest.approx([300.0, 300.0 * 24**0.5, 7200.0])
    assert _act_halflife_s(fp, 0, 1) == 7200.0  # one factor: the slowest half-life, as before


def _day_abs_return_acf(flow: FlowParams, seed: int) -> float:
    """Mean autocorrelation of |1-minute mid returns| over lags 1-10 on one background-only day."""
    t_end = 23_400.0
    ex = run(flow, seed, t_end)
    snaps = ex.snapshots().dropna(subset=["bid", "ask"])
    grid = np.arange(0.0, t_end + 1e-9, 60.0)
    mid = 0.5 * (snaps["bid"] + snaps["ask"]).to_numpy()
    r = np.diff(np.log(np.interp(grid, snaps["t"].to_numpy(), mid)))
    a = np.abs(r)
    return float(np.mean([np.corrcoef(a[:-k], a[k:])[0, 1] for k in range(1, 11)]))


def test_multiscale_activity_clusters_one_minute_volatility():
    """Defaults (3 factors, limits not following the bursts) vs the single 15-minute factor of before.

    Same seeds, same makers: only the activity process differs. Before issue #12 the |r|
    autocorrelation at lags 2-10 was ~0; the multi-scale factor must lift it clearly.
    """
    single = FlowParams(
        activity_n_scales=1, activity_vol=0.45, activity_halflife_s=900.0, activity_limit_exponent=1.0
    )
    on = [_day_abs_return_acf(FlowParams(), seed) for seed in range(8)]
    off = [_day_abs_return_acf(single, seed) for seed in range(8)]
    assert np.median(on) > 0.05
    assert np.median(on) > np.median(off) + 0.04
    assert sum(a > b for a, b in zip(on, off, strict=True)) >= 6


# ---------------------------------------------------------------------------- noise limits and cancels
def _resting_path(flow: FlowParams, seed: int, t_end: float) -> tuple[Exchange, np.ndarray]:
    """Run without market makers, sampling the number of resting (= noise) orders every second."""
    ex = Exchange(PRICE, flow, seed=seed, market=MarketParams(session_end_s=t_end))
    resting = np.empty(int(t_end), dtype=np.int64)
    for k in range(int(t_end)):
        ex.advance_to(k + 1.0)
        resting[k] = ex.book.n_resting
    return ex, resting


NO_MAKERS = FlowParams(n_market_makers=0, **CONSTANT)


def test_noise_order_arrivals_without_market_makers():
    ex, _ = _resting_path(NO_MAKERS, seed=4, t_end=1800.0)
    n_new = ex.new_oid() - 1  # limit and market orders draw oids from one counter starting at 1
    rate = NO_MAKERS.noise_limit_rate_per_s + NO_MAKERS.noise_market_rate_per_s
    assert within_poisson(n_new, rate * 1800.0)
    assert ex.n_messages > n_new  # the rest are cancels


def test_cancel_rate_per_resting_noise_order_is_the_hazard():
    ex, resting = _resting_path(NO_MAKERS, seed=4, t_end=1800.0)
    n_cancels = ex.n_messages - (ex.new_oid() - 1)
    expected = NO_MAKERS.noise_cancel_hazard_per_s * resting.sum()  # hazard x integral of resting orders
    assert n_cancels == pytest.approx(expected, rel=0.15)  # ~5 Poisson sigmas


# ---------------------------------------------------------------------------- calm liquidity
def test_calm_defaults_quote_a_one_tick_spread_most_of_the_time():
    ex = run(FlowParams(), seed=1)
    snaps = ex.snapshots()
    spread_ticks = np.round((snaps["ask"] - snaps["bid"]) / ex.tick)
    assert np.mean(spread_ticks == 1) > 0.9
    assert snaps["bid"].notna().mean() > 0.999 and snaps["ask"].notna().mean() > 0.999
    both = snaps.dropna(subset=["bid", "ask"])
    assert (both["ask"] > both["bid"]).all()  # never crossed
    depth = 0.5 * (snaps["depth_bid"] + snaps["depth_ask"])
    assert 100 < depth.median() < 1000  # a few hundred contracts within 10 ticks
    # roughly 1-1.5 million messages per 6.5-hour day: 2 hours ~ 25-35% of that
    assert 200_000 < ex.n_messages < 700_000


def test_sentiment_biases_market_order_sides_and_decays():
    flow = FlowParams(**CONSTANT)
    ex = Exchange(PRICE, flow, seed=6, market=MarketParams(session_end_s=TWO_HOURS))
    ex.advance_to(600.0)
    assert ex.sentiment == 0.0
    assert ex.shift_sentiment(0.6) == pytest.approx(0.6)
    ex.advance_to(660.0)
    assert ex.sentiment == pytest.approx(0.6 * 0.5 ** (60.0 / flow.sentiment_halflife_s))
    ex.advance_to(2400.0)
    assert ex.sentiment == pytest.approx(0.6 * 0.5)  # one half-life later
    assert ex.shift_sentiment(5.0) == 1.0 and ex.shift_sentiment(-9.0) == -1.0  # clipped to [-1, 1]
    o = noise_market_orders(ex)
    before = o["side"][o["t_s"] < 600.0]
    after = o["side"][(o["t_s"] >= 600.0) & (o["t_s"] < 660.0)]
    assert abs(np.mean(before == BUY) - 0.5) < 4 * math.sqrt(0.25 / len(before))
    p_after = 0.5 * (1.0 + 0.6 * 0.5 ** (30.0 / flow.sentiment_halflife_s))  # mid-window sentiment
    assert abs(np.mean(after == BUY) - p_after) < 4 * math.sqrt(p_after * (1 - p_after) / len(after))


def test_news_activity_burst_multiplies_the_rate_and_decays_with_its_halflife():
    flow = FlowParams(**CONSTANT, news_activity_halflife_s=600.0)
    ex = Exchange(PRICE, flow, seed=4, market=MarketParams(session_end_s=TWO_HOURS))
    ex.advance_to(600.0)
    assert ex.boost_activity(2.0) == pytest.approx(2.0)
    ex.advance_to(TWO_HOURS)
    t = noise_market_orders(ex)["t_s"]
    rate = flow.noise_market_rate_per_s

    def expected(a: float, b: float) -> float:  # rate x integral of 1 + 2 x 2^(-(t - 600) / 600)
        tau = 600.0 / math.log(2.0)
        return rate * ((b - a) + 2.0 * tau * (math.exp(-(a - 600.0) / tau) - math.exp(-(b - 600.0) / tau)))

    assert within_poisson(int((t < 600.0).sum()), rate * 600.0)  # before the news: the usual rate
    for a, b in ((600.0, 900.0), (900.0, 1800.0), (5400.0, 7200.0)):
        assert within_poisson(int(((t >= a) & (t < b)).sum()), expected(a, b)), (a, b)
    assert ((t >= 600.0) & (t < 900.0)).sum() > 2.0 * rate * 300.0  # the burst is there


def test_news_activity_boost_zero_changes_nothing_and_bad_boosts_are_refused():
    def day(boost: float | None) -> np.ndarray:
        ex = Exchange(PRICE, FlowParams(), seed=7, market=MarketParams(session_end_s=1200.0))
        ex.advance_to(300.0)
        if boost is not None:
            ex.boost_activity(boost)
        ex.advance_to(1200.0)
        return ex.book.trades

    assert np.array_equal(day(0.0), day(None))
    ex = Exchange(PRICE, FlowParams(), seed=0, market=MarketParams(session_end_s=60.0))
    for bad in (-0.5, math.nan, math.inf):
        with pytest.raises(ValueError, match="activity boost"):
            ex.boost_activity(bad)


def _gap_after_news(boost: float, seed: int) -> float:
    """Gap (%) left between the value belief and the mid 20 minutes after news marks the value up 1%."""
    flow = FlowParams(value_gain=5.0, value_rate_gain=1.0)
    ex = Exchange(PRICE, flow, seed=seed, market=MarketParams(session_end_s=3600.0))
    ex.advance_to(600.0)
    ex.shift_value(1.0)
    ex.boost_activity(boost)
    ex.advance_to(1800.0)
    return 100.0 * (ex.value_points / ex.mid_points() - 1.0)


def test_a_busier_market_after_news_closes_the_gap_to_the_value_belief_faster():
    # the burst brings no direction of its own: the extra orders lean as the belief says, so the
    # price reaches the news sooner (the value belief also drifts toward the price meanwhile)
    gaps = np.array([[_gap_after_news(b, seed) for b in (0.0, 3.0)] for seed in range(4)])
    assert (gaps[:, 1] < gaps[:, 0]).all(), gaps
    assert np.median(gaps[:, 1]) < 0.75 * np.median(gaps[:, 0]), gaps


# ---------------------------------------------------------------------------- liquidity under stress
BURST_START_S = 900.0
BURST_CLIPS = 50  # 50 x 30 contracts, one clip every 0.6 s: 1,500 contracts in 30 s
BURST_END_S = BURST_START_S + 0.6 * BURST_CLIPS


def _burst(seed: int) -> dict[str, float]:
    """Sell 1,500 contracts in 30 s into the calm book; return depth/spread ratios to the pre-burst level.

    The spread is sampled every 10 ms from 30 s before to the end of the burst (time-weighted: a
    sweep reopens the spread until a maker requotes, ``mm_refill_latency_s`` later); depth within
    ``depth_window_ticks`` comes from the 1-second snapshots.
    """
    ex = Exchange(PRICE, FlowParams(**CONSTANT), seed=seed, market=MarketParams(session_end_s=1800.0))
    seller = ex.register_owner("seller", "agents")
    grid = np.round(np.arange(BURST_START_S - 30.0, BURST_END_S, 0.01), 6)
    clip_times = set(np.round(BURST_START_S + 0.6 * np.arange(BURST_CLIPS), 6).tolist())
    spread = np.empty(len(grid))
    for i, t in enumerate(grid):
        ex.advance_to(float(t))
        if float(t) in clip_times:
            ex.submit(seller, MARKET, SELL, 30)
        bid, ask = ex.book.best_bid, ex.book.best_ask
        spread[i] = ask - bid if bid is not None and ask is not None else np.nan
    ex.advance_to(BURST_END_S + 600.0)
    snaps = ex.snapshots()
    depth = (snaps["depth_bid"] + snaps["depth_ask"]).to_numpy()
    ts = snaps["t"].to_numpy()

    def mean(x, t, a, b):
        return float(np.nanmean(x[(t >= a) & (t < b)]))

    pre_depth = mean(depth, ts, BURST_START_S - 120.0, BURST_START_S)
    return {
        "sold": -ex.position(seller),
        "pre_spread": mean(spread, grid, BURST_START_S - 30.0, BURST_START_S),
        "burst_spread": mean(spread, grid, BURST_START_S, BURST_END_S),
        "burst_depth": mean(depth, ts, BURST_START_S, BURST_END_S) / pre_depth,
        "recovered_depth": mean(depth, ts, BURST_END_S + 120.0, BURST_END_S + 300.0) / pre_depth,
        "late_depth": mean(depth, ts, BURST_END_S + 300.0, BURST_END_S + 600.0) / pre_depth,
    }


def test_one_sided_burst_thins_and_widens_the_book_which_then_recovers():
    """Market makers withdraw while a seller hits the bid, and come back a few minutes later.

    One run is noisy (a large noise order into the thinned book can start its own stress episode),
    so the assertions are on the median over eight seeds, plus a per-seed check of the direction.
    """
    runs = [_burst(seed) for seed in range(8)]
    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    assert all(r["sold"] >= 1_400 for r in runs)  # the burst went through
    assert med["pre_spread"] < 1.1  # calm before: one tick
    assert med["burst_spread"] > med["pre_spread"] + 0.15  # spread widens during the burst
    assert sum(r["burst_spread"] > r["pre_spread"] for r in runs) >= 7
    assert med["burst_depth"] < 0.75  # depth within 10 ticks falls by a quarter or more
    assert sum(r["burst_depth"] < 0.9 for r in runs) >= 7
    assert med["recovered_depth"] >= 0.8  # back within 2-5 minutes after the burst stops
    assert med["late_depth"] >= 0.85


# ---------------------------------------------------------------------------- makers' inventory limits
def test_inventory_taper_is_one_below_soft_then_linear_to_zero_at_the_hard_limit():
    from market._flow_kernels import _inventory_taper
    from market.flow import pack

    fp = pack(FlowParams(mm_soft_inventory_qty=100.0, mm_max_inventory_qty=400.0))
    assert [_inventory_taper(g, fp) for g in (-500.0, 0.0, 100.0)] == [1.0, 1.0, 1.0]
    assert _inventory_taper(250.0, fp) == pytest.approx(0.5)
    assert _inventory_taper(400.0, fp) == 0.0 and _inventory_taper(900.0, fp) == 0.0
    step = pack(FlowParams(mm_soft_inventory_qty=2500.0, mm_max_inventory_qty=400.0))  # soft >= hard
    assert _inventory_taper(399.0, step) == 1.0 and _inventory_taper(400.0, step) == 0.0


def _steady_seller(seed: int, **flow) -> dict[str, float]:
    """Sell 10 contracts every 5 s for 20 minutes (2,400) into a calm book; what the makers did."""
    params = FlowParams(**CONSTANT, **flow)
    ex = Exchange(PRICE, params, seed=seed, market=MarketParams(session_end_s=3600.0))
    seller = ex.register_owner("seller", "agents")
    ex.advance_to(600.0)
    mid0 = ex.mid_points()
    for k in range(240):
        ex.advance_to(600.0 + 5.0 * k)
        ex.submit(seller, MARKET, SELL, 10)
    ex.advance_to(1800.0)
    makers = ex.positions[: params.n_market_makers]
    last_minute = ex.snapshots().iloc[-60:]
    return {
        "return": ex.mid_points() / mid0 - 1.0,
        "maker_inventory": float(makers.sum()),
        "max_maker": float(makers.max()),
        "bid_over_ask_depth": float(last_minute["depth_bid"].mean() / last_minute["depth_ask"].mean()),
    }


def test_makers_past_their_soft_inventory_limit_absorb_less_and_the_price_moves_more():
    """Same seeds with and without the taper: one-sided selling is parked with the makers less."""
    plain = [_steady_seller(seed) for seed in range(4)]
    taper = [_steady_seller(seed, mm_soft_inventory_qty=100, mm_max_inventory_qty=400) for seed in range(4)]
    assert all(t["maker_inventory"] < p["maker_inventory"] for t, p in zip(taper, plain, strict=True))
    assert all(t["max_maker"] <= 400 for t in taper)
    assert np.median([t["return"] for t in taper]) < np.median([p["return"] for p in plain]) - 0.001
    assert np.median([t["bid_over_ask_depth"] for t in taper]) < np.median(
        [p["bid_over_ask_depth"] for p in plain]
    )


def _value_after_news(scale: float | None, seed: int) -> tuple[float, float]:
    """(value belief, mid) 30 minutes after the value traders mark the index down 2%."""
    ex = Exchange(PRICE, FlowParams(value_gain=5.0), seed=seed, market=MarketParams(session_end_s=3600.0))
    ex.advance_to(600.0)
    if scale is not None:
        ex.set_value_halflife_scale(scale)
    ex.shift_value(-2.0)
    ex.advance_to(2400.0)
    return ex.value_points, ex.mid_points()


def test_a_shorter_value_halflife_makes_the_belief_follow_the_price_faster():
    for seed in range(3):
        v_slow, mid_slow = _value_after_news(None, seed)
        v_fast, mid_fast = _value_after_news(0.25, seed)
        # the belief starts 2% below the price and drifts back up toward it
        assert v_fast > v_slow
        assert (mid_fast - v_fast) < (mid_slow - v_slow)


def test_value_halflife_scale_one_changes_nothing_and_bad_scales_are_refused():
    assert _value_after_news(1.0, 4) == _value_after_news(None, 4)
    ex = Exchange(PRICE, FlowParams(), seed=0, market=MarketParams(session_end_s=60.0))
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="half-life scale"):
            ex.set_value_halflife_scale(bad)


# ---------------------------------------------------------------------------- market orders with protection
# a thin book (1-lot makers) hit by large noise market orders: plain market orders sweep many levels
THIN = {**INSTANT_REFILL, "mm_size_qty": 1.0, "noise_market_min_qty": 10.0, "noise_limit_rate_per_s": 2.0}


def _noise_taker_fills(protection: float) -> tuple[np.ndarray, set[int], set[int]]:
    """Per noise market order: ticks between its first and last fill; its oids; the oids that made a trade."""
    ex = run(FlowParams(**THIN, noise_market_protection_ticks=protection), seed=5, t_end=1800.0)
    rec = ex.book.trades
    noise = ex.owner_groups.index("background") + ex.flow.n_market_makers
    taken = rec[rec["taker_owner"] == noise]
    oids, inverse = np.unique(taken["taker_oid"], return_inverse=True)
    lo = np.full(len(oids), np.iinfo(np.int64).max)
    hi = np.full(len(oids), np.iinfo(np.int64).min)
    np.minimum.at(lo, inverse, taken["price"])
    np.maximum.at(hi, inverse, taken["price"])
    return hi - lo, set(oids.tolist()), set(rec["maker_oid"].tolist())


def test_protected_market_orders_sweep_at_most_the_protection_and_rest_the_remainder():
    span, takers, makers = _noise_taker_fills(protection=4)
    assert span.max() <= 4  # no fill more than 4 ticks through the best at arrival
    assert takers & makers  # some unfilled rests rested and were hit later: nothing was dropped
    plain_span, plain_takers, plain_makers = _noise_taker_fills(protection=0)
    assert plain_span.max() > 4  # the thin book does let plain market orders sweep further
    assert not plain_takers & plain_makers  # a plain market order's rest is dropped


def test_protected_market_orders_quote_an_empty_book():
    """Without makers or limit orders a plain market order finds nothing and vanishes; a protected one
    rests at the reference +/- the protection, and the next opposite order trades with it."""
    only_market = {**CONSTANT, "n_market_makers": 0, "noise_limit_rate_per_s": 0.0}
    plain = run(FlowParams(**only_market), seed=1, t_end=600.0)
    assert len(plain.book.trades) == 0
    protected = run(FlowParams(**only_market, noise_market_protection_ticks=8), seed=1, t_end=600.0)
    trades = protected.book.trades
    assert len(trades) > 100
    ref = round(PRICE / protected.tick)
    assert abs(int(trades["price"][0]) - ref) <= 8 + 1  # the first quote came from the reference


# ---------------------------------------------------------------------------- the reference price
def test_reference_price_ignores_a_stub_quote_only_with_reference_max_spread_ticks():
    """``_reference_ticks``: the mid; with the key, the last trade (clamped into the spread) when the
    spread is wider than the key, as when a far resting bid is the only one left."""
    from market import _lob_kernels as K
    from market._flow_kernels import N_FI, _reference_ticks
    from market.flow import pack

    sc = np.zeros(K.N_SCALARS, dtype=np.int64)
    fi = np.zeros(N_FI, dtype=np.int64)
    sc[K.SC_BEST_BID], sc[K.SC_BEST_ASK], sc[K.SC_LAST] = 1000, 1100, 1095
    mid_rule, stub_rule = pack(FlowParams()), pack(FlowParams(reference_max_spread_ticks=16))
    ref = _reference_ticks.py_func
    assert ref(sc, fi, mid_rule) == 1050.0  # the default: halfway to the stub
    assert ref(sc, fi, stub_rule) == 1095.0  # the last trade
    sc[K.SC_LAST] = 1200
    assert ref(sc, fi, stub_rule) == 1100.0  # clamped into the spread
    sc[K.SC_LAST] = 0
    assert ref(sc, fi, stub_rule) == 1050.0  # no trade yet: the mid
    sc[K.SC_BEST_BID], sc[K.SC_BEST_ASK], sc[K.SC_LAST] = 1090, 1100, 1099
    assert ref(sc, fi, stub_rule) == 1095.0  # a spread within the key: the mid


@pytest.mark.parametrize("key", [0, 16])
def test_makers_requote_after_a_sweep_leaves_a_far_bid_alone(key):
    """An agent's bid 200 ticks under the book; a seller sweeps every maker bid above it. By the mid
    rule the makers re-centre halfway down to the stub; with ``reference_max_spread_ticks`` they
    quote again at the last trade."""
    flow = FlowParams(**CONSTANT, noise_limit_rate_per_s=0.0, noise_market_rate_per_s=0.0,
                      reference_max_spread_ticks=key)  # fmt: skip
    ex = Exchange(PRICE, flow, seed=1, market=MarketParams(session_end_s=600.0))
    ex.advance_to(10.0)
    agent = ex.register_owner("agent", "agents")
    far = ex.book.best_bid - 200
    assert ex.submit(agent, LIMIT, BUY, 5, price_ticks=far).accepted
    bids, _ = ex.book.depth(400)
    makers_bid_qty = int(bids[bids[:, 0] > far, 1].sum())
    sold = ex.submit(agent, IOC, SELL, makers_bid_qty, price_ticks=far + 1)
    assert sold.filled_qty == makers_bid_qty and ex.book.best_bid == far  # only the stub is left
    last = ex.book.last_price
    ex.advance_to(11.0)  # the makers' refill latency is 0.02 s
    mid = 0.5 * (ex.book.best_bid + ex.book.best_ask)
    if key:
        assert abs(mid - last) <= 4
    else:
        assert mid < last - 50
