"""Summary metrics of one simulated day, computed from its time series (index points, %, contracts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from market.units import OPEN_ET_S, SESSION_SECONDS, TRADING_DAYS_PER_YEAR

MINUTES_PER_YEAR = SESSION_SECONDS / 60.0 * TRADING_DAYS_PER_YEAR


def one_minute_returns(ts: pd.DataFrame) -> np.ndarray:
    """Log returns of the mid over 1-minute steps of the regular session (t >= 0)."""
    day = ts[ts["t"] >= 0.0]
    if day.empty:
        return np.empty(0)
    grid = np.arange(0.0, day["t"].iloc[-1] + 1e-9, 60.0)
    mids = np.interp(grid, day["t"].to_numpy(), day["mid"].to_numpy())
    return np.diff(np.log(mids))


def _autocorr(x: np.ndarray, lag: int) -> float:
    if len(x) <= lag + 2 or np.std(x[:-lag]) == 0 or np.std(x[lag:]) == 0:
        return math.nan
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


def return_stats(ts: pd.DataFrame) -> dict[str, float]:
    """Stylized facts of 1-minute returns: vol, excess kurtosis, autocorrelation of r and |r|."""
    r = one_minute_returns(ts)
    if len(r) < 10:
        return {"realized_vol": math.nan, "ret_1m_kurtosis": math.nan, "ret_1m_ac1": math.nan,
                "abs_ret_1m_ac1": math.nan, "abs_ret_1m_ac5": math.nan}  # fmt: skip
    centred = r - r.mean()
    kurt = float((centred**4).mean() / (centred**2).mean() ** 2 - 3.0) if centred.std() > 0 else math.nan
    return {
        "realized_vol": float(r.std(ddof=1) * math.sqrt(MINUTES_PER_YEAR)),
        "ret_1m_kurtosis": kurt,
        "ret_1m_ac1": _autocorr(r, 1),
        "abs_ret_1m_ac1": _autocorr(np.abs(r), 1),
        "abs_ret_1m_ac5": _autocorr(np.abs(r), 5),
    }


def price_path_stats(ts: pd.DataFrame, prev_close: float) -> dict[str, float]:
    """Open, high, low, close (index points) and the day's shape in % of the prior close."""
    day = ts[ts["t"] >= 0.0]
    mid = day["mid"].to_numpy()
    t = day["t"].to_numpy()
    i_high = int(np.argmax(mid))
    i_low = int(np.argmin(mid))
    running_high = np.maximum.accumulate(mid)
    drawdown = (running_high - mid) / running_high
    i_dd = int(np.argmax(drawdown))
    return {
        "prev_close": prev_close,
        "open": float(mid[0]),
        "high": float(mid[i_high]),
        "low": float(mid[i_low]),
        "close": float(mid[-1]),
        "open_return_pct": 100.0 * (mid[0] / prev_close - 1.0),
        "high_return_pct": 100.0 * (mid[i_high] / prev_close - 1.0),
        "close_return_pct": 100.0 * (mid[-1] / prev_close - 1.0),
        "range_pct": 100.0 * (mid[i_high] - mid[i_low]) / prev_close,
        "max_drawdown_pct": 100.0 * float(drawdown[i_dd]),
        "high_time_s": float(t[i_high]),
        "low_time_s": float(t[i_low]),
        "drawdown_low_time_s": float(t[i_dd]),
    }


def liquidity_stats(ts: pd.DataFrame, tick_points: float) -> dict[str, float]:
    """Share of samples with a one-tick spread; depth within the window (mean and variation)."""
    day = ts[ts["t"] >= 0.0]
    spread_ticks = np.round(day["spread"].to_numpy() / tick_points)
    depth = 0.5 * (day["depth_bid"].to_numpy() + day["depth_ask"].to_numpy())
    return {
        "spread_1tick_share": float(np.mean(spread_ticks == 1)),
        "depth_mean": float(depth.mean()),
        "depth_cv": float(depth.std() / depth.mean()) if depth.mean() > 0 else math.nan,
    }


def flow_stats(ts: pd.DataFrame, groups: tuple[str, ...]) -> dict[str, float]:
    """Each class's net futures flow over the day (contracts; + bought)."""
    out = {}
    for g in groups:
        col = f"flow_{g}"
        out[f"net_flow_{g}"] = float(ts[col].iloc[-1] - ts[col].iloc[0]) if col in ts else 0.0
    return out


def fall_flows(ts: pd.DataFrame, groups: tuple[str, ...]) -> dict[str, float]:
    """Net flow of each class from the day's high to the close (contracts; + bought)."""
    day = ts[ts["t"] >= 0.0].reset_index(drop=True)
    i_high = int(day["mid"].to_numpy().argmax())
    out = {}
    for g in groups:
        col = f"flow_{g}"
        out[f"fall_flow_{g}"] = float(day[col].iloc[-1] - day[col].iloc[i_high]) if col in day else 0.0
    if "dealer_gamma" in day:
        out["fall_dealer_gamma_mean"] = float(day["dealer_gamma"].iloc[i_high:].mean())
    return out


OPEN_ET_MIN = int(OPEN_ET_S) // 60
"""The regular session opens at 09:30 ET (minutes after midnight); ``t`` = 0 there."""
STEEP_WINDOW_S = 1800.0
"""Window of :func:`path_shape_stats`'s ``steepest_30min_share`` (seconds)."""


