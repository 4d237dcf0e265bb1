"""All Black-76 greeks of many options in one compiled loop, per option or as portfolio totals.

Units as in :mod:`market.black76` (per option on one index unit).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from market.black76.conventions import (
    CHARM,
    DAYS_PER_YEAR,
    DELTA,
    GAMMA,
    PRICE,
    THETA,
    VANNA,
    VEGA,
    VOL_POINT,
    VOMMA,
)
from market.black76.scalar import _INV_SQRT2, _INV_SQRT_2PI


@njit(cache=True)
def _fill_greeks(F, strike, tau_yrs, is_call, sigma_ann, quantity, rate_cc, out, totals, store):
    """Fill ``out[8, n]`` with per-option greeks and ``totals[8]`` with quantity-weighted sums."""
    for k in range(8):
        totals[k] = 0.0
    n = strike.shape[0]
    for i in range(n):
        K = strike[i]
        tau = tau_yrs[i]
        w = 1.0 if is_call[i] > 0 else -1.0
        q = quantity[i]
        if tau <= 0.0:
            p = max(w * (F - K), 0.0)
            if store:
                out[PRICE, i] = p
                for k in range(1, 8):
                    out[k, i] = 0.0
            totals[PRICE] += q * p
            continue
        sig = sigma_ann[i]
        sq = math.sqrt(tau)
        v = sig * sq
        df = math.exp(-rate_cc * tau)
        if v <= 0.0:
            x = w * (F - K)
            p = df * max(x, 0.0)
            dl = w * df * (1.0 if x > 0.0 else (0.5 if x == 0.0 else 0.0))
            th = rate_cc * p / DAYS_PER_YEAR
            if store:
                out[PRICE, i] = p
                out[DELTA, i] = dl
                for k in range(2, 7):
                    out[k, i] = 0.0
                out[THETA, i] = th
            totals[PRICE] += q * p
            totals[DELTA] += q * dl
            totals[THETA] += q * th
            continue
        d1 = math.log(F / K) / v + 0.5 * v
        d2 = d1 - v
        nd1 = 0.5 * math.erfc(-w * d1 * _INV_SQRT2)  # N(w d1)
        nd2 = 0.5 * math.erfc(-w * d2 * _INV_SQRT2)  # N(w d2)
        pdf = _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
        dfpdf = df * pdf
        p = df * w * (F * nd1 - K * nd2)
        dl = w * df * nd1
        gm = dfpdf / (F * v)
        vg_unit = dfpdf * F * sq  # per unit sigma
        vg = VOL_POINT * vg_unit
        va = -VOL_POINT * dfpdf * d2 / sig
        ch = (w * rate_cc * df * nd1 + dfpdf * d2 / (2.0 * tau)) / DAYS_PER_YEAR
        vo = VOL_POINT * VOL_POINT * vg_unit * d1 * d2 / sig
        th = (rate_cc * p - dfpdf * F * sig / (2.0 * sq)) / DAYS_PER_YEAR
        if store:
            out[PRICE, i] = p
            out[DELTA, i] = dl
            out[GAMMA, i] = gm
            out[VEGA, i] = vg
            out[VANNA, i] = va
            out[CHARM, i] = ch
            out[VOMMA, i] = vo
            out[THETA, i] = th
        totals[PRICE] += q * p
        totals[DELTA] += q * dl
        totals[GAMMA] += q * gm
        totals[VEGA] += q * vg
        totals[VANNA] += q * va
        totals[CHARM] += q * ch
        totals[VOMMA] += q * vo
        totals[THETA] += q * th


class Greeks(NamedTuple):
    """Black-76 price and greeks, per option (arrays) or quantity-weighted totals (floats).

    Units per option on one index unit (multiply by $100 for one SPX contract): ``price`` index
    points; ``delta`` dimensionless; ``gamma`` per index point; ``vega`` index points per vol
    point; ``vanna`` delta per vol point; ``charm`` delta per calendar day; ``vomma`` index points
    per vol point squared; ``theta`` index points per calendar day.
    """

    price: np.ndarray | float
    delta: np.ndarray | float
    gamma: np.ndarray | float
    vega: np.ndarray | float
    vanna: np.ndarray | float
    charm: np.ndarray | float
    vomma: np.ndarray | float
    theta: np.ndarray | float


def _prepare(strike, tau_yrs, is_call, sigma_ann, quantity):
    strike = np.ascontiguousarray(strike, dtype=np.float64)
    n = strike.shape[0]
    tau_yrs = np.ascontiguousarray(np.broadcast_to(tau_yrs, (n,)), dtype=np.float64)
    sigma_ann = np.ascontiguousarray(np.broadcast_to(sigma_ann, (n,)), dtype=np.float64)
    is_call = np.asarray(is_call)
    if is_call.dtype != np.bool_ and is_call.dtype != np.int8:
        is_call = is_call.astype(np.int8)
    is_call = np.ascontiguousarray(np.broadcast_to(is_call, (n,)))
    if quantity is None:
        quantity = np.ones(n)
    else:
        quantity = np.ascontiguousarray(np.broadcast_to(quantity, (n,)), dtype=np.float64)
    return strike, tau_yrs, is_call, sigma_ann, quantity


def _run_fill(F, strike, tau_yrs, is_call, sigma_ann, rate_cc, quantity, store: bool):
    """Broadcast the inputs and run :func:`_fill_greeks`: ``(per_option[8, n or 0], totals[8])``."""
    strike, tau_yrs, is_call, sigma_ann, quantity = _prepare(
        strike, tau_yrs, is_call, sigma_ann, quantity
    )
    out = np.empty((8, strike.shape[0] if store else 0))
    totals = np.empty(8)
    _fill_greeks(float(F), strike, tau_yrs, is_call, sigma_ann, quantity, float(rate_cc), out,
                 totals, store)
    return out, totals


def greek_table(
    F: float,
    strike: np.ndarray,
    tau_yrs: np.ndarray | float,
    is_call: np.ndarray | bool,
    sigma_ann: np.ndarray | float,
    rate_cc: float = 0.0,
    quantity: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Array form of :func:`greeks`: ``(per_option[8, n], totals[8])``, rows as GREEK_NAMES.

    Args:
        F: forward/futures price (index points), one underlying for all positions.
        strike: strikes (index points), shape ``(n,)``.
        tau_yrs: years to expiry, shape ``(n,)`` or scalar; ``<= 0`` is expired.
        is_call: bool (True call) or int8 (``+1`` call, ``-1`` put), shape ``(n,)`` or scalar.
        sigma_ann: annualised implied vols, shape ``(n,)`` or scalar.
        rate_cc: continuously-compounded discount rate per year.
        quantity: signed number of options per position for the totals (default 1 each).

    Returns:
        ``per_option`` of shape ``(8, n)`` (units as in :class:`Greeks`) and the
        quantity-weighted ``totals`` of shape ``(8,)``.
    """
    return _run_fill(F, strike, tau_yrs, is_call, sigma_ann, rate_cc, quantity, store=True)


