"""The gamma regime on the calm day (issue #12 B): the dealers' hedging must damp or amplify.

``calm_gamma`` gives the dealers long at-the-money straddles (~53 contracts per point) and fast
re-hedging at 10% of the volume; over 20 full days (``benchmarks/gamma_regime.py``, seeds 1-20) long
gamma lowers 1-minute vol on every seed (median ratio ~0.44) and makes returns revert (lag-1
autocorrelation -0.13), while short gamma raises vol (ratio ~1.9) and makes them trend (+0.17, positive
on 20 of 20 days). Here: a few seeds, same seeds for the three cases (two-hour mornings for the vol,
full days for the autocorrelation).
"""

from __future__ import annotations

import math

import numpy as np

from experiments import metrics
from experiments.config import load_scenario
from experiments.model import CascadeModel

MORNING = ("market.session_end_s=7200",)
SHORT = ("options.positions[0].customer_qty=1800", "options.positions[1].customer_qty=1800")
NO_DEALERS = ("dealers.enabled=false",)
SEEDS = (1, 2, 3)


def _one_minute_returns(
    overrides: tuple[str, ...], seed: int, session: tuple[str, ...] = MORNING
) -> np.ndarray:
    model = CascadeModel(load_scenario("calm_gamma", session + overrides), seed)
    model.run()
    return metrics.one_minute_returns(model.timeseries())


def _one_minute_vol(overrides: tuple[str, ...], seed: int) -> float:
    r = _one_minute_returns(overrides, seed)
    return float(r.std(ddof=1) * math.sqrt(390 * 252))


def _lag1_autocorrelation(overrides: tuple[str, ...], seed: int) -> float:
    r = _one_minute_returns(overrides, seed, session=())  # full days: ~390 returns, not 120
    return float(np.corrcoef(r[:-1], r[1:])[0, 1])


def test_calm_gamma_book_is_long_gamma_and_flips_sign():
    long = CascadeModel(load_scenario("calm_gamma", MORNING), 1)
    short = CascadeModel(load_scenario("calm_gamma", MORNING + SHORT), 1)
    price = long.config.prev_close_points
    g_long = long.options.exposures(price, 0.0).gamma_es_per_point
    g_short = short.options.exposures(price, 0.0).gamma_es_per_point
    assert g_long > 5.0  # contracts per point: large enough to matter against the book's depth
    assert g_short == -g_long


def test_long_gamma_hedging_lowers_one_minute_vol_below_no_dealers_and_short_gamma():
    long = np.array([_one_minute_vol((), s) for s in SEEDS])
    none = np.array([_one_minute_vol(NO_DEALERS, s) for s in SEEDS])
    short = np.array([_one_minute_vol(SHORT, s) for s in SEEDS])
    assert (long < none).all()
    assert np.median(long / none) < 0.85
    assert np.median(short) > np.median(long)  # the same book flipped: hedging no longer damps


def test_short_gamma_hedging_makes_one_minute_returns_trend_and_long_gamma_revert():
    # full days, seeds 1-6 (background activity_vol 0.8): short gamma +0.03..+0.32, no dealers
    # -0.49..-0.02, long gamma -0.26..-0.09; two-hour mornings were too short to tell the signs apart
    seeds = range(1, 7)
    short = np.array([_lag1_autocorrelation(SHORT, s) for s in seeds])
    none = np.array([_lag1_autocorrelation(NO_DEALERS, s) for s in seeds])
    long = np.array([_lag1_autocorrelation((), s) for s in seeds])
    assert np.median(short) > 0.1
    assert np.median(short - none) > 0.1  # paired: the same background stream
    assert (long < 0).all() and np.median(long - none) < 0  # paired: reverts more than without dealers