def et_clock(t_s: float, nearest: bool = False) -> str:
    """ET wall-clock ``"HH:MM"`` of ``t_s`` seconds from the 09:30 open; ``""`` for NaN.

    Truncated to the minute (the summary's ``high_time_et``), or rounded to the nearest minute with
    ``nearest=True`` (figure ticks, the page's clock, the run report).
    """
    if not math.isfinite(t_s):
        return ""
    minutes = int(round(t_s / 60.0)) if nearest else int(math.floor(t_s / 60.0 + 1e-9))
    minutes += OPEN_ET_MIN
    return f"{(minutes // 60) % 24:02d}:{minutes % 60:02d}"


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den != 0.0 else math.nan


def max_drop_within(t: np.ndarray, x: np.ndarray, window_s: float) -> float:
    """Largest fall ``x[i] - x[j]`` with ``i <= j`` and ``t[j] - t[i] <= window_s`` (>= 0, units of x).

    ``t`` must be increasing (seconds).
    """
    best = 0.0
    start = 0
    for j in range(len(x)):
        while t[j] - t[start] > window_s + 1e-9:
            start += 1
        best = max(best, float(x[start : j + 1].max() - x[j]))
    return best


def path_shape_stats(ts: pd.DataFrame) -> dict[str, float | str]:
    """The shape of the regular session's mid path (DOMAIN.md, "The shape of the day").

    Returns:
        ``high_time_et``, ``low_time_et``: ET clock ``"HH:MM"`` of the day's high and low (first
        occurrence; ``high_time_s``/``low_time_s`` in :func:`price_path_stats` are the same in
        seconds from the open).
        ``close_location``: (close - low) / (high - low), in [0, 1]: 0 = closed at the low
        (NaN on a flat day).
        ``fall_low``, ``fall_low_time_s``: the lowest mid from the day's high on (index points) and
        when it printed (seconds from the open); it equals the day's low when the low comes after
        the high.
        ``rebound_share``: (close - fall_low) / (high - fall_low), in [0, 1]: the share of the fall
        from the high that was won back by the close (0 = closed at the post-high low; NaN if the
        high is the last sample).
        ``fall_duration_min``: minutes from the high to ``fall_low`` (>= 0).
        ``steepest_30min_share``: the largest drop of the mid over any 30-minute window between the
        high and the close, divided by (high - close) (dimensionless; NaN if high == close). Small
        for a grind (a 5-hour straight-line fall gives about 0.1), near 1 for a 30-minute crash. It
        can exceed 1 when the day rebounds after its low (a V-shaped day: the window's drop is
        larger than the net high-to-close fall).
    """
    day = ts[ts["t"] >= 0.0]
    mid = day["mid"].to_numpy(dtype=float)
    t = day["t"].to_numpy(dtype=float)
    i_high = int(np.argmax(mid))
    i_low = int(np.argmin(mid))
    high, low, close = float(mid[i_high]), float(mid[i_low]), float(mid[-1])
    i_fall = i_high + int(np.argmin(mid[i_high:]))
    fall_low = float(mid[i_fall])
    steepest = max_drop_within(t[i_high:], mid[i_high:], STEEP_WINDOW_S)
    return {
        "high_time_et": et_clock(float(t[i_high])),
        "low_time_et": et_clock(float(t[i_low])),
        "close_location": _ratio(close - low, high - low),
        "fall_low": fall_low,
        "fall_low_time_s": float(t[i_fall]),
        "rebound_share": _ratio(close - fall_low, high - fall_low),
        "fall_duration_min": float(t[i_fall] - t[i_high]) / 60.0,
        "steepest_30min_share": _ratio(steepest, high - close),
    }


SPLIT_FLOW_COLUMNS = (
    "dealer_flow_gamma",
    "dealer_flow_vanna",
    "dealer_flow_charm",
    "dealer_flow_oi",
    "dealer_flow_other",
    "dealer_flow_target",
    "cta_flow_signal",
    "cta_flow_vol",
)
"""Cumulative split-flow columns of the time series (contracts, + = buy)."""


def fall_split_flows(ts: pd.DataFrame) -> dict[str, float]:
    """The dealers' hedge need by greek and the CTAs' target changes by cause during the fall.

    Each ``fall_<column>`` of :data:`SPLIT_FLOW_COLUMNS` is the column's change from the sample of
    the day's high to the sample of ``fall_low`` (the lowest mid after the high; see
    :func:`path_shape_stats`), in ES contracts (+ = buy; NaN if the column is missing).
    ``fall_dealer_flow_*`` is the dealer book's hedge *need* (its target change), not what the
    dealers executed (``fall_flow_dealers``, to the close).
    """
    day = ts[ts["t"] >= 0.0].reset_index(drop=True)
    mid = day["mid"].to_numpy(dtype=float)
    i_high = int(np.argmax(mid))
    i_fall = i_high + int(np.argmin(mid[i_high:]))
    return {
        f"fall_{col}": float(day[col].iloc[i_fall] - day[col].iloc[i_high]) if col in day else math.nan
        for col in SPLIT_FLOW_COLUMNS
    }