def greeks(
    F: float,
    strike: np.ndarray,
    tau_yrs: np.ndarray | float,
    is_call: np.ndarray | bool,
    sigma_ann: np.ndarray | float,
    rate_cc: float = 0.0,
) -> Greeks:
    """All greeks for ``n`` options in one compiled loop, per option (units in :class:`Greeks`).

    Args:
        F: forward/futures price (index points).
        strike: strikes (index points), shape ``(n,)``.
        tau_yrs: years to expiry (ACT/365), shape ``(n,)`` or scalar; ``<= 0`` is expired.
        is_call: bool (True call) or int8 (``+1`` call, ``-1`` put), shape ``(n,)`` or scalar.
        sigma_ann: annualised implied vols, shape ``(n,)`` or scalar.
        rate_cc: continuously-compounded discount rate per year.

    Returns:
        A :class:`Greeks` of arrays of shape ``(n,)`` (views into one ``(8, n)`` array).
    """
    out, _ = greek_table(F, strike, tau_yrs, is_call, sigma_ann, rate_cc)
    return Greeks(*out)


def portfolio_greeks(
    F: float,
    strike: np.ndarray,
    tau_yrs: np.ndarray | float,
    is_call: np.ndarray | bool,
    sigma_ann: np.ndarray | float,
    quantity: np.ndarray,
    rate_cc: float = 0.0,
) -> Greeks:
    """Quantity-weighted sums ``sum_i quantity_i * greek_i`` (per index unit; x $100 per contract).

    Args:
        F: forward/futures price (index points).
        strike: strikes (index points), shape ``(n,)``.
        tau_yrs: years to expiry, shape ``(n,)`` or scalar.
        is_call: bool (True call) or int8 (``+1`` call, ``-1`` put).
        sigma_ann: annualised implied vols, shape ``(n,)`` or scalar.
        quantity: signed number of options per position (long > 0, short < 0).
        rate_cc: continuously-compounded discount rate per year.

    Returns:
        A :class:`Greeks` of floats (units as in :class:`Greeks`, times option count).
    """
    _, totals = _run_fill(F, strike, tau_yrs, is_call, sigma_ann, rate_cc, quantity, store=False)
    return Greeks(*(float(x) for x in totals))
