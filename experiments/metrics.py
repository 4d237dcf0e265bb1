"""Summary metrics of one simulated day, computed from its time series (index points, %, contracts)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MINUTES_PER_YEAR = 390.0 * 252.0


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
