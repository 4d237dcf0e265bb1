"""Black-76 implied volatility: no-arbitrage price bounds, a scalar and a vectorised solver, a checked one.

The solver works on the normalised out-of-the-money call (P. Jaeckel, "Let's be rational", 2015); units as
in :mod:`market.black76`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from market.black76.scalar import _INV_SQRT2, norm_cdf, norm_pdf
from market.black76.vectorised import _prepare

_V_TOL = 1e-10  # IV solver: converged when Newton's error estimate is below this fraction of v
_V_MAX = 60.0  # largest total volatility sigma*sqrt(tau) the IV solver searches (N(-30) ~ 5e-198)


@njit(cache=True)
def _norm_call(x, v):
    """Normalised OTM call ``b = e^{x/2} N(x/v + v/2) - e^{-x/2} N(x/v - v/2)`` for ``x <= 0``."""
    if x == 0.0:
        return math.erf(0.5 * v * _INV_SQRT2)
    d1 = x / v + 0.5 * v
    d2 = d1 - v
    return math.exp(0.5 * x) * norm_cdf(d1) - math.exp(-0.5 * x) * norm_cdf(d2)


@njit(cache=True)
def _norm_call_complement(x, v):
    """``e^{x/2} - b = e^{x/2} N(-d1) + e^{-x/2} N(d2)``: no cancellation near the upper bound."""
    d1 = x / v + 0.5 * v
    d2 = d1 - v
    return math.exp(0.5 * x) * norm_cdf(-d1) + math.exp(-0.5 * x) * norm_cdf(d2)


@njit(cache=True)
def _solve_total_vol(x, log_beta):
    """Total vol ``v = sigma sqrt(tau)`` solving ``b(x, v) = beta``, ``x <= 0 < beta < e^{x/2}``.

    ``beta`` is passed as its logarithm so that prices far below the smallest normal double work.

    Newton's method on ``ln b`` below the inflection point ``v_c = sqrt(2|x|)`` and on
    ``ln(e^{x/2} - b)`` above it (both nearly linear in the tails), safeguarded by a bracket that
    shrinks every step and bisection whenever Newton would leave it. Returns ``(v, converged)``.
    """
    upper = math.exp(0.5 * x)
    v_c = math.sqrt(-2.0 * x)
    b_c = _norm_call(x, v_c) if v_c > 0.0 else 0.0
    if b_c > 0.0 and log_beta <= math.log(b_c):
        lo = 0.0
        hi = v_c
        target = log_beta
        v = -x / math.sqrt(-2.0 * target) if target < 0.0 else 0.5 * v_c
        if not (lo < v < hi):
            v = 0.5 * (lo + hi)
        lower_branch = True
    else:
        lo = v_c
        hi = _V_MAX
        comp_target = upper - math.exp(log_beta)
        if comp_target <= 0.0:
            return np.nan, False
        if _norm_call_complement(x, hi) >= comp_target:
            return hi, False
        target = math.log(comp_target)
        v = v_c if v_c > 0.0 else 1e-300
        lower_branch = False
    dv = np.inf
    for _ in range(200):
        if lower_branch:
            b = _norm_call(x, v)
            if b <= 0.0:  # underflow: far below the root
                lo = v
                v = 0.5 * (lo + hi)
                continue
            f = math.log(b) - target  # increasing in v
            if f > 0.0:
                hi = v
            else:
                lo = v
            slope = math.exp(0.5 * x) * norm_pdf(x / v + 0.5 * v) / b
        else:
            c = _norm_call_complement(x, v)
            if c <= 0.0:
                hi = v
                v = 0.5 * (lo + hi)
                continue
            f = math.log(c) - target  # decreasing in v
            if f > 0.0:
                lo = v
            else:
                hi = v
            slope = -math.exp(0.5 * x) * norm_pdf(x / v + 0.5 * v) / c
        if f == 0.0:
            return v, True
        if slope != 0.0 and math.isfinite(slope):
            dv = f / slope  # Newton's estimate of the remaining error in v
            if abs(dv) <= 1e-14 * v:
                return v - dv, True
            v_new = v - dv
        else:
            dv = np.inf
            v_new = 0.5 * (lo + hi)
        if not (lo < v_new < hi):
            v_new = 0.5 * (lo + hi)
        if hi - lo <= 1e-15 * hi or v_new == v:
            # the bracket has collapsed; the price's rounding noise limits the last digits
            return v, abs(dv) <= _V_TOL * v
        v = v_new
    return v, abs(dv) <= _V_TOL * v


@njit(cache=True)
def price_bounds(F: float, K: float, tau_yrs: float, rate_cc: float, is_call) -> tuple:
    """No-arbitrage bounds ``(lower, upper)`` of a Black-76 price, index points.

    Call: ``DF max(F-K, 0) < price < DF F``; put: ``DF max(K-F, 0) < price < DF K``.
    """
    df = math.exp(-rate_cc * tau_yrs)
    if is_call > 0:
        return df * max(F - K, 0.0), df * F
    return df * max(K - F, 0.0), df * K


@njit(cache=True)
def implied_vol(
    option_price: float, F: float, K: float, tau_yrs: float, rate_cc: float, is_call
) -> tuple:
    """Black-76 implied volatility: ``(sigma_ann, converged)``.

    Converges for every price strictly inside the no-arbitrage bounds (see
    :func:`price_bounds`), deep OTM and near expiry included: the price is reduced to the
    normalised out-of-the-money call ``b(x, v)`` (``x = -|ln(F/K)|``, total vol
    ``v = sigma sqrt(tau)``) and ``v`` is found by a bracketed, safeguarded Newton iteration on
    ``v`` in ``[0, 60]`` (see :func:`_solve_total_vol`). Outside the bounds, for expired options
    (``tau_yrs <= 0``) or non-positive inputs it returns ``(nan, False)``; use
    :func:`implied_vol_checked` for a clear error instead.

    Args:
        option_price: option price in index points (per index unit).
        F: forward/futures price (index points).
        K: strike (index points).
        tau_yrs: years to expiry (ACT/365).
        rate_cc: continuously-compounded discount rate per year.
        is_call: True/``+1`` call, False/``-1`` put.

    Returns:
        ``(sigma_ann, converged)``; ``sigma_ann`` annualised.
    """
    if not (tau_yrs > 0.0 and F > 0.0 and K > 0.0):
        return np.nan, False
    lo, hi = price_bounds(F, K, tau_yrs, rate_cc, is_call)
    if not (lo < option_price < hi):
        return np.nan, False
    df = math.exp(-rate_cc * tau_yrs)
    call = is_call > 0
    # the out-of-the-money option's price via put-call parity (C - P = DF (F - K))
    if call and F > K:
        otm = option_price - df * (F - K)
    elif (not call) and K > F:
        otm = option_price - df * (K - F)
    else:
        otm = option_price
    x = -abs(math.log(F / K))
    if not otm > 0.0:
        return np.nan, False
    log_beta = math.log(otm) + rate_cc * tau_yrs - 0.5 * (math.log(F) + math.log(K))
    if not log_beta < 0.5 * x:
        return np.nan, False
    v, ok = _solve_total_vol(x, log_beta)
    return v / math.sqrt(tau_yrs), ok


@njit(cache=True)
def _implied_vols(prices, F, strike, tau_yrs, rate_cc, is_call, out_vol, out_ok):
    for i in range(prices.shape[0]):
        v, ok = implied_vol(prices[i], F, strike[i], tau_yrs[i], rate_cc, is_call[i])
        out_vol[i] = v
        out_ok[i] = ok


def implied_vols(
    prices: np.ndarray,
    F: float,
    strike: np.ndarray,
    tau_yrs: np.ndarray | float,
    is_call: np.ndarray | bool,
    rate_cc: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`implied_vol`: ``(sigma_ann[n], converged[n])``; nan where unsolvable.

    Args:
        prices: option prices (index points), shape ``(n,)``.
        F: forward/futures price (index points).
        strike: strikes, shape ``(n,)``.
        tau_yrs: years to expiry, shape ``(n,)`` or scalar.
        is_call: bool or int8 (``+1`` call, ``-1`` put), shape ``(n,)`` or scalar.
        rate_cc: continuously-compounded discount rate per year.

    Returns:
        Annualised implied vols and a bool array telling which converged.
    """
    prices = np.ascontiguousarray(prices, dtype=np.float64)
    strike, tau_yrs, is_call, _, _ = _prepare(strike, tau_yrs, is_call, 0.0, 0.0)
    out_vol = np.empty(prices.shape[0])
    out_ok = np.empty(prices.shape[0], dtype=np.bool_)
    _implied_vols(prices, float(F), strike, tau_yrs, float(rate_cc), is_call, out_vol, out_ok)
    return out_vol, out_ok


