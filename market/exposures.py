"""Dealer option exposures, the futures hedge target and hedge trades (the GEX profile: :mod:`market.gex`).

Conventions (the dealers' side of an :class:`~market.positions.OptionBook`):

* The hedging instrument is the E-mini S&P 500 future ($50 per index point); one SPX option
  contract is $100 per index point, so **one unit of SPX option delta = 2 ES contracts**
  (``ES_PER_OPTION_DELTA``). The options' underlying ``F`` is taken to be the ES price (the basis
  between the option expiry's forward and the future is ignored).
* ``delta_es`` is the dealers' options delta in ES contracts; the **hedge target** in futures is
  ``-delta_es``. A **hedge trade** is the change of the target: ``> 0`` BUY futures, ``< 0`` SELL.
* ``gamma_usd_per_pct``: change of the dealers' dollar delta for a +1% move,
  ``sum q * gamma * F**2 * 0.01 * $100`` (the usual "GEX"); ``gamma_es_per_point``: change of
  ``delta_es`` per index point. Dealers short gamma (< 0) trade with the move: their hedge flow per
  point is ``-gamma_es_per_point``.
* ``vanna_es_per_volpt``: change of ``delta_es`` per +1 vol point of IV (hedge flow is minus it);
  ``charm_es_per_hour``: change of ``delta_es`` as one calendar hour passes (the simulation clock
  runs in calendar seconds during the session).

Implied vols come from an :class:`~market.ivsurface.IVSurface` at the forward ``F`` ("sticky
moneyness"); :func:`hedge_trade_es` can instead hold each strike's vol ("sticky strike").

The GEX profile functions (``gex_profile``, ``gex_profile_of``, ``gamma_flip``, ``gamma_flip_levels``)
live in :mod:`market.gex`; they can still be imported from here (loaded on first use, since
``market.gex`` imports this module).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from market._exposure_kernel import book_greek_totals, plain_greek_totals, split_deltas
from market.black76 import DELTA, GAMMA, Greeks, portfolio_greeks, tau_years
from market.ivsurface import IVSurface
from market.positions import OptionBook
from market.units import ES_MULTIPLIER_USD, SPX_MULTIPLIER_USD

ES_PER_OPTION_DELTA = SPX_MULTIPLIER_USD / ES_MULTIPLIER_USD  #: ES contracts per SPX option delta
_PCT = 0.01

#: names that moved to :mod:`market.gex`, still importable from here (see :func:`__getattr__`)
_GEX_NAMES = frozenset({"gamma_flip", "gamma_flip_levels", "gex_profile", "gex_profile_of"})


def __getattr__(name: str) -> object:
    """``market.exposures.gex_profile`` and the other GEX names: loaded from :mod:`market.gex` on use.

    A plain import here would be circular (``market.gex`` imports :func:`live_positions` from here).
    """
    if name in _GEX_NAMES:
        from market import gex

        return getattr(gex, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class DealerExposures:
    """The dealers' aggregate option exposures at one state (spot ``F``, surface, clock).

    Attributes:
        F: forward/futures price used (index points).
        delta_es: options delta in ES contracts.
        hedge_target_es: futures position that neutralises it, ``-delta_es`` (contracts).
        gamma_usd_per_pct: change of dollar delta per +1% move of ``F`` ($).
        gamma_es_per_point: change of ``delta_es`` per +1 index point (contracts per point).
        vanna_es_per_volpt: change of ``delta_es`` per +1 vol point of every IV (contracts).
        charm_es_per_hour: change of ``delta_es`` per calendar hour passing (contracts per hour).
        vega_usd_per_volpt: change of the options' value per +1 vol point ($).
        theta_usd_per_day: change of the options' value per calendar day passing, F fixed ($).
        value_usd: mark-to-model value of the options ($).
        n_live: number of live (unexpired, non-zero) series held.
    """

    F: float
    delta_es: float
    hedge_target_es: float
    gamma_usd_per_pct: float
    gamma_es_per_point: float
    vanna_es_per_volpt: float
    charm_es_per_hour: float
    vega_usd_per_volpt: float
    theta_usd_per_day: float
    value_usd: float
    n_live: int


@dataclass(frozen=True, slots=True)
class LivePositions:
    """One holder's live positions as plain arrays (what the compiled kernels take).

    Attributes:
        strike: strikes (index points).
        tau_yrs: years to expiry (> 0).
        is_call: True for calls.
        qty: signed contracts (float64).
    """

    strike: np.ndarray
    tau_yrs: np.ndarray
    is_call: np.ndarray
    qty: np.ndarray


def live_positions(book: OptionBook, t_seconds: float, holder: str | None = None) -> LivePositions:
    """A holder's non-zero, unexpired positions at clock ``t_seconds`` (default: the dealers)."""
    qty = book.holder_qty(book.dealer if holder is None else holder)
    tau = tau_years(t_seconds, book.expiry_day)
    keep = (qty != 0) & (tau > 0.0)
    return LivePositions(
        np.ascontiguousarray(book.strike[keep]),
        np.ascontiguousarray(tau[keep]),
        np.ascontiguousarray(book.is_call[keep]),
        qty[keep].astype(np.float64),
    )


