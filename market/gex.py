"""The dealers' GEX profile: gamma in $ per 1% move across a grid of spot levels, and the gamma flip.

Moved out of :mod:`market.exposures` (which still re-exports these functions, so
``from market.exposures import gex_profile`` keeps working); the conventions are those of its module
docstring. At each grid level the smile is re-centred on that level (sticky moneyness) and the gamma
of every live position is summed in one compiled pass (:func:`_gex_fill`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from market.exposures import _PCT, LivePositions, live_positions
from market.ivsurface import IVSurface, smile_total_vol
from market.positions import OptionBook
from market.units import SPX_MULTIPLIER_USD

__all__ = ["gamma_flip", "gamma_flip_levels", "gex_profile", "gex_profile_of"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# No fastmath: numba compiles a shared callee (smile_total_vol) with the fastmath flag of whichever
# caller compiles it first and caches that, so one fastmath kernel makes every kernel's bits depend on
# the compile history (tests/market/test_kernel_flags.py).
@njit(cache=True)
def _gex_fill(log_F, log_strike, tau, wq, level, mscale, event_var, skew, curvature, floor, cap,
              out):
    """``out[j] = sum_i wq_i phi(d1_ij) / v_ij`` (gamma x F, before F and unit factors)."""
    n = log_strike.shape[0]
    for j in range(log_F.shape[0]):
        lf = log_F[j]
        acc = 0.0
        for i in range(n):
            m = log_strike[i] - lf
            v = smile_total_vol(m, tau[i], level[i], mscale[i], event_var[i], skew, curvature,
                                floor, cap)
            d1 = 0.5 * v - m / v
            acc += wq[i] * math.exp(-0.5 * d1 * d1) / v
        out[j] = acc


def gex_profile(
    book: OptionBook,
    surface: IVSurface,
    spot_grid: np.ndarray,
    t_seconds: float | None = None,
    rate_cc: float = 0.0,
    holder: str | None = None,
) -> np.ndarray:
    """Dealer gamma in $ per 1% move at each spot level of a grid (the GEX profile).

    The surface is held fixed (same ATM level, events, demand premium and clock); at each grid
    level ``F`` the vols are recomputed with the surface's smile centred on that ``F`` (sticky
    moneyness).

    Args:
        book: the open interest.
        surface: implied-vol surface (not changed).
        spot_grid: forward levels (index points), shape ``(m,)``.
        t_seconds: clock (default: ``surface.t_seconds``).
        rate_cc: continuously-compounded discount rate per year.
        holder: holder class (default: the book's dealer class).

    Returns:
        ``gamma_usd_per_pct`` at each grid level, shape ``(m,)``. Divide by
        ``F**2 * 0.01 * 100 / 2`` to get ES contracts per index point.
    """
    t = surface.t_seconds if t_seconds is None else t_seconds
    pos = live_positions(book, t, holder)
    return gex_profile_of(pos, surface, spot_grid, t, rate_cc)


def gex_profile_of(
    pos: LivePositions,
    surface: IVSurface,
    spot_grid: np.ndarray,
    t_seconds: float | None = None,
    rate_cc: float = 0.0,
) -> np.ndarray:
    """:func:`gex_profile` for given positions (e.g. from :func:`live_positions`)."""
    t = surface.t_seconds if t_seconds is None else t_seconds
    grid = np.ascontiguousarray(spot_grid, dtype=np.float64)
    if grid.ndim != 1 or not np.all(grid > 0.0):
        raise ValueError("spot_grid must be a 1-d array of positive index levels")
    tm = surface.terms(pos.tau_yrs, t)
    p = surface.params
    wq = pos.qty * np.exp(-rate_cc * pos.tau_yrs) * _INV_SQRT_2PI
    acc = np.empty(grid.shape[0])
    _gex_fill(np.log(grid), np.log(pos.strike), pos.tau_yrs, wq, tm.level, tm.mscale,
              tm.event_var, p.skew, p.curvature, p.sigma_floor_ann, p.sigma_cap_ann, acc)
    # gamma_i = wq_i phi / (F v): $ per 1% = sum gamma * F^2 * 0.01 * 100 = acc * F * 1.0
    return acc * grid * (_PCT * SPX_MULTIPLIER_USD)


def gamma_flip_levels(spot_grid: np.ndarray, gex: np.ndarray) -> np.ndarray:
    """Every level where the GEX profile changes sign, by linear interpolation (ascending grid).

    A grid point where ``gex`` is exactly 0 counts when its neighbours have opposite signs.
    """
    x = np.asarray(spot_grid, dtype=np.float64)
    g = np.asarray(gex, dtype=np.float64)
    if x.shape != g.shape or x.ndim != 1:
        raise ValueError("spot_grid and gex must be 1-d arrays of the same length")
    levels = []
    for j in range(x.shape[0] - 1):
        a, b = g[j], g[j + 1]
        if a * b < 0.0:
            levels.append(x[j] - a * (x[j + 1] - x[j]) / (b - a))
        elif a == 0.0 and 0 < j and g[j - 1] * b < 0.0:
            levels.append(x[j])
    return np.asarray(levels)


def gamma_flip(spot_grid: np.ndarray, gex: np.ndarray, near: float | None = None) -> float | None:
    """The gamma-flip level: where dealer gamma crosses zero (linear interpolation).

    Args:
        spot_grid: ascending forward levels (index points).
        gex: dealer gamma at those levels (any unit), e.g. from :func:`gex_profile`.
        near: if several crossings, return the one closest to this level (e.g. the current
            spot); default the lowest.

    Returns:
        The level in index points, or None if the profile does not cross zero on the grid.
    """
    levels = gamma_flip_levels(spot_grid, gex)
    if levels.shape[0] == 0:
        return None
    if near is None:
        return float(levels[0])
    return float(levels[np.argmin(np.abs(levels - near))])
