"""Option dealers: hold their share of the dealer option book and delta-hedge it with futures.

A dealer's hedge target is its share of ``-delta`` of the dealer book, recomputed from live greeks
at the current futures price, implied vols and clock, so gamma (spot), vanna (IV) and charm (time)
flows come out of the maths. It re-hedges on its own schedule and, between wake-ups, when the price
moves far enough that the gap would exceed its band (a price watch), trading in clips that go at
most ``max_slippage_ticks`` through the touch and at most ``max_participation`` of the volume the
market traded since its previous order, as a percent-of-volume algorithm does; what the book cannot
give now is worked later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.base import TraderAgent, lognormal_around
from agents.base import config_field as _f

if TYPE_CHECKING:
    from agents.world import World

DEFAULT_FOLLOW_UP_S = 12.5  # mean wait before a dealer works the rest of a gap (s): U(5, 20) s


@dataclass(frozen=True, slots=True)
class DealerConfig:
    """Option dealers that delta-hedge with futures."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    hedging: bool = _f(True, "False: dealers hold their options but never hedge")
    n_agents: int = _f(4, "dealers sharing the dealer book", ge=1, le=100)
    hedge_interval_s: float = _f(120.0, "mean time between re-hedges (each dealer, exponential)", ge=1,
                                 le=1e6)  # fmt: skip
    band_contracts: float = _f(50.0, "no trade while |target - position| is below this", ge=0, le=1e7)
    max_clip_contracts: int = _f(150, "largest single futures order", ge=1, le=100_000)
    hedge_fraction: float = _f(1.0, "fraction of the gap closed per re-hedge", gt=0, le=1)
    watch_move_pct: float = _f(0.25, "also re-hedge after a move of this size between wake-ups (%)", gt=0,
                               le=100)  # fmt: skip
    max_slippage_ticks: int = _f(8, "a hedge order trades at most this many ticks through the touch", ge=0,
                                 le=10_000)  # fmt: skip
    max_participation: float = _f(
        0.25, "a hedge order is at most this fraction of the market volume since the last (inf: no cap)",
        gt=0, allow_inf=True,
    )
    follow_up_s: float = _f(
        DEFAULT_FOLLOW_UP_S, "mean wait before working the rest of a gap larger than one order (s;"
        " drawn uniformly between 0.4x and 1.6x)", gt=0, le=1e5,
    )
    hedge_start_s: float = _f(
        -math.inf, "no hedge trades before this time (seconds from the 09:30 ET open; 0: the cash open;"
        " -inf: from the session's start)", allow_inf=True,
    )
    hedge_start_share: float = _f(
        1.0, "fraction of the dealers (by count, dealer_0 first, rounded) that wait for hedge_start_s;"
        " the others hedge from the session's start (SPX and ES option desks hedge around the clock,"
        " SPY option desks from the cash open)", ge=0, le=1,
    )
    band_gamma_exponent: float = _f(
        0.0, "the band grows as (|gamma| / |gamma at the start|)^this once gamma is above its start"
        " (0: a fixed band; 2/3: Whalley-Wilmott's optimal band under transaction costs)", ge=0, le=2,
    )


@dataclass(frozen=True, slots=True)
class DealerParams:
    """One dealer's parameters (drawn per agent from the scenario's ``[dealers]`` table)."""

    share: float  # fraction of the dealer option book it hedges
    hedge_interval_s: float  # mean time between scheduled re-hedges (exponential)
    band_contracts: float  # no trade while |target - position| is below this
    max_clip_contracts: int  # largest single futures order
    hedge_fraction: float  # fraction of the gap closed per re-hedge
    hedging: bool  # False: holds the options, never hedges
    watch_move_pct: float  # re-hedge between wake-ups after a move of at least this (% of price)
    max_slippage_ticks: int  # a hedge order trades at most this many ticks through the touch
    max_participation: float  # a hedge order is at most this fraction of the volume since the last
    hedge_start_s: float = -math.inf  # no hedge trades before this time (s from the 09:30 open)
    follow_up_s: float = DEFAULT_FOLLOW_UP_S  # mean wait before working the rest of a larger gap (s)
    band_gamma_exponent: float = 0.0  # band x (|gamma| / start_gamma)^this above the start gamma
    start_gamma: float = 0.0  # |gamma| of its share at the start (contracts per point; 0: fixed band)