def _position_sigma(pos: LivePositions, surface: IVSurface, F_smile: float, t_seconds: float,
                    iv_shift_ann: float) -> np.ndarray:
    sigma = surface.sigma(pos.strike, pos.tau_yrs, F_smile, t_seconds=t_seconds)
    if iv_shift_ann != 0.0:
        sigma = np.maximum(sigma + iv_shift_ann, 1e-8)
    return sigma


def exposures_of(pos: LivePositions, F: float, sigma_ann: np.ndarray,
                 rate_cc: float = 0.0) -> DealerExposures:
    """Aggregate exposures of given positions and implied vols (see :class:`DealerExposures`).

    Args:
        pos: positions (e.g. from :func:`live_positions`).
        F: forward/futures price (index points).
        sigma_ann: implied vol per position (annualised).
        rate_cc: continuously-compounded discount rate per year.

    Returns:
        The :class:`DealerExposures` of these positions.
    """
    totals = plain_greek_totals(pos.strike, pos.tau_yrs, pos.is_call, pos.qty, sigma_ann, F, rate_cc)
    if totals is not None:  # the kernel behind portfolio_greeks (same bits) without its broadcasting
        tot = Greeks(*totals.tolist())
    else:
        tot = portfolio_greeks(F, pos.strike, pos.tau_yrs, pos.is_call, sigma_ann, pos.qty, rate_cc)
    return _exposures_from_totals(F, tot, int(pos.strike.shape[0]))


def _exposures_from_totals(F: float, tot: Greeks, n_live: int) -> DealerExposures:
    delta_es = ES_PER_OPTION_DELTA * tot.delta
    return DealerExposures(
        F=float(F),
        delta_es=float(delta_es),
        hedge_target_es=float(-delta_es) + 0.0,  # no negative zero
        gamma_usd_per_pct=float(tot.gamma * F * F * _PCT * SPX_MULTIPLIER_USD),
        gamma_es_per_point=float(ES_PER_OPTION_DELTA * tot.gamma),
        vanna_es_per_volpt=float(ES_PER_OPTION_DELTA * tot.vanna),
        charm_es_per_hour=float(ES_PER_OPTION_DELTA * tot.charm / 24.0),
        vega_usd_per_volpt=float(SPX_MULTIPLIER_USD * tot.vega),
        theta_usd_per_day=float(SPX_MULTIPLIER_USD * tot.theta),
        value_usd=float(SPX_MULTIPLIER_USD * tot.price),
        n_live=n_live,
    )


