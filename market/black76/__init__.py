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

The package has one module per job; import every name from ``market.black76`` itself:

==============================  ===============================================================
``black76.conventions``         day count, the vol point, the greeks' row order, the expiry clock
``black76.scalar``              compiled scalar kernels: normal CDF/PDF, price and each greek
``black76.vectorised``          all greeks of many options in one compiled loop, portfolio totals
``black76.iv_solver``           implied volatility (scalar, vectorised, checked) and price bounds
==============================  ===============================================================
"""

from market.black76.conventions import (
    CHARM,
    DAYS_PER_YEAR,
    DELTA,
    GAMMA,
    GREEK_NAMES,
    PRICE,
    SECONDS_PER_DAY,
    SECONDS_PER_YEAR,
    SESSION_SECONDS,
    THETA,
    VANNA,
    VEGA,
    VOL_POINT,
    VOMMA,
    tau_years,
)
from market.black76.iv_solver import implied_vol, implied_vol_checked, implied_vols, price_bounds
from market.black76.scalar import charm, delta, gamma, norm_cdf, norm_pdf, price, theta, vanna, vega, vomma
from market.black76.vectorised import Greeks, _fill_greeks, greek_table, greeks, portfolio_greeks

__all__ = [
    "CHARM",
    "DAYS_PER_YEAR",
    "DELTA",
    "GAMMA",
    "GREEK_NAMES",
    "PRICE",
    "SECONDS_PER_DAY",
    "SECONDS_PER_YEAR",
    "SESSION_SECONDS",
    "THETA",
    "VANNA",
    "VEGA",
    "VOL_POINT",
    "VOMMA",
    "Greeks",
    "_fill_greeks",
    "charm",
    "delta",
    "gamma",
    "greek_table",
    "greeks",
    "implied_vol",
    "implied_vol_checked",
    "implied_vols",
    "norm_cdf",
    "norm_pdf",
    "portfolio_greeks",
    "price",
    "price_bounds",
    "tau_years",
    "theta",
    "vanna",
    "vega",
    "vomma",
]
