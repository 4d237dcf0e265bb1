"""Path-shape metrics of one day (experiments.metrics.path_shape_stats) on scripted mid paths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments import metrics


def _day(knots_t: list[float], knots_mid: list[float], dt: float = 30.0) -> pd.DataFrame:
    """A regular-session series sampled every ``dt`` s, linear between knots (plus a pre-market row)."""
    t = np.arange(0.0, 23400.0 + 1e-9, dt)
    mid = np.interp(t, knots_t, knots_mid)
    return pd.DataFrame({"t": np.r_[-600.0, t], "mid": np.r_[9999.0, mid]})


def test_grind_from_a_late_morning_high_into_the_close():
    # open 6735, high 6768 at 10:30 ET (t = 3600), a straight line down to 6538 at the close
    ts = _day([0, 3600, 23400], [6735, 6768, 6538])
    s = metrics.path_shape_stats(ts)
    assert s["high_time_et"] == "10:30" and s["low_time_et"] == "16:00"
    assert s["close_location"] == 0.0 and s["rebound_share"] == 0.0
    assert s["fall_low"] == 6538 and s["fall_low_time_s"] == 23400
    assert s["fall_duration_min"] == pytest.approx(330.0)
    # a constant-speed fall of 230 points over 19,800 s: 1800 s of it is 1800/19800 of the fall
    assert s["steepest_30min_share"] == pytest.approx(1800 / 19800)


def test_flash_crash_that_rebounds_is_v_shaped():
    # high 6768 at 10:00, crash to 6600 by 10:15, rebound to 6740 at 11:00, flat to the close
    ts = _day([0, 1800, 2700, 5400, 23400], [6735, 6768, 6600, 6740, 6740])
    s = metrics.path_shape_stats(ts)
    assert s["high_time_et"] == "10:00" and s["low_time_et"] == "10:15"
    assert s["fall_duration_min"] == pytest.approx(15.0)
    assert s["close_location"] == pytest.approx((6740 - 6600) / (6768 - 6600))
    assert s["rebound_share"] == pytest.approx((6740 - 6600) / (6768 - 6600))
    # the 168-point crash is six times the 28-point high-to-close fall: the share exceeds 1
    assert s["steepest_30min_share"] == pytest.approx(168 / 28)


def test_low_before_the_high_gives_the_post_high_low():
    # dips to 6600 at 10:00, then rallies to a 6800 high at 14:00, closes 6780 (low of the rest 6780)
    ts = _day([0, 1800, 16200, 23400], [6700, 6600, 6800, 6780])
    s = metrics.path_shape_stats(ts)
    assert s["low_time_et"] == "10:00" and s["high_time_et"] == "14:00"
    assert s["fall_low"] == 6780 and s["fall_low_time_s"] == 23400
    assert s["rebound_share"] == 0.0
    assert s["close_location"] == pytest.approx(180 / 200)


def test_high_at_the_close_gives_nan_shares():
    ts = _day([0, 23400], [6700, 6800])
    s = metrics.path_shape_stats(ts)
    assert math.isnan(s["steepest_30min_share"]) and math.isnan(s["rebound_share"])
    assert s["close_location"] == 1.0 and s["fall_duration_min"] == 0.0


def test_et_clock_truncates_to_the_minute():
    assert metrics.et_clock(0.0) == "09:30"
    assert metrics.et_clock(59.9) == "09:30"
    assert metrics.et_clock(23400.0) == "16:00"
    assert metrics.et_clock(-3600.0) == "08:30"
    assert metrics.et_clock(math.nan) == ""


def test_max_drop_within_respects_the_window():
    t = np.array([0.0, 60.0, 120.0, 180.0])
    x = np.array([10.0, 8.0, 9.0, 5.0])
    assert metrics.max_drop_within(t, x, 60.0) == 4.0  # 9 -> 5
    assert metrics.max_drop_within(t, x, 180.0) == 5.0  # 10 -> 5
    assert metrics.max_drop_within(t, x[::-1].copy() * 0 + np.arange(4.0), 180.0) == 0.0  # rising
