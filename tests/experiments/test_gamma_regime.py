"""The gamma regime on the calm day (issue #12 B): the dealers' hedging must damp or amplify.

``calm_gamma`` gives the dealers long at-the-money straddles and fast re-hedging; over 20 full days
(``benchmarks/gamma_regime.py``) long gamma lowers 1-minute vol on every seed (median ratio ~0.6)
and short gamma raises it in the median (ratio ~1.2, but on only 11 of 20 seeds, so that sign is
not asserted here). Here: two-hour mornings on a few seeds, same seeds for the three cases.
"""

from __future__ import annotations

import math

import numpy as np

from experiments import metrics
from experiments.config import load_scenario
from experiments.model import CascadeModel

MORNING = ("market.session_end_s=7200",)
SHORT = ("options.positions[0].customer_qty=300", "options.positions[1].customer_qty=300")
NO_DEALERS = ("dealers.enabled=false",)
SEEDS = (1, 2, 3)


def _one_minute_vol(overrides: tuple[str, ...], seed: int) -> float:
    model = CascadeModel(load_scenario("calm_gamma", MORNING + overrides), seed)
    model.run()
    r = metrics.one_minute_returns(model.timeseries())
    return float(r.std(ddof=1) * math.sqrt(390 * 252))


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