def dealer_exposures(
    book: OptionBook,
    surface: IVSurface,
    F: float,
    t_seconds: float | None = None,
    rate_cc: float = 0.0,
    holder: str | None = None,
    iv_shift_ann: float = 0.0,
) -> DealerExposures:
    """The dealers' exposures at spot ``F``, the surface's current state and clock ``t_seconds``.

    Args:
        book: the open interest.
        surface: implied vols (smile centred on ``F``).
        F: forward/futures price (index points).
        t_seconds: clock, seconds from the simulated day's open (default: ``surface.t_seconds``).
        rate_cc: continuously-compounded discount rate per year.
        holder: holder class (default: the book's dealer class).
        iv_shift_ann: parallel shift added to every implied vol (0.01 = +1 vol point).

    Returns:
        :class:`DealerExposures` (``hedge_target_es = -delta_es``).
    """
    t = surface.t_seconds if t_seconds is None else t_seconds
    if iv_shift_ann == 0.0 and F > 0.0:  # one compiled pass, same bits (market._exposure_kernel)
        who = book.dealer if holder is None else holder
        totals, n_live = book_greek_totals(book, surface, F, t, rate_cc, who)
        return _exposures_from_totals(F, Greeks(*totals.tolist()), n_live)
    pos = live_positions(book, t, holder)
    sigma = _position_sigma(pos, surface, F, t, iv_shift_ann)
    return exposures_of(pos, F, sigma, rate_cc)


def dealer_hedge_need(book: OptionBook, surface: IVSurface, F: float, t_seconds: float,
                      rate_cc: float = 0.0) -> tuple[float, float]:
    """``(hedge_target_es, gamma_es_per_point)`` of the dealers, as :func:`dealer_exposures` gives them.

    The two fields a hedging dealer reads (contracts; contracts per index point), without building
    the whole :class:`DealerExposures` (same bits). Arguments as in :func:`dealer_exposures`.
    """
    if not F > 0.0:
        x = dealer_exposures(book, surface, F, t_seconds, rate_cc)
        return x.hedge_target_es, x.gamma_es_per_point
    totals, _ = book_greek_totals(book, surface, F, t_seconds, rate_cc, book.dealer)
    tot = totals.tolist()
    delta_es = ES_PER_OPTION_DELTA * tot[DELTA]
    return float(-delta_es) + 0.0, float(ES_PER_OPTION_DELTA * tot[GAMMA])


def hedge_target_es(
    book: OptionBook,
    surface: IVSurface,
    F: float,
    t_seconds: float | None = None,
    rate_cc: float = 0.0,
    holder: str | None = None,
    iv_shift_ann: float = 0.0,
) -> float:
    """The dealers' futures hedge target in ES contracts: minus their options delta.

    Arguments as in :func:`dealer_exposures`.
    """
    return dealer_exposures(book, surface, F, t_seconds, rate_cc, holder,
                            iv_shift_ann).hedge_target_es


def hedge_trade_es(
    book: OptionBook,
    surface: IVSurface,
    F_from: float,
    F_to: float,
    t_from_s: float,
    t_to_s: float,
    iv_shift_ann: float = 0.0,
    sticky_strike: bool = True,
    rate_cc: float = 0.0,
    holder: str | None = None,
) -> float:
    """The dealers' futures hedge trade (ES contracts, > 0 BUY) when the state moves.

    The trade is ``target(after) - target(before)`` where before is ``(F_from, t_from_s)`` with
    the surface's vols and after is ``(F_to, t_to_s)`` with every vol shifted by
    ``iv_shift_ann``. Options expiring in between drop out (their hedge is unwound).

    Args:
        book: the open interest.
        surface: implied vols (its state is not changed).
        F_from: forward before (index points).
        F_to: forward after (index points).
        t_from_s: clock before, seconds from the simulated day's open.
        t_to_s: clock after.
        iv_shift_ann: parallel IV change between the two states (-0.02 = IV falls 2 points).
        sticky_strike: True: each strike keeps the vol of the smile centred on ``F_from`` (plus
            the shift), isolating the spot effect; False: the smile moves with ``F_to``.
        rate_cc: continuously-compounded discount rate per year.
        holder: holder class (default: the book's dealer class).

    Returns:
        Contracts to buy (> 0) or sell (< 0).
    """
    before = dealer_exposures(book, surface, F_from, t_from_s, rate_cc, holder)
    pos = live_positions(book, t_to_s, holder)
    smile_F = F_from if sticky_strike else F_to
    sigma = _position_sigma(pos, surface, smile_F, t_to_s, iv_shift_ann)
    after = exposures_of(pos, F_to, sigma, rate_cc)
    return after.hedge_target_es - before.hedge_target_es


