"""One compiled pass over the dealer book: live positions, smile vols and greek totals.

The hot path of :func:`market.exposures.dealer_exposures` (every dealer re-hedge and every sample
asks for the whole book's exposures): the same arithmetic as ``live_positions`` +
``IVSurface.sigma`` + ``portfolio_greeks``, in one call instead of about forty numpy calls. Only the
skew time scaling ``(tau_ref / max(tau, tau_min)) ** power`` stays in numpy (its ``**`` is not the
C library's ``pow`` bit for bit), so the results are identical to the step-by-step path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from market.black76 import DAYS_PER_YEAR, SECONDS_PER_DAY, _fill_greeks
from market.black76.scalar import _INV_SQRT2
from market.ivsurface import IVSurface, smile_total_vol
from market.positions import OptionBook
from market.units import SESSION_SECONDS

_NO_TABLE = np.empty((8, 0))


@njit(cache=True)
def _book_totals(F, log_F, strike, tau, is_call, qty, mscale, base_level, slope, sqrt_tau_ref,
                 spot_shift, term_scaled, ev_tau, ev_var, skew, curvature, floor, cap, rate_cc,
                 no_table, totals):
    """Greek totals of the rows with ``qty != 0`` and ``tau > 0``; returns how many there are."""
    n = strike.shape[0]
    m = 0
    for i in range(n):
        if qty[i] != 0 and tau[i] > 0.0:
            m += 1
    ks = np.empty(m)
    ts = np.empty(m)
    cs = np.empty(m, dtype=np.bool_)
    qs = np.empty(m)
    ss = np.empty(m)
    j = 0
    for i in range(n):
        t = tau[i]
        if qty[i] == 0 or not t > 0.0:
            continue
        level = base_level + slope * (math.sqrt(t) - sqrt_tau_ref)  # IVSurface.terms, tau > 0
        if term_scaled:
            level = level + (mscale[i] - 1.0) * spot_shift
        ev = 0.0
        for e in range(ev_tau.shape[0]):
            ev += ev_var[e] if t > ev_tau[e] else 0.0
        v = smile_total_vol(math.log(strike[i]) - log_F, t, level, mscale[i], ev, skew, curvature,
                            floor, cap)
        ss[j] = v / math.sqrt(t)
        ks[j] = strike[i]
        ts[j] = t
        cs[j] = is_call[i]
        qs[j] = float(qty[i])
        j += 1
    _fill_greeks(F, ks, ts, cs, ss, qs, rate_cc, no_table, totals, False)
    return m


@njit(cache=True)
def _tau_and_ratio(expiry_day, t_s, s_per_day, session_s, s_per_year, tau_ref, tau_min, tau, ratio):
    """``tau = tau_years(t_s, expiry_day)`` and ``ratio = tau_ref / max(tau, tau_min)``.

    ``ratio`` is the base of :func:`market.ivsurface.skew_time_scale`; the same IEEE operations in
    the same order as ``black76.tau_years`` and numpy (same bits).
    """
    for i in range(expiry_day.shape[0]):
        x = (float(expiry_day[i]) * s_per_day + session_s - t_s) / s_per_year
        tau[i] = x
        ratio[i] = tau_ref / (x if x >= tau_min else tau_min)


def _plain(a: object) -> bool:
    """A 1-d C-contiguous float64 array (what the greek kernel takes as is)."""
    return isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 1 and a.flags.c_contiguous


def plain_greek_totals(strike: np.ndarray, tau_yrs: np.ndarray, is_call: np.ndarray, qty: np.ndarray,
                       sigma_ann: np.ndarray, F: float, rate_cc: float) -> np.ndarray | None:
    """``portfolio_greeks``' totals ``[8]`` straight from its kernel, or None.

    None when the arrays would need a conversion (not 1-d contiguous float64 with a bool
    ``is_call``, or unequal lengths): the caller then takes ``portfolio_greeks``.
    """
    n = strike.shape[0] if _plain(strike) else -1
    if not (n >= 0 and _plain(tau_yrs) and _plain(qty) and _plain(sigma_ann)
            and isinstance(is_call, np.ndarray) and is_call.dtype == np.bool_
            and is_call.ndim == 1 and is_call.flags.c_contiguous
            and tau_yrs.shape[0] == qty.shape[0] == sigma_ann.shape[0] == is_call.shape[0] == n):
        return None
    totals = np.empty(8)
    _fill_greeks(float(F), strike, tau_yrs, is_call, sigma_ann, qty, float(rate_cc), _NO_TABLE, totals, False)
    return totals


def book_greek_totals(book: OptionBook, surface: IVSurface, F: float, t_seconds: float,
                      rate_cc: float, holder: str) -> tuple[np.ndarray, int]:
    """Quantity-weighted greek totals ``[8]`` (rows as ``black76.GREEK_NAMES``) and the live count.

    ``holder``'s positions with ``qty != 0`` and ``tau > 0`` at clock ``t_seconds`` (seconds from
    the open), vols from ``surface`` centred on ``F`` (index points), discount ``rate_cc`` per year.
    """
    p = surface.params
    n = len(book)
    tau = np.empty(n)
    ratio = np.empty(n)
    _tau_and_ratio(book.expiry_day, float(t_seconds), SECONDS_PER_DAY, SESSION_SECONDS,
                   DAYS_PER_YEAR * SECONDS_PER_DAY, p.tau_ref_yrs, p.skew_tau_min_yrs, tau, ratio)
    mscale = ratio ** p.skew_tau_power  # = skew_time_scale(p, tau): numpy's power, element by element
    ev_tau, ev_var = surface.event_terms(t_seconds)
    totals = np.zeros(8)  # _fill_greeks overwrites it when there are rows
    m = _book_totals(
        float(F), math.log(F), np.ascontiguousarray(book.strike), tau,
        np.ascontiguousarray(book.is_call), np.ascontiguousarray(book.holder_qty(holder)), mscale,
        surface.atm_vol_ann + surface.demand_premium_ann, p.term_slope_per_sqrt_yr,
        math.sqrt(p.tau_ref_yrs), surface.spot_shift_ann, p.spot_vol_term_scaled, ev_tau, ev_var,
        p.skew, p.curvature, p.sigma_floor_ann, p.sigma_cap_ann, float(rate_cc), _NO_TABLE, totals,
    ) if n else 0  # fmt: skip
    return totals, int(m)


@njit(cache=True)
def _delta_one(F, K, tau, w, sig, rate_cc):
    """One option's Black-76 delta for ``tau > 0``: the ``dl`` of ``black76._fill_greeks`` (same bits)."""
    sq = math.sqrt(tau)
    v = sig * sq
    df = math.exp(-rate_cc * tau)
    if v <= 0.0:
        x = w * (F - K)
        return w * df * (1.0 if x > 0.0 else (0.5 if x == 0.0 else 0.0))
    d1 = math.log(F / K) / v + 0.5 * v
    nd1 = 0.5 * math.erfc(-w * d1 * _INV_SQRT2)  # N(w d1)
    return w * df * nd1