def implied_vol_checked(
    option_price: float, F: float, K: float, tau_yrs: float, rate_cc: float, is_call: bool | int
) -> float:
    """Implied volatility that raises instead of returning nan.

    Args:
        option_price: option price in index points.
        F: forward/futures price (index points).
        K: strike (index points).
        tau_yrs: years to expiry (ACT/365); must be > 0.
        rate_cc: continuously-compounded discount rate per year.
        is_call: True/``+1`` for a call, False/``-1`` for a put.

    Returns:
        Annualised implied volatility.

    Raises:
        ValueError: non-positive ``F``/``K``/``tau_yrs``, or a price outside the no-arbitrage
            bounds (the message names the price and the bounds).
        RuntimeError: the solver did not converge (should not happen inside the bounds).
    """
    call = bool(is_call > 0)
    kind = "call" if call else "put"
    if not (F > 0.0 and K > 0.0):
        raise ValueError(f"implied_vol: F and K must be > 0, got F={F!r}, K={K!r}")
    if not tau_yrs > 0.0:
        raise ValueError(f"implied_vol: option expired or invalid tau_yrs={tau_yrs!r} (need > 0)")
    lo, hi = price_bounds(float(F), float(K), float(tau_yrs), float(rate_cc), call)
    if not (lo < option_price < hi):
        raise ValueError(
            f"implied_vol: {kind} price {option_price!r} is outside the no-arbitrage bounds "
            f"({lo!r}, {hi!r}) (strict) for F={F}, K={K}, tau_yrs={tau_yrs}, rate_cc={rate_cc}"
        )
    vol, ok = implied_vol(
        float(option_price), float(F), float(K), float(tau_yrs), float(rate_cc), call
    )
    if not ok:
        raise RuntimeError(
            f"implied_vol: no convergence for {kind} price {option_price!r} inside bounds "
            f"({lo!r}, {hi!r}), F={F}, K={K}, tau_yrs={tau_yrs} (last sigma_ann={vol!r})"
        )
    return float(vol)