# ---- hedge flow by greek -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HedgeSplit:
    """A change of the dealers' futures hedge target split by cause (ES contracts, > 0 = BUY).

    Attributes:
        gamma: from the futures price moving (spot).
        vanna: from the positions' implied vols changing (surface level, event crush, demand
            premium, and the smile re-centring on the new spot: sticky moneyness).
        charm: from time passing (shorter time to expiry).
        oi: from the open interest changing (customer option trades with the dealers), valued at
            the new market state.
        other: the rest: positions that expired between the two states (their hedge is unwound)
            and floating-point rounding.
    """

    gamma: float
    vanna: float
    charm: float
    oi: float
    other: float

    @property
    def total(self) -> float:
        """The whole change of the hedge target (contracts): the sum of the five parts."""
        return self.gamma + self.vanna + self.charm + self.oi + self.other


def hedge_target_of(
    F: float,
    strike: np.ndarray,
    tau_yrs: np.ndarray,
    is_call: np.ndarray,
    qty: np.ndarray,
    sigma_ann: np.ndarray,
    rate_cc: float = 0.0,
) -> float:
    """Futures hedge target ``-delta_es`` (ES contracts) of option positions over plain arrays.

    Positions with ``tau_yrs <= 0`` (expired) or ``qty == 0`` count nothing; their ``sigma_ann`` is
    not read (it may be NaN).

    Args:
        F: forward/futures price (index points).
        strike: strikes (index points), shape ``(n,)``.
        tau_yrs: years to expiry, shape ``(n,)``.
        is_call: True for calls, shape ``(n,)``.
        qty: signed option contracts held by the dealers, shape ``(n,)``.
        sigma_ann: implied vols (annualised), shape ``(n,)``.
        rate_cc: continuously-compounded discount rate per year.
    """
    tau = np.asarray(tau_yrs, dtype=np.float64)
    q = np.asarray(qty, dtype=np.float64)
    live = (tau > 0.0) & (q != 0.0)
    if not live.any():
        return 0.0
    # the kernel behind portfolio_greeks (same inputs, same bits); masked arrays are always plain
    totals = plain_greek_totals(np.asarray(strike, dtype=np.float64)[live], tau[live],
                                np.asarray(is_call, dtype=np.bool_)[live], q[live],
                                np.asarray(sigma_ann, dtype=np.float64)[live], F, rate_cc)
    assert totals is not None
    return float(-ES_PER_OPTION_DELTA * totals[DELTA]) + 0.0


#: Shapley terms of :func:`hedge_target_split` per factor (spot, vols, time): ``(weight, corner with the
#: factor moved, corner before)``, corners indexed ``4a + 2b + d`` (1 = at state 1); in the order of the
#: sum: the factor alone, after each single other factor, after both.
_SHAPLEY_TERMS = (
    ((1 / 3, 4, 0), (1 / 6, 6, 2), (1 / 6, 5, 1), (1 / 3, 7, 3)),
    ((1 / 3, 2, 0), (1 / 6, 6, 4), (1 / 6, 3, 1), (1 / 3, 7, 5)),
    ((1 / 3, 1, 0), (1 / 6, 5, 4), (1 / 6, 3, 2), (1 / 3, 7, 6)),
)


