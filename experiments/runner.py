"""Run one scenario day and write its outputs (the run-directory contract).

``DIR/summary.json``, ``DIR/timeseries.parquet``, ``DIR/trades.parquet``, ``DIR/scenario.toml``,
plus ``DIR/depth.parquet`` (top-20 levels per side at each sample), ``DIR/gex.parquet`` (dealer
gamma profile at the open) and ``DIR/option_trades.parquet``. Same scenario and seed give the same
bytes in every parquet file (run time is only in ``summary.json``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd

from experiments import metrics
from experiments.config import ScenarioConfig, load_scenario, scenario_toml
from experiments.model import FLOW_GROUPS, CascadeModel
from experiments.outputs import check_run_out, commit_dir, temp_sibling

try:
    VERSION = version("hedging-cascade")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0+unknown"


@dataclass
class RunResult:
    """Everything one run produced."""

    summary: dict
    timeseries: pd.DataFrame
    trades: pd.DataFrame
    depth: pd.DataFrame
    gex: pd.DataFrame
    option_trades: pd.DataFrame
    config: ScenarioConfig


def run_scenario(config: ScenarioConfig, seed: int = 0) -> RunResult:
    """Build the model, run the day, compute the summary."""
    t0 = perf_counter()
    model = CascadeModel(config, seed)
    gex = _gex_at_start(model)
    model.run()
    ts = model.timeseries()
    ex = model.exchange
    summary: dict = {"scenario": config.name, "seed": int(seed), "version": VERSION}
    summary.update(metrics.price_path_stats(ts, config.prev_close_points))
    summary.update(metrics.path_shape_stats(ts))
    summary.update(metrics.return_stats(ts))
    summary.update(metrics.liquidity_stats(ts, ex.tick))
    summary.update(metrics.flow_stats(ts, FLOW_GROUPS))
    summary.update(metrics.fall_flows(ts, FLOW_GROUPS))
    summary.update(metrics.fall_split_flows(ts))
    summary.update(
        {
            "n_messages": ex.n_messages,
            "n_trades": ex.book.n_trades,
            "volume": ex.cum_volume,
            "n_agents": len(model.agents),
            "n_option_trades": len(model.options.trades),
            "dip_capital_deployed_usd": float(ts["dip_capital_deployed"].iloc[-1]),
            "dip_capital_deployed_share": _dip_share(ts, config),
            "letf_unfilled_contracts": _letf_unfilled(model),
            "runtime_s": perf_counter() - t0,
        }
    )
    summary["markers"] = _markers(model, gex)
    return RunResult(
        summary=_jsonable(summary),
        timeseries=ts,
        trades=ex.trades(),
        depth=model.depth_frame(),
        gex=gex,
        option_trades=model.options.trades_frame(),
        config=config,
    )


def _dip_share(ts: pd.DataFrame, config: ScenarioConfig) -> float:
    """Dip-buy capital deployed by the close as a share of ``dip_buyers.capital_usd`` (NaN if none)."""
    capital = config.dip_buyers.capital_usd if config.dip_buyers.enabled else 0.0
    return float(ts["dip_capital_deployed"].iloc[-1]) / capital + 0.0 if capital > 0 else math.nan


def _letf_unfilled(model: CascadeModel) -> float:
    """The leveraged ETFs' rebalance left undone at the close (signed contracts; NaN without funds).

    Valued at the closing price; on the real day it would go to the closing auction, which the model
    does not have.
    """
    funds = model.agent_groups["letf"]
    return float(sum(f.unfilled_contracts() for f in funds)) if funds else math.nan


def _gex_at_start(model: CascadeModel) -> pd.DataFrame:
    curve = model.gex_curve()
    if curve is None:
        return pd.DataFrame({"spot": [], "gex_usd_per_pct": []})
    grid, gex = curve
    return pd.DataFrame({"spot": grid, "gex_usd_per_pct": gex})


def _markers(model: CascadeModel, gex: pd.DataFrame) -> dict:
    curve = (gex["spot"].to_numpy(), gex["gex_usd_per_pct"].to_numpy()) if len(gex) else None
    triggers, flip = model.level_markers(curve)
    return {
        "events": model.markers,
        "supports": list(model.config.levels.supports),
        "cta_triggers": triggers,
        "gamma_flip": flip,
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return None if not math.isfinite(float(obj)) else float(obj)
    return obj


def write_run(result: RunResult, out_dir: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Write the run directory; return its path.

    The files are written into a hidden temporary sibling that is then renamed into place
    (:mod:`experiments.outputs`), so an interrupted write never leaves a partial run folder.
    ``out_dir`` must be absent, empty or a previous run's folder unless ``overwrite``.

    Raises:
        OutputError: for an ``out_dir`` that cannot be used (checked before anything is written).
    """
    out = check_run_out(out_dir, overwrite)
    tmp = temp_sibling(out)
    try:
        _write_files(result, tmp)
        commit_dir(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_files(result: RunResult, out: Path) -> None:
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    (out / "scenario.toml").write_text(scenario_toml(result.config))
    for name, frame in (
        ("timeseries", result.timeseries),
        ("trades", result.trades),
        ("depth", result.depth),
        ("gex", result.gex),
        ("option_trades", result.option_trades),
    ):
        frame.to_parquet(out / f"{name}.parquet", index=False, engine="pyarrow")


def one_line(summary: dict) -> str:
    """A one-line human summary of a run."""
    s = summary
    high_et = metrics.et_clock(s["high_time_s"], nearest=True)
    return (
        f"{s['scenario']} seed {s['seed']}: open {s['open']:.2f} ({s['open_return_pct']:+.2f}%), "
        f"high {s['high']:.2f} at {high_et}, low {s['low']:.2f}, close {s['close']:.2f} "
        f"({s['close_return_pct']:+.2f}%), max drawdown {s['max_drawdown_pct']:.2f}%, "
        f"{s['n_messages']:,} messages in {s['runtime_s']:.1f} s"
    )


def run_summary(
    scenario: str, seed: int, overrides: tuple[str, ...] = (), series_path: str | None = None
) -> dict:
    """One run for sweeps: the flat summary (markers dropped); optionally writes the time series."""
    result = run_scenario(load_scenario(scenario, overrides), seed)
    if series_path is not None:
        Path(series_path).parent.mkdir(parents=True, exist_ok=True)
        result.timeseries.to_parquet(series_path, index=False)
    return {k: v for k, v in result.summary.items() if k != "markers"}
