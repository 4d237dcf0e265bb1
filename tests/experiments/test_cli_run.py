"""``cascade run / plot / scenarios`` end to end, and the one-line errors on bad input.

The happy path runs the real command in a subprocess (``python -m experiments.cli``); the error
cases call :func:`experiments.cli.main` in-process (same code, no interpreter start-up each time),
plus one subprocess to check the real exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.config import shipped_scenarios

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = ("summary.json", "timeseries.parquet", "trades.parquet", "scenario.toml")
SUMMARY_KEYS = (
    "scenario", "seed", "version", "prev_close", "open", "high", "low", "close", "close_return_pct",
    "max_drawdown_pct", "realized_vol", "runtime_s",
)  # fmt: skip


def cascade(*args: str, timeout: float = 900.0) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("cli") / "calm_run"
    proc = cascade("run", "calm", "--set", "market.session_end_s=1200", "--seed", "1", "--out", str(out))
    return out, proc


def test_run_writes_the_contract_files_and_prints_one_line(run_dir):
    out, proc = run_dir
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calm seed 1: open ")
    assert "messages in" in lines[0] and "max drawdown" in lines[0]
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert all(k in summary for k in SUMMARY_KEYS)
    assert summary["scenario"] == "calm" and summary["seed"] == 1
    assert any(k.startswith("net_flow_") for k in summary)
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["t"].iloc[-1] == 1200.0 and len(ts) == 1200 // 30 + 1
    assert len(pd.read_parquet(out / "trades.parquet")) == summary["n_trades"]
    resolved = tomllib.loads((out / "scenario.toml").read_text())
    assert resolved["market"]["session_end_s"] == 1200.0  # the override is in the resolved scenario
    assert f"{summary['close']:.2f}" in lines[0]


def test_plot_writes_the_dashboard(run_dir):
    out, _ = run_dir
    proc = cascade("plot", str(out))
    assert proc.returncode == 0, proc.stderr
    dashboard = out / "plots" / "dashboard.png"
    assert dashboard.is_file() and dashboard.stat().st_size > 10_000
    assert str(dashboard) in proc.stdout


def test_scenarios_lists_the_shipped_ones():
    proc = cascade("scenarios")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    assert names == shipped_scenarios() and "calm" in names
    assert "quiet day" in proc.stdout  # calm's description


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "flow.noise_rate=1"], ["unknown key 'flow.noise_rate'", "did you mean"]),
        (["--set", "market.session_end_s=abc"], ["market.session_end_s", "expected a number"]),
        (["--set", "flow.noise_market_rate_per_s=-1"], ["flow.noise_market_rate_per_s = -1", ">= 0"]),
        (["--set", "dealers.enabled=maybe"], ["dealers.enabled", "true or false"]),
        (["--set", "market.session_end_s"], ["malformed override"]),
        (["--set", "market.session_start_s=5000", "--set", "market.session_end_s=100"],
         ["market.session_end_s", "must be > session_start_s"]),
        (["--seed", "-3"], ["--seed -3", ">= 0"]),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_error_line_and_writes_nothing(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    code = main(["run", "calm", *args, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cascade: error: "), captured.err
    for text in expected:
        assert text in lines[0]
    assert captured.out == ""
    assert not out.exists()


def test_unknown_scenario_in_a_real_process_exits_2(tmp_path):
    out = tmp_path / "out"
    proc = cascade("run", "no_such_scenario", "--out", str(out))
    assert proc.returncode == 2
    shipped = ", ".join(shipped_scenarios())
    assert proc.stderr.strip().splitlines() == [
        f"cascade: error: scenario = 'no_such_scenario': unknown scenario; shipped: {shipped}"
    ]
    assert proc.stdout == "" and not out.exists()


def test_plot_of_a_directory_that_is_not_a_run_is_an_error(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cascade: error: ")
    assert not (tmp_path / "plots").exists()


def test_run_imports_no_sweep_plot_or_page_libraries(tmp_path):
    """``cascade run`` without ``--plot`` imports only what a day needs (issue #16: start-up time)."""
    heavy = ("dask", "distributed", "matplotlib", "solara", "optuna", "SALib", "experiments.plots",
             "experiments.viz", "experiments.sweep.engine", "experiments.calibrate",
             "experiments.sensitivity", "experiments.calibration.calibrate",
             "experiments.calibration.sensitivity",
             "mesa.space", "networkx", "scipy.spatial", "scipy.linalg")  # Mesa's __init__; numba's BLAS probe
    out = str(tmp_path / "o")
    code = (
        "import sys\nfrom experiments.cli import main\n"
        f"code = main(['run', 'calm', '--set', 'market.session_end_s=60', '--out', {out!r}])\n"
        "import gc\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), code, gc.isenabled())\n"
    )
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[] 0 True"  # the collector is back on after main()


def test_main_leaves_the_garbage_collector_as_it_found_it(tmp_path, capsys):
    import gc

    assert gc.isenabled()
    assert main(["run", "no_such_scenario", "--out", str(tmp_path / "o")]) == 2
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["run"])  # a usage error: argparse exits
    assert gc.isenabled()
    gc.disable()
    try:
        assert main(["scenarios"]) == 0
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
    capsys.readouterr()