def hedge_target_split(
    F0: float,
    F1: float,
    strike: np.ndarray,
    is_call: np.ndarray,
    tau0_yrs: np.ndarray,
    tau1_yrs: np.ndarray,
    qty0: np.ndarray,
    qty1: np.ndarray,
    sigma0_ann: np.ndarray,
    sigma1_ann: np.ndarray,
    rate_cc: float = 0.0,
) -> HedgeSplit:
    r"""Split the change of the dealers' hedge target between two states by greek (exact).

    State 0 (the previous sample) is ``(F0, tau0, qty0, sigma0)``, state 1 (now) is
    ``(F1, tau1, qty1, sigma1)``; the arrays run over the same series (the union of both books:
    a series absent from one book has quantity 0 there). With ``H(F, s, t)`` the hedge target of
    the *old* book's positions that are still live at state 1 (``tau1 > 0``, the survivors ``S``):

    * gamma, vanna, charm: the **Shapley decomposition** of ``H(F1, s1, t1) - H(F0, s0, t0)``
      over the three factors spot ``F``, vols ``s`` and time ``t`` (8 corner evaluations): each
      factor gets its marginal contribution averaged over every order of switching the factors
      from state 0 to state 1, so no factor is favoured by coming first, and the three add up
      exactly. With one factor moving, its part is the whole change.
    * oi ``= H_{qty1}(F1, s1, t1) - H_S(F1, s1, t1)``: new, closed or resized positions valued at
      the new state.
    * other ``= total - gamma - vanna - charm - oi``, where ``total`` is the target at state 1
      minus the target at state 0: what the old book's positions expiring between the states
      contributed before (their hedge is unwound), plus rounding.

    Args:
        F0: futures price at state 0 (index points).
        F1: futures price at state 1.
        strike: strikes (index points), shape ``(n,)``.
        is_call: True for calls, shape ``(n,)``.
        tau0_yrs: years to expiry at state 0, shape ``(n,)`` (<= 0: expired).
        tau1_yrs: years to expiry at state 1, shape ``(n,)``; ``tau1 <= tau0``.
        qty0: dealer contracts at state 0, shape ``(n,)`` (signed; short < 0).
        qty1: dealer contracts at state 1.
        sigma0_ann: implied vols at state 0 (read where ``qty0 != 0`` and ``tau0 > 0``).
        sigma1_ann: implied vols at state 1 (read where ``tau1 > 0`` and either qty is non-zero).
        rate_cc: continuously-compounded discount rate per year.

    Returns:
        The :class:`HedgeSplit` (ES contracts, > 0 = the dealers need to buy futures); its
        ``total`` is the change of ``-delta_es``.
    """
    strike = np.ascontiguousarray(strike, dtype=np.float64)
    tau0 = np.ascontiguousarray(tau0_yrs, dtype=np.float64)
    tau1 = np.ascontiguousarray(tau1_yrs, dtype=np.float64)
    if np.any(tau1 > tau0):
        raise ValueError("hedge_target_split: tau1_yrs must not exceed tau0_yrs (time runs forward)")
    # the 8 corners over the survivors (tau1 > 0, qty0 != 0) and the two targets, in one compiled
    # call: each the sum hedge_target_of takes over the same rows in the same order (same bits)
    deltas = split_deltas(F0, F1, strike, np.ascontiguousarray(is_call, dtype=np.bool_), tau0, tau1,
                          np.ascontiguousarray(qty0, dtype=np.float64),
                          np.ascontiguousarray(qty1, dtype=np.float64),
                          np.ascontiguousarray(sigma0_ann, dtype=np.float64),
                          np.ascontiguousarray(sigma1_ann, dtype=np.float64), rate_cc).tolist()  # fmt: skip
    corner = [float(-ES_PER_OPTION_DELTA * x) + 0.0 for x in deltas[:8]]  # corner (a, b, d) at 4a + 2b + d

    def shapley(axis: int) -> float:
        # weights for 3 players: 1/3 alone, 1/6 after each single other, 1/3 after both others
        total = 0.0
        for w, moved, base in _SHAPLEY_TERMS[axis]:
            total += w * (corner[moved] - corner[base])
        return total

    gamma, vanna, charm = shapley(0), shapley(1), shapley(2)
    new_target = float(-ES_PER_OPTION_DELTA * deltas[8]) + 0.0  # = hedge_target_of at state 1
    old_target = float(-ES_PER_OPTION_DELTA * deltas[9]) + 0.0  # = hedge_target_of at state 0
    oi = new_target - corner[7]  # the survivors at (F1, s1, t1)
    other = (new_target - old_target) - gamma - vanna - charm - oi
    return HedgeSplit(gamma + 0.0, vanna + 0.0, charm + 0.0, oi + 0.0, other + 0.0)