@njit(cache=True)
def _delta_sum(F, strike, is_call, tau, q, sig, rate_cc, live_tau, live_q):
    """``sum q_i delta_i`` at ``(F, tau, sig)`` over the series with ``live_tau > 0``, ``live_q != 0``."""
    acc = 0.0
    for i in range(strike.shape[0]):
        if live_tau[i] > 0.0 and live_q[i] != 0.0:
            w = 1.0 if is_call[i] > 0 else -1.0
            acc += q[i] * _delta_one(F, strike[i], tau[i], w, sig[i], rate_cc)
    return acc


@njit(cache=True)
def _split_deltas(F0, F1, strike, is_call, tau0, tau1, q0, q1, sigma0, sigma1, rate_cc, out):
    """The 10 delta totals of ``market.exposures.hedge_target_split`` (see :func:`split_deltas`)."""
    for a in range(2):
        F = F0 if a == 0 else F1
        for b in range(2):
            sig = sigma0 if b == 0 else sigma1
            for d in range(2):
                tau = tau0 if d == 0 else tau1
                # the survivors: alive at the second time, held at the first
                out[4 * a + 2 * b + d] = _delta_sum(F, strike, is_call, tau, q0, sig, rate_cc, tau1, q0)
    out[8] = _delta_sum(F1, strike, is_call, tau1, q1, sigma1, rate_cc, tau1, q1)
    out[9] = _delta_sum(F0, strike, is_call, tau0, q0, sigma0, rate_cc, tau0, q0)


def split_deltas(F0: float, F1: float, strike: np.ndarray, is_call: np.ndarray, tau0: np.ndarray,
                 tau1: np.ndarray, q0: np.ndarray, q1: np.ndarray, sigma0: np.ndarray, sigma1: np.ndarray,
                 rate_cc: float) -> np.ndarray:
    """Options delta totals ``[10]`` behind ``market.exposures.hedge_target_split``, in one call.

    Entries ``4a + 2b + d`` (0-7): the survivors (``tau1 > 0`` and ``q0 != 0``, quantities ``q0``) at
    spot ``(F0, F1)[a]``, vols ``(sigma0, sigma1)[b]`` and times ``(tau0, tau1)[d]``; entry 8: the
    live rows of state 1 (``tau1 > 0``, ``q1 != 0``) at ``(F1, sigma1, tau1)``; entry 9: those of state 0
    at ``(F0, sigma0, tau0)``. Each is the sum ``black76.portfolio_greeks`` would give over the same
    rows in the same order (same bits: only the delta of each row is computed). Arrays are 1-d
    contiguous (float64; ``is_call`` bool) over the same series.
    """
    out = np.empty(10)
    _split_deltas(float(F0), float(F1), strike, is_call, tau0, tau1, q0, q1, sigma0, sigma1, float(rate_cc),
                  out)  # fmt: skip
    return out
