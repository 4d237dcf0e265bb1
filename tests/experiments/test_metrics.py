"""Summary metrics of one day (experiments.metrics) on scripted paths with known answers."""

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


def test_fall_split_flows_run_from_the_high_to_the_low_after_it():
    ts = _day([0, 3600, 18000, 23400], [6735, 6768, 6538, 6560])
    t = ts["t"].to_numpy()
    ts["dealer_flow_gamma"] = -0.5 * t  # changes by -0.5 per second
    ts["cta_flow_signal"] = np.where(t <= 3600, 0.0, -100.0)  # a step just after the high: counted
    out = metrics.fall_split_flows(ts)
    assert out["fall_dealer_flow_gamma"] == pytest.approx(-0.5 * (18000 - 3600))
    assert out["fall_cta_flow_signal"] == -100.0
    assert math.isnan(out["fall_dealer_flow_vanna"])  # column missing: not measured
    assert set(out) == {f"fall_{c}" for c in metrics.SPLIT_FLOW_COLUMNS}


# ---- the summary metrics of runner.py: returns, path, liquidity and flows ---------------------------


def _minute_frame(mids, start: float = 0.0, **cols) -> pd.DataFrame:
    t = start + 60.0 * np.arange(len(mids))
    return pd.DataFrame({"t": t, "mid": np.asarray(mids, dtype=float), **cols})


def test_one_minute_returns_interpolate_on_the_minute_grid_and_skip_the_premarket():
    ts = pd.DataFrame({"t": [-600.0, 0.0, 30.0, 60.0, 120.0], "mid": [1.0, 100.0, 150.0, 110.0, 121.0]})
    r = metrics.one_minute_returns(ts)
    np.testing.assert_allclose(r, [math.log(1.1), math.log(1.1)])
    assert metrics.one_minute_returns(ts[ts["t"] < 0]).size == 0


def test_return_stats_on_known_paths():
    flat = metrics.return_stats(_minute_frame([100.0] * 30))
    assert flat["realized_vol"] == 0.0
    assert math.isnan(flat["ret_1m_kurtosis"]) and math.isnan(flat["ret_1m_ac1"])
    short = metrics.return_stats(_minute_frame([100.0, 101.0, 100.0]))
    assert all(math.isnan(v) for v in short.values())
    zigzag = metrics.return_stats(_minute_frame(100.0 * np.exp(0.001 * (np.arange(41) % 2))))
    assert zigzag["realized_vol"] == pytest.approx(0.001 * math.sqrt(390 * 252) * math.sqrt(40 / 39))
    assert zigzag["ret_1m_ac1"] == pytest.approx(-1.0)  # up, down, up, ...
    assert zigzag["ret_1m_kurtosis"] == pytest.approx(-2.0)  # two-point distribution


def test_price_path_stats_on_a_rise_then_fall():
    ts = _minute_frame([100.0, 105.0, 110.0, 99.0, 102.0], start=-60.0)  # t = -60 is the pre-market
    s = metrics.price_path_stats(ts, prev_close=100.0)
    assert (s["open"], s["high"], s["low"], s["close"]) == (105.0, 110.0, 99.0, 102.0)
    assert s["open_return_pct"] == pytest.approx(5.0)
    assert s["high_return_pct"] == pytest.approx(10.0)
    assert s["close_return_pct"] == pytest.approx(2.0)
    assert s["range_pct"] == pytest.approx(11.0)
    assert s["max_drawdown_pct"] == pytest.approx(10.0)  # 110 -> 99
    assert (s["high_time_s"], s["low_time_s"], s["drawdown_low_time_s"]) == (60.0, 120.0, 120.0)


def test_liquidity_stats_count_one_tick_spreads_and_depth():
    depth = [0, 100, 200, 100, 200]
    ts = pd.DataFrame({"t": [-30.0, 0.0, 30.0, 60.0, 90.0], "spread": [9.0, 0.25, 0.25, 0.5, 0.25],
                       "depth_bid": depth, "depth_ask": depth})  # fmt: skip
    s = metrics.liquidity_stats(ts, tick_points=0.25)
    assert s["spread_1tick_share"] == pytest.approx(0.75)
    assert s["depth_mean"] == pytest.approx(150.0)
    assert s["depth_cv"] == pytest.approx(50.0 / 150.0)
    empty_book = metrics.liquidity_stats(ts.assign(depth_bid=0, depth_ask=0), 0.25)
    assert math.isnan(empty_book["depth_cv"])


def test_flow_stats_and_fall_flows():
    ts = _minute_frame(
        [100.0, 103.0, 101.0, 98.0], start=-60.0, flow_cta=[5.0, 7.0, 4.0, -3.0],
        flow_dealers=[0.0, 0.0, -10.0, -25.0], dealer_gamma=[1.0, 2.0, -4.0, -6.0],
    )  # fmt: skip
    assert metrics.flow_stats(ts, ("cta", "dealers", "hedgers")) == {
        "net_flow_cta": -8.0, "net_flow_dealers": -25.0, "net_flow_hedgers": 0.0}  # fmt: skip
    fall = metrics.fall_flows(ts, ("cta", "dealers", "hedgers"))  # from the high at t = 0 to the close
    assert fall["fall_flow_cta"] == -10.0 and fall["fall_flow_dealers"] == -25.0
    assert fall["fall_flow_hedgers"] == 0.0
    assert fall["fall_dealer_gamma_mean"] == pytest.approx(-8.0 / 3.0)


def test_et_clock_nearest_matches_the_figures_old_formula():
    """``nearest=True`` is what plots.clock_label and the run report computed by hand before."""
    for t in [-5400.0, -30.0, 0.0, 29.9, 30.0, 90.0, 1799.6, 23400.0, 86400.0 - 34200.0 + 15.0]:
        minutes = int(round((34200 + t) / 60.0)) % (24 * 60)
        assert metrics.et_clock(t, nearest=True) == f"{minutes // 60:02d}:{minutes % 60:02d}"
    assert metrics.et_clock(29.9, nearest=True) == "09:30" and metrics.et_clock(30.1, nearest=True) == "09:31"
