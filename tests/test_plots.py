"""Tests of experiments.plots on small synthetic data matching the run/sweep/attribution contract."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from experiments import plots
from experiments.plots.panels import _grouped_labels
from experiments.plots.run_figures import _title

PREV_CLOSE = 6642.16
SUPPORTS = [6650.0, 6550.0]
CTA_TRIGGERS = [6725.0, 6600.0]
GAMMA_FLIP = 6700.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- synthetic data (the shapes of the 2025-11-20 day, not a simulation) ----------------------


def synthetic_path(t: np.ndarray, rng: np.random.Generator, depth_of_fall: float = 1.0) -> np.ndarray:
    """Mid in index points: +1.4% open, +1.9% high near 10:15, falling to about -1.56% at the close."""
    high_t = 2700.0
    up = 6735.0 + (6768.0 - 6735.0) * np.clip((t + 600) / (high_t + 600), 0, 1)
    frac = np.clip((t - high_t) / (23400 - high_t), 0, None)
    down = (6768.0 - 6538.76) * depth_of_fall * frac**1.3
    noise = np.cumsum(rng.normal(0, 0.8, t.size))
    return np.round((up - down + noise) * 4) / 4


def synthetic_timeseries(n: int = 401, seed: int = 1, switched_off: tuple[str, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.linspace(-600.0, 23400.0, n)
    mid = synthetic_path(t, rng)
    spread = np.full(n, 0.25)
    gamma = 4e9 * np.tanh((mid - GAMMA_FLIP) / 40.0)
    hedge = np.cumsum(np.diff(mid, prepend=mid[0]) * gamma / 1e9 * 20).round()
    cta = np.where(mid < 6725, -(6725 - mid) * 60, 0.0).round()
    dip = np.clip(np.cumsum(np.where(mid < 6600, 1.5e7, 0.0)), 0, 8e8)
    ts = pd.DataFrame({
        "t": t, "mid": mid, "last": mid + 0.125, "bid": mid - 0.125, "ask": mid + 0.125, "spread": spread,
        "volume": rng.integers(200, 3000, n), "depth_bid": rng.integers(300, 900, n) * (1 - t / 47000),
        "depth_ask": rng.integers(300, 900, n) * (1 - t / 47000),
        "iv_atm": 0.19 - 0.02 * np.exp(-((t - 1800) / 2500) ** 2) + 0.04 * np.clip((6700 - mid) / 200, 0, 1),
        "dealer_delta": -hedge, "dealer_gamma": gamma, "dealer_vanna": rng.normal(0, 50, n),
        "dealer_hedge": hedge, "cta_position": cta, "dip_capital_deployed": dip,
        "flow_dealers": hedge - hedge[0], "flow_cta": cta, "flow_hedgers": np.linspace(0, 300, n).round(),
        "flow_dip_buyers": (dip / (50 * mid)).round(), "flow_background": np.zeros(n),
    })
    others = [c for c in ts if c.startswith("flow_") and c != "flow_background"]
    ts["flow_background"] = -ts[others].sum(axis=1)
    for cls in switched_off:
        cols = {"cta": ["cta_position", "flow_cta"],
                "dip_buyers": ["dip_capital_deployed", "flow_dip_buyers"],
                "hedgers": ["flow_hedgers"], "dealers": ["dealer_gamma", "dealer_hedge", "flow_dealers"]}[cls]
        ts[cols] = np.nan if cls != "hedgers" else 0.0
    return ts


def synthetic_summary(ts: pd.DataFrame, seed: int = 1) -> dict:
    mid = ts["mid"].to_numpy()
    high = float(mid.max())
    return {
        "scenario": "nov20_2025", "seed": seed, "prev_close": PREV_CLOSE, "open": float(mid[10]),
        "high": high, "low": float(mid.min()), "close": float(mid[-1]),
        "close_return_pct": (mid[-1] / PREV_CLOSE - 1) * 100,
        "max_drawdown_pct": float(np.max(1 - mid / np.maximum.accumulate(mid)) * 100),
        "markers": {
            "events": [{"t": -3600.0, "label": "payrolls"}, {"t": 0.0, "label": "open: Nvidia priced in"},
                       {"t": 9000.0, "label": "Cook speech"}],
            "supports": SUPPORTS, "cta_triggers": CTA_TRIGGERS, "gamma_flip": GAMMA_FLIP,
        },
    }


def synthetic_trades(ts: pd.DataFrame, n: int = 3000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    time_s = np.sort(rng.uniform(ts["t"].min(), ts["t"].max(), n))
    price = np.interp(time_s, ts["t"], ts["mid"]) + rng.choice([-0.125, 0.125], n)
    return pd.DataFrame({"time_s": time_s, "price": price, "qty": rng.integers(1, 20, n),
                         "side": rng.choice([-1, 1], n), "taker_class": "background",
                         "maker_class": "background"})


def synthetic_depth(ts: pd.DataFrame, every: int = 5, levels: int = 20, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t, bid, ask in ts[["t", "bid", "ask"]].to_numpy()[::every]:
        thin = 1.0 - 0.7 * (t / 23400) if t > 0 else 1.0
        k = np.arange(levels)
        qty = np.maximum(1, (rng.poisson(40, levels) * thin * (1 + k / 10))).astype(int)
        rows.append(pd.DataFrame({"t": t, "price": bid - 0.25 * k, "side": 1, "qty": qty}))
        rows.append(pd.DataFrame({"t": t, "price": ask + 0.25 * k, "side": -1, "qty": qty[::-1]}))
    return pd.concat(rows, ignore_index=True)


def synthetic_gex() -> pd.DataFrame:
    spot = np.linspace(6300.0, 7000.0, 141)
    return pd.DataFrame({"spot": spot, "gex_usd_per_pct": 4e9 * np.tanh((spot - GAMMA_FLIP) / 60.0)})


def synthetic_runs(seeds: int = 6) -> pd.DataFrame:
    rows = []
    for capital in (0.0, 1e8, 1e9, 1e10):
        for scale in (0.5, 1.0):
            for seed in range(seeds):
                rng = np.random.default_rng([int(capital) % 9973, int(scale * 10), seed])
                fall = scale * (1.4 - 0.3 * math.log10(1 + capital / 1e8)) + rng.normal(0, 0.25)
                rows.append({"run_id": f"r{len(rows):03d}", "dip_buyers.capital_usd": capital,
                             "cta.scale": scale, "seed": seed, "status": "ok", "prev_close": PREV_CLOSE,
                             "close_return_pct": 1.9 - 3.4 * fall, "max_drawdown_pct": 3.4 * max(fall, 0.05)})
    rows.append({"run_id": "bad", "dip_buyers.capital_usd": 1e9, "cta.scale": 1.0, "seed": 99,
                 "status": "error: boom", "prev_close": PREV_CLOSE,
                 "close_return_pct": np.nan, "max_drawdown_pct": np.nan})
    return pd.DataFrame(rows)


def synthetic_attribution() -> pd.DataFrame:
    rows = []
    for metric, scale in (("max_drawdown_pct", 1.0), ("close_return_pct", -0.8)):
        for cls, mean in (("dealers", 1.4), ("cta", 0.9), ("hedgers", 0.3), ("dip_buyers", -0.7),
                          ("background", 0.1)):
            m = mean * scale
            rows.append({"class": cls, "metric": metric, "mean": m, "ci_low": m - 0.3, "ci_high": m + 0.3,
                         "n": 40})
    return pd.DataFrame(rows)


# --- directories ------------------------------------------------------------------------------


def write_run_dir(d: Path, depth: bool = True) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    ts = synthetic_timeseries()
    ts.to_parquet(d / "timeseries.parquet")
    (d / "summary.json").write_text(json.dumps(synthetic_summary(ts)))
    synthetic_trades(ts).to_parquet(d / "trades.parquet")
    if depth:
        synthetic_depth(ts).to_parquet(d / "depth.parquet")
    synthetic_gex().to_parquet(d / "gex.parquet")
    return d


def write_sweep_dir(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    runs = synthetic_runs()
    runs.to_parquet(d / "runs.parquet")
    (d / "sweep.json").write_text(json.dumps({"scenario": "nov20_2025", "grid": {
        "dip_buyers.capital_usd": [0.0, 1e8, 1e9, 1e10], "cta.scale": [0.5, 1.0]}}))
    (d / "series").mkdir(exist_ok=True)
    t = np.linspace(0.0, 23400.0, 100)
    for row in runs.itertuples():
        if row.status != "ok":
            continue
        rng = np.random.default_rng(row.Index)
        fall = (1.9 - row.close_return_pct) / 3.4
        series = pd.DataFrame({"t": t, "mid": synthetic_path(t, rng, fall)})
        series.to_parquet(d / "series" / f"{row.run_id}.parquet")
    return d


def write_attribution_dir(d: Path, seeds: int = 4) -> Path:
    """Like experiments.attribution: also a sweep folder (baseline + one knockout per class)."""
    d.mkdir(parents=True, exist_ok=True)
    synthetic_attribution().to_parquet(d / "attribution.parquet")
    marker = {"kind": "attribution", "title": "Flow attribution, test"}
    (d / "attribution.json").write_text(json.dumps(marker))
    classes = ["dealers", "cta", "hedgers", "dip_buyers"]
    flags = [f"{c}.enabled" for c in classes]
    (d / "sweep.json").write_text(json.dumps({"kind": "sweep", "parameters": flags}))
    (d / "series").mkdir(exist_ok=True)
    rows, t = [], np.linspace(0.0, 23400.0, 60)
    for point, off in enumerate([None, *classes]):
        for seed in range(seeds):
            run_id = f"p{point}s{seed}"
            row = {"run_id": run_id, "point": point, **{f: (False if f == f"{off}.enabled" else None)
                                                       for f in flags}}
            fall = 1.0 if off is None else 0.6
            row |= {"seed": seed, "status": "ok", "error": "", "prev_close": PREV_CLOSE,
                    "close_return_pct": 1.9 - 3.4 * fall, "max_drawdown_pct": 3.4 * fall}
            rows.append(row)
            path = synthetic_path(t, np.random.default_rng([point, seed]), fall)
            pd.DataFrame({"t": t, "mid": path}).to_parquet(d / "series" / f"{run_id}.parquet")
    pd.DataFrame(rows).to_parquet(d / "runs.parquet")
    return d


def assert_image_files(paths: list[Path], min_png_bytes: int = 15_000) -> None:
    for path in paths:
        assert path.is_file() and path.stat().st_size > 0, path
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC), path
            assert len(data) >= min_png_bytes, (path, len(data))
        elif path.suffix == ".svg":
            assert b"<svg" in data[:2000], path
            assert len(data) >= 5_000, (path, len(data))


# --- units and helpers ------------------------------------------------------------------------


def test_clock_labels_are_et_times():
    assert plots.clock_label(0) == "09:30"
    assert plots.clock_label(1800) == "10:00"
    assert plots.clock_label(23400) == "16:00"
    assert plots.clock_label(-3600) == "08:30"


def test_wilson_interval_known_values():
    lo, hi = plots.wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    lo, hi = plots.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(v) for v in plots.wilson_interval(0, 0))


def test_bootstrap_median_ci_is_seeded_and_brackets_the_median():
    values = np.random.default_rng(0).normal(3.0, 1.0, 200)
    a = plots.bootstrap_median_ci(values, np.random.default_rng(7))
    b = plots.bootstrap_median_ci(values, np.random.default_rng(7))
    assert a == b
    assert a[0] < np.median(values) < a[1]
    assert plots.bootstrap_median_ci([2.5], np.random.default_rng(0)) == (2.5, 2.5)


# --- figures ----------------------------------------------------------------------------------


def _hlines(ax) -> set[float]:
    out = set()
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size == 2 and y[0] == y[1]:
            out.add(float(y[0]))
    return out


def test_run_dashboard_panels_levels_and_clock_axis():
    ts = synthetic_timeseries()
    summary = synthetic_summary(ts)
    fig = plots.run_dashboard(ts, summary, trades=synthetic_trades(ts), depth=synthetic_depth(ts))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(plots.DASHBOARD_PANELS) + 1  # + the dealer hedge twin axis
    price = fig.axes[0]
    levels = _hlines(price)
    assert set(SUPPORTS) <= levels
    assert set(CTA_TRIGGERS) <= levels and GAMMA_FLIP in levels and PREV_CLOSE in levels
    assert "index points" in price.get_ylabel()
    assert any(isinstance(c, QuadMesh) for c in fig.axes[1].collections)
    bottom = fig.axes[len(plots.DASHBOARD_PANELS) - 1]
    assert bottom.xaxis.get_major_formatter()(1800.0) == "10:00"
    assert bottom.get_xlabel() == "time (ET)"
    assert "nov20_2025" in fig._suptitle.get_text() and "seed 1" in fig._suptitle.get_text()
    # the event before the window is named, not drawn
    assert "08:30 payrolls" in price.get_title(loc="left")
    vlines = {float(line.get_xdata()[0]) for line in price.get_lines() if np.ptp(line.get_xdata()) == 0}
    assert 9000.0 in vlines and -3600.0 not in vlines


def test_run_dashboard_with_classes_switched_off_and_no_depth():
    ts = synthetic_timeseries(switched_off=("cta", "dip_buyers", "hedgers"))
    fig = plots.run_dashboard(ts, synthetic_summary(ts))
    assert len(fig.axes) == len(plots.DASHBOARD_PANELS) + 1
    panels = dict(zip(plots.DASHBOARD_PANELS, fig.axes, strict=False))
    assert not [c for c in panels["depth"].collections if isinstance(c, QuadMesh)]
    assert any("no CTAs" in t.get_text() for t in panels["cta"].texts)
    assert any("no dip buying" in t.get_text() for t in panels["dip_buyers"].texts)
    flow_labels = {line.get_label() for line in panels["flows"].get_lines()}
    assert "option dealers" in flow_labels and "CTAs" not in flow_labels


def test_run_dashboard_rejects_frames_without_price():
    with pytest.raises(ValueError, match="mid"):
        plots.run_dashboard(pd.DataFrame({"t": [0.0, 60.0]}), {})


def test_gex_profile_marks_flip_and_levels():
    ts = synthetic_timeseries()
    fig = plots.gex_profile(synthetic_gex(), synthetic_summary(ts))
    ax = fig.axes[0]
    xs = {float(line.get_xdata()[0]) for line in ax.get_lines() if np.ptp(line.get_xdata()) == 0}
    assert {GAMMA_FLIP, PREV_CLOSE, *SUPPORTS, *CTA_TRIGGERS} <= xs
    assert "$bn per 1%" in ax.get_ylabel() and "index points" in ax.get_xlabel()


def test_fan_chart_long_and_wide_inputs_give_percent_of_prev_close():
    t = np.linspace(0, 23400, 50)
    long = pd.concat([pd.DataFrame({"t": t, "mid": PREV_CLOSE * (1 + k / 100), "seed": k}) for k in range(5)])
    wide = pd.DataFrame({f"run{k}": PREV_CLOSE * (1 - k / 100) for k in range(5)},
                        index=pd.Index(t, name="t"))
    fig = plots.fan_chart({"long": long, "wide": wide}, prev_close=PREV_CLOSE)
    medians = [line for line in fig.axes[0].get_lines() if line.get_gid() == "median"]
    assert np.allclose(medians[0].get_ydata(), 2.0) and np.allclose(medians[1].get_ydata(), -2.0)
    assert "%" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError):
        plots.fan_chart({})


def test_phase_diagram_log_x_and_wilson_bars():
    runs = synthetic_runs()
    fig = plots.phase_diagram(runs, "dip_buyers.capital_usd", close_below_pct=0.0)
    ax_p, ax_d = fig.axes
    assert ax_p.get_xscale() == "symlog"  # 0 included, positive values span 2 decades
    assert "1 failed run" in fig._suptitle.get_text()
    assert "$" in ax_p.get_xlabel() and "%" in ax_d.get_ylabel()
    linear = plots.phase_diagram(runs, "cta.scale")
    assert linear.axes[0].get_xscale() == "linear"
    positive = runs[runs["dip_buyers.capital_usd"] > 0]
    assert plots.phase_diagram(positive, "dip_buyers.capital_usd").axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="no column"):
        plots.phase_diagram(runs, "nope")


def test_waterfall_bars_and_whiskers():
    fig = plots.waterfall(synthetic_attribution())
    assert len(fig.axes) == 2
    assert "drawdown" in fig.axes[0].get_ylabel() and "close" in fig.axes[1].get_ylabel()
    bars = fig.axes[0].patches
    assert len(bars) == 6  # five classes + the sum
    assert bars[-1].get_height() == pytest.approx(1.4 + 0.9 + 0.3 - 0.7 + 0.1)


# --- plot_dir ---------------------------------------------------------------------------------


def test_plot_dir_run(tmp_path):
    d = write_run_dir(tmp_path / "run")
    written = plots.plot_dir(d)
    names = sorted(p.name for p in written)
    assert names == ["dashboard.png", "dashboard.svg", "gex.png", "gex.svg"]
    assert all(p.parent == d / "plots" for p in written)
    assert_image_files(written, min_png_bytes=60_000)


def test_plot_dir_sweep(tmp_path):
    d = write_sweep_dir(tmp_path / "sweep")
    written = plots.plot_dir(d, formats=("png",))
    names = sorted(p.name for p in written)
    assert names == ["fan.png", "phase_cta.scale.png", "phase_dip_buyers.capital_usd.png"]
    assert_image_files(written)


def test_plot_dir_attribution(tmp_path):
    d = write_attribution_dir(tmp_path / "attr")
    written = plots.plot_dir(d, formats=("png",))
    # an attribution folder is also a sweep folder: no phase diagrams over the on/off flags
    assert sorted(p.name for p in written) == ["fan.png", "waterfall.png"]
    assert_image_files(written)


def test_plot_dir_rejects_unknown_directories_and_formats(tmp_path):
    with pytest.raises(ValueError, match="not a run"):
        plots.plot_dir(tmp_path)
    with pytest.raises(ValueError, match="not a run"):
        plots.plot_dir(tmp_path / "missing")
    d = write_attribution_dir(tmp_path / "attr")
    with pytest.raises(ValueError, match="format"):
        plots.plot_dir(d, formats=("png", "bogus"))


def test_plots_module_does_not_import_pyplot():
    for path in Path(plots.__file__).parent.glob("*.py"):
        if path.name == "calibration.py":  # the calibration figures still use pyplot with Agg
            continue
        source = path.read_text()
        assert "import pyplot" not in source and "matplotlib.pyplot" not in source, path.name
        assert "matplotlib.use(" not in source, path.name


def test_run_dashboard_minimal_summary_short_window_and_crowded_events():
    ts = synthetic_timeseries(n=120).query("0 <= t <= 3600").reset_index(drop=True)
    events = [{"t": float(t), "label": f"headline {k}"} for k, t in enumerate((300, 360, 420, 480))]
    fig = plots.run_dashboard(ts, {"scenario": "calm", "markers": {"events": events, "gamma_flip": None}})
    assert len(fig.axes) == len(plots.DASHBOARD_PANELS) + 1
    bottom = fig.axes[len(plots.DASHBOARD_PANELS) - 1]
    ticks = [bottom.xaxis.get_major_formatter()(x) for x in bottom.get_xticks() if 0 <= x <= 3600]
    assert ticks[:3] == ["09:30", "09:35", "09:40"]
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert sum("headline" in text for text in labels) == 4
    fig.draw_without_rendering()  # layout and annotations resolve without error


def test_plot_dir_sweep_with_cli_grid_and_no_series(tmp_path):
    d = tmp_path / "sweep_cli"
    d.mkdir()
    synthetic_runs(seeds=3).to_parquet(d / "runs.parquet")
    (d / "sweep.json").write_text(json.dumps({"grid": ["dip_buyers.capital_usd=0,1e8,1e9,1e10"]}))
    written = plots.plot_dir(d, formats=("png",))
    assert [p.name for p in written] == ["phase_dip_buyers.capital_usd.png"]
    assert_image_files(written)


def test_phase_diagram_bool_text_and_continuous_parameters():
    runs = synthetic_runs(seeds=4)
    runs["cta.enabled"] = runs["cta.scale"] > 0.7
    fig = plots.phase_diagram(runs, "cta.enabled")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["False", "True"]
    runs["book"] = np.where(runs["cta.scale"] > 0.7, "short_puts", "long_calls")
    fig = plots.phase_diagram(runs, "book")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["long_calls", "short_puts"]
    rng = np.random.default_rng(5)
    lhs = pd.DataFrame({"surface.atm_vol": rng.uniform(0.12, 0.30, 80), "status": "ok"})
    lhs["close_return_pct"] = -10 * (lhs["surface.atm_vol"] - 0.2) + rng.normal(0, 0.5, 80)
    lhs["max_drawdown_pct"] = 2 + 10 * lhs["surface.atm_vol"]
    fig = plots.phase_diagram(lhs, "surface.atm_vol")
    assert "quantile bins" in fig._suptitle.get_text()
    assert len(fig.axes[1].get_lines()[0].get_xdata()) == 8


def test_waterfall_missing_contribution_and_empty_table():
    attr = synthetic_attribution()
    attr.loc[(attr["class"] == "hedgers"), ["mean", "ci_low", "ci_high"]] = np.nan
    attr["confidence"] = 0.9
    fig = plots.waterfall(attr)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert any("n/a" in text for text in labels)
    assert "90% CI" in fig.axes[0].get_title(loc="left")
    assert fig.axes[0].patches[-1].get_height() == pytest.approx(1.4 + 0.9 - 0.7 + 0.1)
    with pytest.raises(ValueError):
        plots.waterfall(attr.iloc[0:0])


def test_phase_diagram_plots_a_path_shape_metric_and_the_title_shows_the_shape():
    runs = synthetic_runs()
    runs["close_location"] = (runs["close_return_pct"] + 2.0) / 4.0
    runs.loc[runs["seed"] == 0, "close_location"] = np.nan  # NaN only leaves this metric's median
    fig = plots.phase_diagram(runs, "dip_buyers.capital_usd", metric="close_location")
    ax_d = fig.axes[1]
    assert "close location" in ax_d.get_ylabel()
    medians = ax_d.get_lines()[0].get_ydata()
    ok = runs[(runs["status"] == "ok") & runs["close_location"].notna()]
    expected = ok.groupby("dip_buyers.capital_usd")["close_location"].median().to_numpy()
    assert np.allclose(medians, expected)
    with pytest.raises(ValueError, match="metric"):
        plots.phase_diagram(runs, "dip_buyers.capital_usd", metric="nope")
    ts = synthetic_timeseries()
    summary = synthetic_summary(ts) | {"high_time_et": "10:17", "low_time_et": "15:58",
                                       "close_location": 0.03, "rebound_share": 0.04,
                                       "fall_duration_min": 341.0, "steepest_30min_share": 0.21}
    title = _title(summary)
    assert "high 10:17 ET" in title and "close location 0.03" in title and "fall 341 min" in title
    assert "\n" not in _title(synthetic_summary(ts))  # older summaries: one line as before


def test_run_dashboard_split_panel_draws_the_cumulative_needs_by_cause():
    ts = synthetic_timeseries()
    fall = np.minimum(ts["mid"].to_numpy() - ts["mid"].iloc[0], 0.0)
    ts = ts.assign(dealer_flow_gamma=40.0 * fall, dealer_flow_vanna=np.linspace(0, 300, len(ts)),
                   dealer_flow_charm=np.linspace(0, 50, len(ts)), dealer_flow_oi=-100.0,
                   dealer_flow_other=0.0, cta_flow_signal=20.0 * fall, cta_flow_vol=-5.0 * np.abs(fall))
    fig = plots.run_dashboard(ts, synthetic_summary(ts))
    split = dict(zip(plots.DASHBOARD_PANELS, fig.axes, strict=False))["split"]
    labels = {line.get_label() for line in split.get_lines()}
    assert {"dealers: gamma (spot)", "dealers: vanna (IV)", "dealers: charm (time)",
            "dealers: new open interest", "CTAs: signal", "CTAs: vol targeting"} <= labels
    assert "dealers: other (expiries)" not in labels  # all zero: nothing to draw
    gamma = next(line for line in split.get_lines() if line.get_label() == "dealers: gamma (spot)")
    np.testing.assert_allclose(gamma.get_ydata(), 40.0 * fall)
    assert "contracts" in split.get_ylabel()
    bare = plots.run_dashboard(synthetic_timeseries(), synthetic_summary(ts))
    empty = dict(zip(plots.DASHBOARD_PANELS, bare.axes, strict=False))["split"]
    assert any("no dealer or CTA" in t.get_text() for t in empty.texts)


def test_close_cta_triggers_share_one_label_and_far_ones_keep_their_own():
    shown = [(6700.0, "CTA trigger"), (6705.0, "CTA trigger"), (6712.0, "CTA trigger"),
             (6500.0, "CTA trigger"), (6650.0, "support")]
    labels = _grouped_labels(shown, 6642.16)
    texts = [t for _, _, t in labels]
    assert len(labels) == 3
    assert any(t.startswith("3 CTA triggers 6,700-6,712") for t in texts)
    assert any(t.startswith("CTA trigger 6,500") for t in texts)
    assert [lv for lv, _, _ in labels] == sorted(lv for lv, _, _ in labels)
