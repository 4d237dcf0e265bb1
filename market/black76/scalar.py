"""Compiled scalar Black-76 kernels: the normal CDF/PDF, the price and each greek of one option.

Each is ``@njit(cache=True)``, callable from Python or numba code; units as in :mod:`market.black76`.
"""

from __future__ import annotations

import math

from numba import njit

from market.black76.conventions import DAYS_PER_YEAR, VOL_POINT

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def norm_cdf(x: float) -> float:
    """Standard normal CDF via ``math.erfc`` (relative accuracy kept in the lower tail)."""
    return 0.5 * math.erfc(-x * _INV_SQRT2)


@njit(cache=True)
def norm_pdf(x: float) -> float:
    """Standard normal density."""
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


@njit(cache=True)
def _sign(is_call) -> float:
    return 1.0 if is_call > 0 else -1.0


@njit(cache=True)
def _intrinsic(F, K, w):
    return max(w * (F - K), 0.0)


@njit(cache=True)
def _d1(F, K, v):
    return math.log(F / K) / v + 0.5 * v


# ---- scalar kernels --------------------------------------------------------------------------


@njit(cache=True)
def price(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Black-76 option price in index points.

    Args:
        F: forward/futures price (index points).
        K: strike (index points).
        tau_yrs: years to expiry (ACT/365); ``<= 0`` means expired.
        sigma_ann: annualised implied volatility (0.20 = 20%).
        rate_cc: continuously-compounded discount rate per year.
        is_call: True/``+1`` for a call, False/``-1`` for a put.

    Returns:
        ``DF * (w F N(w d1) - w K N(w d2))`` with ``w = +-1``; intrinsic value if expired.
    """
    w = _sign(is_call)
    if tau_yrs <= 0.0:
        return _intrinsic(F, K, w)
    df = math.exp(-rate_cc * tau_yrs)
    v = sigma_ann * math.sqrt(tau_yrs)
    if v <= 0.0:
        return df * _intrinsic(F, K, w)
    d1 = _d1(F, K, v)
    d2 = d1 - v
    return df * w * (F * norm_cdf(w * d1) - K * norm_cdf(w * d2))


@njit(cache=True)
def delta(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Delta d(price)/dF, dimensionless (index points per index point of F).

    Call ``DF N(d1)``, put ``-DF N(-d1)``; 0 if expired. Arguments as in :func:`price`.
    """
    if tau_yrs <= 0.0:
        return 0.0
    w = _sign(is_call)
    df = math.exp(-rate_cc * tau_yrs)
    v = sigma_ann * math.sqrt(tau_yrs)
    if v <= 0.0:
        x = w * (F - K)
        return w * df * (1.0 if x > 0.0 else (0.5 if x == 0.0 else 0.0))
    return w * df * norm_cdf(w * _d1(F, K, v))


@njit(cache=True)
def gamma(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Gamma d(delta)/dF per index point: ``DF phi(d1) / (F sigma sqrt(tau))``; same for puts.

    Arguments as in :func:`price`; 0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    v = sigma_ann * math.sqrt(tau_yrs)
    if v <= 0.0:
        return 0.0
    df = math.exp(-rate_cc * tau_yrs)
    return df * norm_pdf(_d1(F, K, v)) / (F * v)


@njit(cache=True)
def vega(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Vega per 1 vol point: ``0.01 * DF F phi(d1) sqrt(tau)`` index points; same for puts.

    Arguments as in :func:`price`; 0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    sq = math.sqrt(tau_yrs)
    v = sigma_ann * sq
    if v <= 0.0:
        return 0.0
    df = math.exp(-rate_cc * tau_yrs)
    return VOL_POINT * df * F * norm_pdf(_d1(F, K, v)) * sq


@njit(cache=True)
def vanna(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Vanna d(delta)/d(sigma) per 1 vol point: ``-0.01 DF phi(d1) d2 / sigma``; same for puts.

    Negative for OTM puts (``d2 > 0``), positive for OTM calls. Arguments as in :func:`price`;
    0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    v = sigma_ann * math.sqrt(tau_yrs)
    if v <= 0.0:
        return 0.0
    df = math.exp(-rate_cc * tau_yrs)
    d1 = _d1(F, K, v)
    return -VOL_POINT * df * norm_pdf(d1) * (d1 - v) / sigma_ann


@njit(cache=True)
def charm(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Charm: change of delta as one calendar day passes, ``-d(delta)/d(tau) / 365``.

    Call ``r DF N(d1) + DF phi(d1) d2 / (2 tau)``, put ``-r DF N(-d1) + DF phi(d1) d2 / (2 tau)``
    (per year, then divided by 365). OTM options' deltas decay toward 0 as time passes.
    Arguments as in :func:`price`; 0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    w = _sign(is_call)
    v = sigma_ann * math.sqrt(tau_yrs)
    if v <= 0.0:
        return 0.0
    df = math.exp(-rate_cc * tau_yrs)
    d1 = _d1(F, K, v)
    d2 = d1 - v
    per_year = w * rate_cc * df * norm_cdf(w * d1) + df * norm_pdf(d1) * d2 / (2.0 * tau_yrs)
    return per_year / DAYS_PER_YEAR


@njit(cache=True)
def vomma(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Vomma d(vega)/d(sigma) per vol point squared: ``1e-4 DF F phi(d1) sqrt(tau) d1 d2 / sigma``.

    Same for puts. Arguments as in :func:`price`; 0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    sq = math.sqrt(tau_yrs)
    v = sigma_ann * sq
    if v <= 0.0:
        return 0.0
    df = math.exp(-rate_cc * tau_yrs)
    d1 = _d1(F, K, v)
    return VOL_POINT * VOL_POINT * df * F * norm_pdf(d1) * sq * d1 * (d1 - v) / sigma_ann


@njit(cache=True)
def theta(F: float, K: float, tau_yrs: float, sigma_ann: float, rate_cc: float, is_call) -> float:
    """Theta: change of price as one calendar day passes (F fixed), index points per day.

    ``(r * price - DF F phi(d1) sigma / (2 sqrt(tau))) / 365`` for calls and puts.
    Arguments as in :func:`price`; 0 if expired.
    """
    if tau_yrs <= 0.0:
        return 0.0
    sq = math.sqrt(tau_yrs)
    v = sigma_ann * sq
    df = math.exp(-rate_cc * tau_yrs)
    p = price(F, K, tau_yrs, sigma_ann, rate_cc, is_call)
    if v <= 0.0:
        return rate_cc * p / DAYS_PER_YEAR
    d1 = _d1(F, K, v)
    return (rate_cc * p - df * F * norm_pdf(d1) * sigma_ann / (2.0 * sq)) / DAYS_PER_YEAR
