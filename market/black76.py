"""Black-76 prices, greeks and implied volatility for European index options (SPX-like).

The underlying is the forward/futures price ``F`` of the index (index points); options are European
and cash-settled; discounting uses a continuously-compounded rate ``rate_cc`` (per year).

Units used everywhere in this module (per **one option on one unit of the index**: multiply by the
contract multiplier, $100 per index point for SPX, to get dollars per contract):

============  ==================================================================================
price         index points (``DF * E[payoff]``)
delta         d(price)/dF: index points per index point of F (dimensionless)
gamma         d(delta)/dF: per index point
vega          d(price)/d(sigma) per **1 vol point** (0.01 of ``sigma_ann``): index points
vanna         d(delta)/d(sigma) per **1 vol point**
charm         change of delta as **one calendar day** passes (``-d(delta)/d(tau) / 365``)
vomma         d(vega)/d(sigma): index points per vol point squared (``d2price/dsigma2 * 1e-4``)
theta         change of price as **one calendar day** passes (``-d(price)/d(tau) / 365``)
============  ==================================================================================

Greeks hold ``F`` fixed (Black-76: the futures price has no drift under the pricing measure).
Time to expiry ``tau_yrs`` is in years ACT/365. ``tau_yrs <= 0`` means the option has expired: its
price is the intrinsic value ``max(+-(F - K), 0)`` (the discount factor is 1 at expiry) and every
greek is 0. A zero total volatility (``sigma_ann * sqrt(tau_yrs) == 0``) gives the deterministic
limit: discounted intrinsic value, delta ``+-DF`` in the money (``+-DF/2`` at the money), other
greeks 0.

The scalar kernels are ``@njit(cache=True)`` and can be called from Python or from other numba
code; ``is_call`` is a bool (True call, False put) or an integer (``> 0`` call, ``<= 0`` put, so
``+1``/``-1`` work). The normal CDF is built from ``math.erfc`` (accurate in both tails).

References: F. Black, "The pricing of commodity contracts", JFE 3 (1976); J. Hull, *Options,
Futures, and Other Derivatives* (chapters on futures options and on the greek letters);
P. Jaeckel, "Let's be rational", Wilmott (2015) for the normalised price used by the IV solver.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from market.units import SESSION_SECONDS  # seconds from the open to the close (and a same-day expiry)

SECONDS_PER_DAY = 86400.0  #: calendar seconds in a day
DAYS_PER_YEAR = 365.0  #: ACT/365
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY  #: calendar seconds in a year (ACT/365)
VOL_POINT = 0.01  #: one vol point as a fraction of annualised volatility

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_V_TOL = 1e-10  # IV solver: converged when Newton's error estimate is below this fraction of v
_V_MAX = 60.0  # largest total volatility sigma*sqrt(tau) the IV solver searches (N(-30) ~ 5e-198)

# Row order of the ``(8, n)`` array filled by the array kernel.
PRICE, DELTA, GAMMA, VEGA, VANNA, CHARM, VOMMA, THETA = range(8)
GREEK_NAMES = ("price", "delta", "gamma", "vega", "vanna", "charm", "vomma", "theta")


def tau_years(
    t_seconds_from_open: float | np.ndarray,
    expiry_day_offset: int | np.ndarray,
    session_seconds: float = SESSION_SECONDS,
    days_per_year: float = DAYS_PER_YEAR,
) -> float | np.ndarray:
    """Time to expiry in years (ACT/365) from the simulation clock.

    The trading day runs 09:30-16:00 ET; ``t_seconds_from_open`` is seconds from today's open
    (0..23400). An option expiring at 16:00 ET on calendar day offset ``d`` (0 = today, i.e.
    0DTE; 1 = tomorrow; Friday seen from Monday is 4) has
    ``tau = (d * 86400 + session_seconds - t) / (days_per_year * 86400)`` years, so time decay runs
    intraday as well as overnight. A result ``<= 0`` means expired (it settles and drops out).

    Args:
        t_seconds_from_open: seconds since today's 09:30 ET open (scalar or array).
        expiry_day_offset: expiry in calendar days from today (scalar or array, integers).
        session_seconds: seconds from the open to the 16:00 ET expiry (23400).
        days_per_year: day count basis (365).

    Returns:
        Years to expiry; broadcasts like numpy arithmetic.
    """
    return (expiry_day_offset * SECONDS_PER_DAY + session_seconds - t_seconds_from_open) / (
        days_per_year * SECONDS_PER_DAY
    )


# ---- scalar helpers ------------------------------------------------------------------------


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


# ---- array kernel ----------------------------------------------------------------------------


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
    strike, tau_yrs, is_call, sigma_ann, quantity = _prepare(
        strike, tau_yrs, is_call, sigma_ann, quantity
    )
    out = np.empty((8, strike.shape[0]))
    totals = np.empty(8)
    _fill_greeks(float(F), strike, tau_yrs, is_call, sigma_ann, quantity, float(rate_cc), out,
                 totals, True)
    return out, totals


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
    strike, tau_yrs, is_call, sigma_ann, quantity = _prepare(
        strike, tau_yrs, is_call, sigma_ann, quantity
    )
    out = np.empty((8, 0))
    totals = np.empty(8)
    _fill_greeks(float(F), strike, tau_yrs, is_call, sigma_ann, quantity, float(rate_cc), out,
                 totals, False)
    return Greeks(*(float(x) for x in totals))


# ---- implied volatility ----------------------------------------------------------------------


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
