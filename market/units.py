"""Units and conventions of the simulated market, in one place.

Every module of ``market/`` and ``agents/`` takes the session length, the day count, the tick and the
contract multipliers from here instead of repeating the numbers. ``market/`` imports nothing above it,
so this module imports nothing at all.
"""

from __future__ import annotations

SESSION_SECONDS: float = 23_400.0
"""Seconds in the regular session, 09:30-16:00 ET (6.5 h); the simulation clock runs from 0 at the
open to ``SESSION_SECONDS`` at the close (and at a same-day 16:00 expiry)."""

OPEN_ET_S: float = 34_200.0
"""The regular session's open, 09:30 ET, in seconds after midnight: ``t = 0`` of the simulation clock."""

TRADING_DAYS_PER_YEAR: int = 252
"""Trading days per year (days/year): annualizes trading-time variances and daily volatilities."""

TICK_POINTS: float = 0.25
"""Minimum price increment of the E-mini S&P 500 future (index points per tick)."""

ES_MULTIPLIER_USD: float = 50.0
"""Dollars per index point per E-mini S&P 500 futures contract (USD/point/contract)."""

SPX_MULTIPLIER_USD: float = 100.0
"""Dollars per index point per SPX option contract (USD/point/contract)."""

__all__ = [
    "ES_MULTIPLIER_USD",
    "OPEN_ET_S",
    "SESSION_SECONDS",
    "SPX_MULTIPLIER_USD",
    "TICK_POINTS",
    "TRADING_DAYS_PER_YEAR",
]
