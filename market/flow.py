"""Background order flow: market makers and noise traders, generated and matched inside numba.

:class:`FlowParams` holds every rate, size and response coefficient. Defaults are set so that a
calm day looks like a quiet E-mini S&P 500 day at 1-minute resolution (see the numbers in each
field's ``doc``): spread one tick (0.25 points) almost all the time, a few hundred contracts at the
touch, roughly 1-1.5 million order-book messages a day, a daily range of a fraction of a percent.
Nothing here references a price path: market makers quote around the current book, noise traders
place orders relative to the current touch, so prices move only through the orders that execute.

Market makers withdraw in stress: the size they show falls and their quotes widen as short-term
realized volatility rises above ``mm_calm_vol_ann`` and as market-order flow turns one-sided
(``mm_withdraw_vol``, ``mm_withdraw_imbalance``, ``mm_widen_ticks``); they return as it calms.
Like the exchange's designated market makers they keep a quoting obligation however stressed the
market: at least ``mm_min_size_qty`` per level within ``mm_max_half_spread_ticks`` of the mid, so
the book thins out but never empties. Their inventory has a risk limit: past
``mm_soft_inventory_qty`` a maker shows less on the side that would add to it, down to the 1-lot
obligation at ``mm_max_inventory_qty`` (beyond which it stops quoting that side), so a one-sided
flow moves the price rather than being parked with the makers at no cost.
Noise orders (market and limit) lean toward a value belief: P(buy) = (1 + lean) / 2 with lean =
sentiment + value_gain * (value - mid) / mid (clipped), where the value adapts to the mid with
``value_halflife_s``, and the market-order rate grows by ``value_rate_gain`` times the base rate
per 1% of gap (value investors come in size when the price strays far). Their capacity can be
finite (``value_capacity_qty``): the pull fades as their expected inventory from it reaches the
capacity, and the inventory decays as their value belief catches up with the price, so they absorb
a one-sided flow up to a rate and not beyond ("no dip-buying"). That is the market's
elastic supply: a persistent one-sided flow from the
agents moves the price until the value traders' counter-flow matches it, instead of exhausting the
market makers. News may shift the value belief or the sentiment
(``Exchange.shift_value``/``shift_sentiment``) and bring a burst of activity that fades with
``news_activity_halflife_s`` (``Exchange.boost_activity``: more orders of every kind, leaning as the
beliefs say, so the price finds the news sooner), never a price.
Noise-trader activity follows an intraday U shape times a log-normal activity factor (mean 1).
The background's reference price (the makers' quote centre, the noise traders' touch when a side is
empty, the value traders' gap, the realized vol) is the mid. A resting order far from the price (an
agent's bid 0.5-2% under the high) becomes the best bid whenever a sweep strips the makers' bids, and
the mid then jumps halfway to it: the makers re-centre there and the realized vol spikes, so the
makers withdraw further. ``reference_max_spread_ticks`` (off by default) treats a spread wider than
that as a stub quote and prices from the last trade, clamped into the spread, as a maker would.
Noise market orders can be CME Globex's "market orders with protection"
(``noise_market_protection_ticks``): each fills at most that many ticks through the opposite best and
its unfilled rest rests there as a limit order. Plain market orders (0, the default) drop their rest,
so in a book stripped to 1-lot quotes a flood of buy orders can find no offer and vanish while the
sell orders walk the bids down: the price then falls against a buying crowd (measured on
``nov20_2025_paced``: seed 15, 13% in 30 s while the dip buyers bought; docs/nov20.md).

Volatility clustering (issue #12). Log activity is a sum of ``activity_n_scales`` independent
Ornstein-Uhlenbeck factors with half-lives spaced geometrically from ``activity_min_halflife_s`` to
``activity_halflife_s`` (default 5 min, 20 min, 2 h), each with an equal share of the variance
``activity_vol**2``. A superposition of OU processes over several time scales has an
autocorrelation that decays roughly like a power law over the range the half-lives span (the
long-memory stochastic-volatility approximation of LeBaron 2001 and of the multifractal models of
Calvet & Fisher), so busy periods last from minutes to hours. Why this and not a Hawkes intensity
driven by the flow's own trades: the background must stay exogenous to the agents. A self-exciting
background would also be excited by the dealers', CTAs' and dip buyers' trades, amplifying every
agent-driven move by a mechanism that is not the one under study, and attribution ("how much of the
fall is hedging?") would mix the two. The factor is drawn once per ``snapshot_interval_s`` from the
pre-drawn uniforms, so it adds no feedback and no extra compiled randomness.
The factor raises the market-order rate; the noise limit-order rate follows it only with the
exponent ``activity_limit_exponent`` (0 by default: resting liquidity follows the U shape but not
the bursts). Volatility needs that asymmetry: with both rates scaled alike the book deepens as fast
as it is hit and 1-minute volatility barely moves (measured: the |r| autocorrelation stayed ~0 at
lags 5-10 with activity_vol 1.0). Bursts of market orders also raise short-term realized vol,
which makes the makers withdraw (``mm_withdraw_vol``), an endogenous amplifier; its slope (0.75)
and threshold (``mm_calm_vol_ann`` 0.25) are set so that it amplifies bursts without turning them
into runaway days; the makers' touch size (2.75 contracts) sets the level of 1-minute vol.
``activity_n_scales = 1``, ``activity_limit_exponent = 1`` gives the single OU factor of before
(until issue #12: one 15-minute factor, activity_vol 0.45; makers 4 contracts, withdrawal slope 1.5
above 12% vol). Measured on ``calm`` (``benchmarks/calm_stats.py``, medians over seeds 0-99):
|r| autocorrelation 0.20 / 0.11 / 0.08 / 0.02 at lags 1 / 5 / 10 / 30 minutes (before: 0.06 /
0.00 / -0.03 / -0.02), excess kurtosis 8.4, lag-1 return autocorrelation -0.06, annualized 1-minute
vol 8.8% (before 5.5%), one-tick spreads 98% of seconds.

``activity_vol`` was 1.0 until 2026-12-02. Its log-normal tail (a 3.4-sigma excursion is 18 times
the mean rate) made some days' noise market orders arrive 20-40 times faster than usual for tens of
minutes. In a book stripped to 1-lot quotes such a burst is an afternoon swinging 1-2% within
minutes with 4-point spreads (``nov20_2025_protected`` seed 6: 90,000 noise market orders in
5 minutes at 14:00 ET, 38 times the base 8 a second) and, on ``calm``, days with 24-36% realized
vol and one-tick spreads only 72% of the time. At 0.8, realized vol above 60% came on 8 of seeds 0-99 of
``nov20_2025_protected`` (16 at 1.0) and on 1 (12) with the spark alone; ``calm`` keeps every
clustering figure above its bound (at 1.0: 0.26 / 0.15 / 0.10 / 0.03, kurtosis 12, vol 8.9%).
At 0.7 the Nov-20 days had more runaways (7 of 100 beyond 8%). The older Nov-20 scenarios
(``nov20_2025`` to ``nov20_2025_paced``) keep 1.0, the value their documented figures were
measured with.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


def _f(default: float, doc: str, **bounds: float) -> float:
    return field(default=default, metadata={"doc": doc, **bounds})


@dataclass(frozen=True, slots=True)
class FlowParams:
    """Parameters of the background market (units in each name and doc)."""

    # ---- market makers
    n_market_makers: int = _f(6, "number of market makers (each an account)", ge=0, le=64)
    mm_requote_rate_per_s: float = _f(2.0, "requotes per second per market maker (Poisson)", gt=0)
    mm_levels: int = _f(5, "price levels quoted per side per market maker", ge=1, le=16)
    mm_level_step_ticks: int = _f(1, "ticks between a market maker's successive levels", ge=1)
    mm_size_qty: float = _f(2.75, "contracts per level at the touch, in calm conditions", gt=0)
    mm_size_decay: float = _f(1.25, "size multiplier per level away from the touch", gt=0)
    mm_half_spread_ticks: float = _f(0.5, "distance of the first quote from the mid (ticks)", ge=0.5)
    mm_skew_ticks_per_qty: float = _f(
        0.0, "quote shift per contract of inventory (ticks); > 0 makes 1-min returns trend", ge=0
    )
    mm_max_inventory_qty: float = _f(2500.0, "no quotes that would grow |inventory| beyond this", gt=0)
    mm_soft_inventory_qty: float = _f(
        2500.0,
        "beyond this |inventory| a maker's size on the side that would grow it tapers linearly to the"
        " obligation minimum at mm_max_inventory_qty (contracts; >= the max: no taper)",
        gt=0,
    )
    mm_calm_vol_ann: float = _f(0.25, "realized vol at which makers show full size (annualized)", gt=0)
    mm_withdraw_vol: float = _f(0.75, "size divisor slope per unit of vol above calm", ge=0)
    mm_withdraw_imbalance: float = _f(2.0, "size divisor slope per unit of |flow imbalance|", ge=0)
    mm_widen_ticks: float = _f(1.0, "extra half-spread (ticks) per unit of vol above calm", ge=0)
    mm_max_half_spread_ticks: float = _f(
        8.0, "quoting obligation: a maker's half-spread never exceeds this (ticks)", ge=0.5
    )
    mm_min_size_qty: float = _f(
        1.0, "quoting obligation: contracts a maker always shows per level, however stressed", ge=0
    )
    mm_refill_latency_s: float = _f(
        0.02, "delay before a maker requotes a spread wider than its own (s)", gt=0
    )
    reference_max_spread_ticks: int = _f(
        0,
        "a spread wider than this (ticks) has a stub quote on one side: the background prices from the"
        " last trade, clamped into the spread, instead of the mid (0: always the mid)",
        ge=0,
        le=1_000_000,
    )
    vol_halflife_s: float = _f(60.0, "half-life of the realized-vol estimate (seconds)", gt=0)
    imbalance_halflife_s: float = _f(30.0, "half-life of the market-order imbalance (seconds)", gt=0)

    # ---- noise traders
    noise_limit_rate_per_s: float = _f(6.0, "noise limit orders per second (at activity 1)", ge=0)
    noise_market_rate_per_s: float = _f(8.0, "noise market orders per second (at activity 1)", ge=0)
    noise_cancel_hazard_per_s: float = _f(0.05, "cancel rate per resting noise order (1/s)", ge=0)
    noise_limit_depth_p: float = _f(0.30, "geometric p of the distance behind the touch", gt=0, le=1)
    noise_improve_prob: float = _f(0.15, "chance a limit improves a spread wider than 1 tick", ge=0, le=1)
    noise_limit_size_p: float = _f(0.5, "geometric p of limit size (mean 1/p contracts)", gt=0, le=1)
    noise_market_min_qty: float = _f(1.0, "Pareto minimum of market-order size (contracts)", gt=0)
    noise_market_alpha: float = _f(1.5, "Pareto tail exponent of market-order size", gt=1)
    noise_market_max_qty: float = _f(250.0, "cap on one market order (contracts)", gt=0)
    noise_market_protection_ticks: float = _f(
        0.0,
        "market orders with protection (CME Globex): a noise market order fills at most this many ticks"
        " through the opposite best and its rest rests as a limit order there (0: plain market orders,"
        " the rest is dropped)",
        ge=0,
    )

    # ---- intraday activity
    open_boost: float = _f(1.5, "extra activity at 09:30, decaying with open_decay_s", ge=0)
    open_decay_s: float = _f(1800.0, "decay time of the opening boost (seconds)", gt=0)
    close_boost: float = _f(1.0, "extra activity at 16:00, rising with close_decay_s", ge=0)
    close_decay_s: float = _f(1800.0, "rise time of the closing boost (seconds)", gt=0)
    preopen_activity: float = _f(0.35, "activity before 09:30 (pre-market session)", ge=0)
    activity_vol: float = _f(
        0.8, "stationary std of log activity (the sum of its OU factors; dimensionless)", ge=0
    )
    activity_halflife_s: float = _f(
        7200.0, "half-life of the slowest OU factor of log activity (seconds)", gt=0
    )
    activity_n_scales: int = _f(
        3,
        "OU factors summed into log activity, half-lives spaced geometrically from"
        " activity_min_halflife_s to activity_halflife_s, each with 1/n of the variance (1: one factor)",
        ge=1,
        le=6,
    )
    activity_min_halflife_s: float = _f(
        300.0, "half-life of the fastest OU factor of log activity (seconds; unused when n_scales = 1)", gt=0
    )
    activity_limit_exponent: float = _f(
        0.0,
        "noise limit-order rate scales as (activity factor)**this; < 1: resting liquidity lags bursts of"
        " market orders, so busy periods are volatile (dimensionless, 1 = both rates alike)",
        ge=0,
        le=1,
    )

    # ---- value traders: elastic liquidity around a slowly adapting value belief
    value_gain: float = _f(
        10.0, "market-order buy bias per unit of (value - mid) / mid: 10 = +0.1 at a 1% discount", ge=0
    )
    value_halflife_s: float = _f(7200.0, "half-life of the value belief's drift toward the mid (s)", gt=0)
    value_rate_gain: float = _f(
        0.0, "extra noise market-order rate per 1% gap between value and mid (x the base rate)", ge=0
    )
    value_capacity_qty: float = _f(
        0.0,
        "value traders' capacity (contracts): their pull toward value tapers to 0 as their net"
        " inventory in that direction reaches it; the inventory decays with value_halflife_s (0: none)",
        ge=0,
    )
    value_conviction_iv_exponent: float = _f(
        0.0, "value traders' conviction falls as implied vol rises: their belief's half-life is"
        " value_halflife_s x max((value_conviction_iv_ref / ATM IV)^this, value_conviction_min_scale)"
        " (0: fixed half-life)", ge=0, le=20,
    )
    value_conviction_iv_ref: float = _f(
        0.20, "ATM implied vol (annualized) at which the value belief keeps value_halflife_s", gt=0, le=5
    )
    value_conviction_min_scale: float = _f(
        0.25, "the shortest value-belief half-life, as a fraction of value_halflife_s", gt=0, le=1
    )

    # ---- beliefs (set by news through Exchange.shift_sentiment, never a price)
    sentiment_halflife_s: float = _f(
        1800.0, "half-life of noise-trader sentiment: P(market buy) = (1 + sentiment) / 2 (s)", gt=0
    )
    news_activity_halflife_s: float = _f(
        900.0, "half-life of the burst of background activity that follows news (events' activity_boost; s)",
        gt=0,
    )

    # ---- bookkeeping
    snapshot_interval_s: float = _f(1.0, "L1 snapshot and vol/imbalance update interval (s)", gt=0)
    depth_window_ticks: int = _f(10, "depth_bid/depth_ask count contracts within this many ticks", ge=1)


# order of the packed float array read by the compiled flow (one index per field)
FLOW_FIELDS = tuple(f.name for f in fields(FlowParams))
FP = {name: i for i, name in enumerate(FLOW_FIELDS)}


def pack(params: FlowParams) -> np.ndarray:
    """Flatten ``params`` into the float64 array the compiled flow reads (``FP[name]`` indexes it)."""
    return np.array([float(getattr(params, name)) for name in FLOW_FIELDS], dtype=np.float64)
