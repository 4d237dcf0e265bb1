"""Calibration: targets files, parameter specs, recovery of a fake day, resume after kill -9, Dask, CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from calibration_fakes import TRUE
from sweep_fakes import read_calls

from experiments.calibrate import calibrate, parse_param, point_dir_name
from experiments.cli import main
from experiments.designs import format_value, seeds_for
from experiments.sweep import SweepConfigError
from experiments.targets import (
    MISSING_Z,
    Moment,
    Targets,
    TargetsError,
    derive_moments,
    distance,
    load_targets,
    moment_values,
)

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parents[1]
RUNNER = "calibration_fakes:day_run"

FAKE_TARGETS = """
name = "fake"
[moments.close_return_pct]
target = -1.8          # 1 - 4 * 0.7
tolerance = 0.1
source = "calibration_fakes.TRUE"
[moments.high_time_s]
target = "10:18"       # 1800 + 3600 * 0.3 = 2880 s after 09:30
tolerance = 120.0
[moments.range_pct]
target = 3.1
tolerance = 0.1
weight = 0.5
"""


@pytest.fixture(scope="module")
def dask_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def fast_dir():
    """A scratch folder on tmpfs where there is one (the sweep engine fsyncs every run record)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=base) as d:
        yield Path(d)


@pytest.fixture
def targets_file(tmp_path):
    p = tmp_path / "fake_targets.toml"
    p.write_text(FAKE_TARGETS)
    return p


# ------------------------------------------------------------------------------------------ targets


def test_shipped_nov20_targets_load_with_sources():
    t = load_targets("nov20_2025")
    assert t.name == "nov20_2025"
    assert {
        "open_return_pct",
        "high_time_s",
        "close_return_pct",
        "range_pct",
        "close_location",
        "fall_duration_min",
        "rebound_share",
        "realized_vol",
        "fall_flow_cta",
    } <= set(t.names)
    assert all(m.source for m in t.moments)
    high_time = next(m for m in t.moments if m.name == "high_time_s")
    assert high_time.target == pytest.approx(52 * 60)  # "10:22" ET