class OptionDealer(TraderAgent):
    """Delta-hedges its share of the dealers' options with futures."""

    group = "dealers"

    def __init__(
        self, model, name: str, params: DealerParams, start_contracts: int | None = None,
        start_price_points: float = 0.0,
    ):  # fmt: skip
        """A dealer hedging ``params.share`` of the dealers' option book.

        ``start_contracts`` is the futures hedge carried from the previous day, bought at
        ``start_price_points`` (None: no carried position).
        """
        super().__init__(model, name)
        if start_contracts is not None:  # before anything else: the carry account opens at the first
            model.exchange.set_initial_position(self.owner, start_contracts, start_price_points)
        self.params = params
        self._watch_ids: list[int] = []
        self._follow_up_pending = False  # at most one follow-up is scheduled at a time
        if params.hedging:
            self.wake_in(self._interval(), self.scheduled_hedge)

    def _interval(self) -> float:
        return float(self.rng.exponential(self.params.hedge_interval_s))

    def target_contracts(self) -> tuple[float, float]:
        """(hedge target in futures contracts, |gamma| in contracts per point), both for this share."""
        target, gamma = self.model.options.hedge_need(self.price_points, self.now_s)
        return self.params.share * target, abs(self.params.share * gamma)

    def scheduled_hedge(self) -> None:
        """Wake-up: re-hedge, then sleep until the next scheduled time."""
        self.hedge()
        self.wake_in(self._interval(), self.scheduled_hedge)

    def on_price(self, hit) -> None:
        """A price watch fired: the gap may exceed the band, re-hedge now."""
        self.hedge()

    def follow_up(self) -> None:
        """Continue working a gap larger than one clip."""
        self._follow_up_pending = False
        self.hedge()

    def hedge(self) -> None:
        """Trade toward the target if the gap exceeds the band; re-arm the price watches."""
        p = self.params
        if self.now_s < p.hedge_start_s:
            return
        target, gamma = self.target_contracts()
        band = self.band(gamma)
        gap = target - self.position
        if abs(gap) > band:
            room = self.participation_room(p.max_participation)
            qty = int(math.copysign(min(abs(gap) * p.hedge_fraction, p.max_clip_contracts, room), gap))
            self.trade_market(qty, p.max_slippage_ticks)
            if abs(target - self.position) > band and not self._follow_up_pending:
                # one follow-up at a time: a hedge from a price watch while one is pending works the
                # gap now and leaves the pending one in place (each used to start its own chain);
                # the wait is uniform over 0.4x-1.6x of follow_up_s: a percent-of-volume hedger that
                # waits longer sends larger orders at the same share of the volume
                wait = float(self.rng.uniform(0.4, 1.6)) * p.follow_up_s
                self._follow_up_pending = True
                self.wake_in(wait, self.follow_up)
        self._arm_watches(gamma, band)

    def band(self, gamma_per_point: float) -> float:
        """The no-trade band (contracts) at ``|gamma|`` of ``gamma_per_point`` contracts per point.

        ``band_contracts`` while gamma is at or below its start; above it, with a
        ``band_gamma_exponent`` e, ``band_contracts * (gamma / start_gamma)^e``. With e = 2/3 this
        is the shape of Whalley and Wilmott's (1997) optimal hedging band under proportional costs
        (its half-width in delta grows like gamma^(2/3)): a desk tolerates a wider delta gap when
        gamma is high rather than trade every swing.
        """
        p = self.params
        if p.band_gamma_exponent <= 0.0 or p.start_gamma <= 0.0 or gamma_per_point <= p.start_gamma:
            return p.band_contracts
        return p.band_contracts * (gamma_per_point / p.start_gamma) ** p.band_gamma_exponent

    def _arm_watches(self, gamma_per_point: float, band: float) -> None:
        for wid in self._watch_ids:
            self.model.unwatch(wid)
        self._watch_ids = []
        if gamma_per_point <= 0:
            return
        # the move that opens a gap of one band, but at least watch_move_pct of the price
        distance = max(
            band / gamma_per_point, self.params.watch_move_pct / 100 * self.last_points
        )
        last = self.last_points
        self._watch_ids = [
            self.watch(last + distance, +1, self.on_price),
            self.watch(last - distance, -1, self.on_price),
        ]


def build_crowd(world: World, config: DealerConfig, prev_close_points: float) -> list[OptionDealer]:
    """The crowd of the scenario's ``[dealers]`` table, drawn from ``world.rng``."""
    c = config
    rng = world.rng
    shares = rng.dirichlet(np.full(c.n_agents, 5.0))
    intervals = lognormal_around(rng, c.hedge_interval_s, 0.3, c.n_agents)
    bands = c.band_contracts * rng.uniform(0.7, 1.3, size=c.n_agents)
    x = world.options.exposures(prev_close_points, world.options.surface.t_seconds)
    n_waiting = round(c.hedge_start_share * c.n_agents)  # these wait for hedge_start_s (round half to even)
    params = [
        DealerParams(
            share=float(shares[i]),
            hedge_interval_s=float(intervals[i]),
            band_contracts=float(bands[i]),
            max_clip_contracts=c.max_clip_contracts,
            hedge_fraction=c.hedge_fraction,
            hedging=c.hedging,
            watch_move_pct=c.watch_move_pct,
            max_slippage_ticks=c.max_slippage_ticks,
            max_participation=c.max_participation,
            hedge_start_s=c.hedge_start_s if i < n_waiting else -math.inf,
            follow_up_s=c.follow_up_s,
            band_gamma_exponent=c.band_gamma_exponent,
            start_gamma=abs(float(shares[i]) * x.gamma_es_per_point),
        )
        for i in range(c.n_agents)
    ]
    names = [f"dealer_{i}" for i in range(c.n_agents)]
    # dealers start the day hedged; each dealer sets its carried hedge in __init__, right after its
    # account opens, so the exchange's owner ids keep their order (dealer_0, carried_positions, ...)
    starts = [int(round(s * x.hedge_target_es)) if c.hedging else None for s in shares]
    return list(OptionDealer.create_agents(world, c.n_agents, names, params, starts, prev_close_points))
