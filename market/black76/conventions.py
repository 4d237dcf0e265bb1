"""Black-76 conventions: ACT/365 day count, the vol point, the greeks' row order and the expiry clock.

Units as in :mod:`market.black76`.
"""

from __future__ import annotations

import numpy as np

from market.units import SESSION_SECONDS  # seconds from the open to the close (and a same-day expiry)

SECONDS_PER_DAY = 86400.0  #: calendar seconds in a day
DAYS_PER_YEAR = 365.0  #: ACT/365
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY  #: calendar seconds in a year (ACT/365)
VOL_POINT = 0.01  #: one vol point as a fraction of annualised volatility

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