def test_unknown_moment_lists_the_known_ones(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text("[moments.close_retrun_pct]\ntarget = 1.0\n")
    with pytest.raises(TargetsError) as err:
        load_targets(p)
    text = str(err.value)
    assert "close_retrun_pct" in text and "close_return_pct" in text and "fall_duration_min" in text
    assert "\n" not in text


@pytest.mark.parametrize(
    "body, needle",
    [
        ("[moments.close_return_pct]\ntolerance = 1.0\n", "target: missing"),
        ("[moments.close_return_pct]\ntarget = 1.0\ntolerance = 0\n", "must be > 0"),
        ("[moments.close_return_pct]\ntarget = 1.0\nbound = 'up'\n", "bound"),
        ("[moments.high_time_s]\ntarget = '10h'\n", "HH:MM"),
        ("[moments.close_return_pct]\ntarget = 1.0\ntol = 2\n", "unknown key"),
        ("name = 'x'\n", "needs a [moments"),
    ],
)
def test_bad_targets_files(tmp_path, body, needle):
    p = tmp_path / "t.toml"
    p.write_text(body)
    with pytest.raises(TargetsError) as err:
        load_targets(p)
    assert needle in str(err.value)


def test_distance_and_derived_moments():
    t = Targets(
        "x", (Moment("close_return_pct", -1.0, 0.5, 2.0), Moment("fall_flow_cta", 0.0, 100.0, 1.0, "upper"))
    )
    assert distance(t, {"close_return_pct": -1.0, "fall_flow_cta": -500.0}) == 0.0
    assert distance(t, {"close_return_pct": 0.0, "fall_flow_cta": 0.0}) == pytest.approx(2.0 * 4.0 / 3.0)
    assert distance(t, {"close_return_pct": -1.0, "fall_flow_cta": 200.0}) == pytest.approx(4.0 / 3.0)
    assert distance(t, {"close_return_pct": float("nan"), "fall_flow_cta": 0.0}) == pytest.approx(
        2.0 * MISSING_Z**2 / 3.0
    )
    s = {"high": 110.0, "low": 100.0, "close": 101.0, "high_time_s": 3600.0, "low_time_s": 21600.0}
    d = derive_moments(s)
    assert d["close_location"] == pytest.approx(0.1)
    assert d["fall_duration_min"] == pytest.approx(300.0)
    assert d["rebound_share"] == pytest.approx(0.1)
    # a value the run reports itself wins over the derived one
    assert moment_values({**s, "close_location": 0.5}, ["close_location"])["close_location"] == 0.5


def test_parse_param():
    p = parse_param("dip_buyers.capital_usd=1e8:3e9:log")
    assert (p.key, p.lo, p.hi, p.log, p.integer) == ("dip_buyers.capital_usd", 1e8, 3e9, True, False)
    assert parse_param(p.spec()) == p
    assert parse_param("events[2].value_shift_pct=-2.5:-1").lo == -2.5
    assert parse_param("dealers.n_agents=1:8:int").integer
    for bad in ("x=1", "x=2:1", "x=0:1:log", "x=a:b", "x=0.5:2:int", "x=0:1:cubic", "=0:1"):
        with pytest.raises(ValueError):
            parse_param(bad)


# -------------------------------------------------------------------------------------- calibration


def test_calibration_recovers_a_fake_days_parameters(fast_dir, targets_file):
    out = fast_dir / "cal"
    params = [parse_param("a=0:1"), parse_param("b=0:1")]
    same = dict(seeds=[1, 2], runner=RUNNER, workers=1, progress=False, root_seed=3)
    table = calibrate("calm", load_targets(targets_file), params, out, n_trials=40, **same)
    assert len(table) == 40 and (table["state"] == "COMPLETE").all()
    best = json.loads((out / "best.json").read_text())
    assert abs(best["params"]["a"] - TRUE["a"]) < 0.05
    assert abs(best["params"]["b"] - TRUE["b"]) < 0.1
    assert best["set"] == [f"a={best['params']['a']!r}", f"b={best['params']['b']!r}"]
    assert (out / "best_set.txt").read_text().startswith("--set a=")
    for name in ("history.png", "importances.png", "moments.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    # every trial's runs are a sweep: recorded, one folder per parameter point
    row = table.iloc[0]
    runs = pd.read_parquet(out / row["sweep_dir"] / "runs.parquet")
    assert sorted(runs["seed"]) == [1, 2] and row["sweep_dir"].endswith(
        point_dir_name({"a": row["a"], "b": row["b"]})
    )
    assert {"median_close_return_pct", "z_high_time_s", "n_ok"} <= set(table.columns)
    # more trials later: the same command with a larger budget extends the study
    table2 = calibrate("calm", load_targets(targets_file), params, out, n_trials=42, **same)
    assert len(table2) == 42
    assert json.loads((out / "calibration.json").read_text())["n_trials"] == 42
    # a different calibration in the same folder is refused before anything is written
    with pytest.raises(SweepConfigError, match="different calibration"):
        calibrate(
            "calm",
            load_targets(targets_file),
            params,
            out,
            n_trials=5,
            seeds=[1, 3],
            runner=RUNNER,
            workers=1,
            progress=False,
        )


def _count(db: Path, state: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("select count(*) from trials where state = ?", (state,)).fetchone()[0]
    except sqlite3.Error:
        return 0


def _cli(out: Path, targets: Path, trials: int, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "calibrate",
        "calm",
        "--targets",
        str(targets),
        "--param",
        "a=0:1",
        "--param",
        "b=0:1",
        "--trials",
        str(trials),
        "--seeds",
        "3",
        "--runner",
        RUNNER,
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


def test_a_second_concurrent_calibration_into_the_same_folder_is_refused(fast_dir, targets_file):
    from experiments.calibration.calibrate import LOCK_FILE
    from experiments.sweep.store import lock_out_dir

    out = fast_dir / "cal"
    params = [parse_param("a=0:1")]
    same = dict(seeds=[1], runner=RUNNER, workers=1, progress=False, root_seed=3)
    calibrate("calm", load_targets(targets_file), params, out, n_trials=1, **same)
    held = lock_out_dir(out, LOCK_FILE, "calibration")  # as a running calibration would
    try:
        with pytest.raises(SweepConfigError, match="another calibration is running"):
            calibrate("calm", load_targets(targets_file), params, out, n_trials=2, **same)
    finally:
        held.close()
    assert len(calibrate("calm", load_targets(targets_file), params, out, n_trials=2, **same)) == 2


def test_kill_9_then_the_same_command_resumes_without_redoing_trials(
    fast_dir, targets_file, tmp_path, monkeypatch
):
    out = fast_dir / "cal"
    calls = tmp_path / "calls"
    calls.mkdir()
    env = dict(
        os.environ,
        FAKE_CALL_DIR=str(calls),
        FAKE_SLEEP_S="0.15",
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
    )
    code = "import sys; from experiments.cli import main; sys.exit(main(sys.argv[1:]))"
    args = _cli(out, targets_file, 8)
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.PIPE)
    db = out / "study.db"
    deadline = time.monotonic() + 120
    while _count(db, "COMPLETE") < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.2)  # well inside the next trial (3 seeds x 0.15 s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    import optuna

    study = optuna.load_study(study_name="calibration", storage=f"sqlite:///{db}")
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    running = [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    assert 3 <= len(finished) < 8
    finished_runs = {
        (tuple(sorted(f"{k}={format_value(v)}" for k, v in t.params.items())), seed)
        for t in finished
        for seed in seeds_for(0, 3)
    }
    n_calls_before = len(read_calls(calls))

    # the same command again (in this process): the study continues to 8 finished trials
    monkeypatch.setenv("FAKE_CALL_DIR", str(calls))
    assert main(args) == 0
    table = pd.read_parquet(out / "trials.parquet")
    assert (table["state"] == "COMPLETE").sum() == 8
    calls_all = [(tuple(c["overrides"]), c["seed"]) for c in read_calls(calls)]
    assert len(calls_all) > n_calls_before
    # no finished trial's runs were redone
    for run in finished_runs:
        assert calls_all.count(run) == 1, run
    # at most the one run in flight at the kill ran twice
    assert len(calls_all) - len(set(calls_all)) <= 1
    # the trial the kill interrupted was failed (marked interrupted) and its parameters ran again
    failed = [
        t
        for t in optuna.load_study(study_name="calibration", storage=f"sqlite:///{db}").trials
        if t.state == optuna.trial.TrialState.FAIL
    ]
    assert len(failed) == len(running) <= 1
    for t in failed:
        assert t.user_attrs["interrupted"] is True
        retried = table[(table["a"] == t.params["a"]) & (table["b"] == t.params["b"])]
        assert list(retried["state"]) == ["FAIL", "COMPLETE"]


def test_calibrate_cli_bad_input_one_line(tmp_path, targets_file, capsys):
    out = tmp_path / "cal"
    assert (
        main(
            [
                "calibrate",
                "calm",
                "--targets",
                str(targets_file),
                "--param",
                "a=1:0",
                "--trials",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("cascade: error:") and "\n" not in err and "LO < HI" in err
    assert (
        main(
            [
                "calibrate",
                "calm",
                "--targets",
                "nope.toml",
                "--param",
                "a=0:1",
                "--trials",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
    # a key the scenario does not have: caught before anything runs (default runner)
    assert (
        main(
            [
                "calibrate",
                "calm",
                "--targets",
                str(targets_file),
                "--param",
                "flow.no_such_key=0:1",
                "--trials",
                "2",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "no_such_key" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_calibrate_on_a_dask_cluster(fast_dir, targets_file, dask_address, capsys):
    out = fast_dir / "cal"
    assert main([*_cli(out, targets_file, 4), "--scheduler", dask_address]) == 0
    table = pd.read_parquet(out / "trials.parquet")
    assert (table["state"] == "COMPLETE").sum() == 4
    runs = pd.read_parquet(out / table["sweep_dir"].iloc[0] / "runs.parquet")
    assert (runs["status"] == "ok").all() and len(runs) == 3
    assert "best trial" in capsys.readouterr().out


@pytest.mark.slow
def test_calibrate_the_real_model_short_session_and_rerun_the_best(tmp_path):
    """calm, 10 minutes of session, 3 trials x 1 seed; the best scenario TOML re-runs with `cascade run`."""
    tgt = tmp_path / "t.toml"
    tgt.write_text(
        "[moments.range_pct]\ntarget = 0.05\ntolerance = 0.05\n[moments.close_location]\ntarget = 0.5\n"
    )
    out = tmp_path / "cal"
    assert (
        main(
            [
                "calibrate",
                "calm",
                "--targets",
                str(tgt),
                "--param",
                "flow.noise_market_rate_per_s=4:12",
                "--trials",
                "3",
                "--seeds",
                "1",
                "--set",
                "market.session_end_s=600",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    best = json.loads((out / "best.json").read_text())
    assert 4 <= best["params"]["flow.noise_market_rate_per_s"] <= 12
    assert "market.session_end_s=600" in best["set"]
    assert (
        main(["run", str(out / "best_scenario.toml"), "--seed", "0", "--out", str(tmp_path / "rerun")]) == 0
    )
    summary = json.loads((tmp_path / "rerun" / "summary.json").read_text())
    assert summary["close"] > 0
