"""Sensitivity analysis through the sweep engine: Ishigami's known Sobol indices, Morris, Dask, CLI errors."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from experiments.calibrate import parse_param
from experiments.cli import main
from experiments.sensitivity import run_sensitivity, sample_points

PI = math.pi
ISHIGAMI = [
    "x1=-3.141592653589793:3.141592653589793",
    "x2=-3.141592653589793:3.141592653589793",
    "x3=-3.141592653589793:3.141592653589793",
]
# a = 7, b = 0.1 (Sobol' & Levitan 1999; Saltelli et al. 2008)
S1_KNOWN = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ST_KNOWN = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}
RUNNER = "calibration_fakes:ishigami_run"


@pytest.fixture
def fast_dir():
    """A scratch folder on tmpfs where there is one (the sweep engine fsyncs every run record)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=base) as d:
        yield Path(d)


@pytest.mark.slow
def test_ishigami_sobol_indices_through_the_sweep_engine(fast_dir):
    out = fast_dir / "sens"
    params = [parse_param(s) for s in ISHIGAMI]
    same = dict(method="sobol", n=1024, seeds=[0], metrics=["ishigami"], workers=1, runner=RUNNER,
                progress=False)
    table = run_sensitivity("calm", params, out, **same)
    t = table.set_index("param")
    for p in ("x1", "x2", "x3"):
        assert t.loc[p, "S1"] == pytest.approx(S1_KNOWN[p], abs=0.05), p
        assert t.loc[p, "ST"] == pytest.approx(ST_KNOWN[p], abs=0.05), p
        assert 0 < t.loc[p, "S1_conf"] < 0.15 and 0 < t.loc[p, "ST_conf"] < 0.15
    runs = pd.read_parquet(out / "sweep" / "runs.parquet")
    assert len(runs) == 1024 * 5 and (runs["status"] == "ok").all()
    info = json.loads((out / "sensitivity.json").read_text())
    assert info["n_rows"] == 5120 and info["method"] == "sobol"
    assert (out / "plots" / "indices.png").stat().st_size > 1000
    # resumable: the same call again runs nothing and gives the same indices
    again = run_sensitivity("calm", params, out, plots=False, **same)
    pd.testing.assert_frame_equal(again, table)


def test_morris_ranks_ishigami_inputs(fast_dir):
    params = [parse_param(s) for s in ISHIGAMI]
    table = run_sensitivity(
        "calm",
        params,
        fast_dir / "m",
        method="morris",
        n=40,
        seeds=[0],
        metrics=["ishigami"],
        workers=1,
        runner=RUNNER,
        progress=False,
        plots=True,
    )
    mu = table.set_index("param")["mu_star"]
    assert mu["x1"] > mu["x3"] > 0 and mu["x2"] > mu["x3"]
    assert table["mu_star_conf"].notna().all()
    assert (fast_dir / "m" / "plots" / "indices.png").exists()


def test_log_and_integer_params_are_sampled_in_their_units():
    params = [parse_param("k=1e6:1e9:log"), parse_param("n=1:5:int")]
    x, points = sample_points(params, "sobol", 16, root_seed=1)
    assert len(points) == 16 * 4 == len(x)
    ks = [p["k"] for p in points]
    assert min(ks) >= 1e6 and max(ks) <= 1e9 and sum(k < 3.2e7 for k in ks) > len(ks) / 4  # log-uniform
    assert all(isinstance(p["n"], int) and 1 <= p["n"] <= 5 for p in points)
    with pytest.raises(ValueError, match="power of 2"):
        sample_points(params, "sobol", 12)


@pytest.mark.slow
def test_sensitivity_cli_on_a_dask_cluster(fast_dir, capsys):
    from distributed import LocalCluster

    out = fast_dir / "s"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = main(
            [
                "sensitivity",
                "calm",
                *[a for s in ISHIGAMI for a in ("--param", s)],
                "--method",
                "sobol",
                "--n",
                "32",
                "--metrics",
                "max_drawdown_pct",
                "--runner",
                "calibration_fakes:ishigami_as_day",
                "--scheduler",
                cluster.scheduler_address,
                "--no-progress",
                "--out",
                str(out),
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "max_drawdown_pct" in printed and "ST_conf" in printed
    runs = pd.read_parquet(out / "sweep" / "runs.parquet")
    assert len(runs) == 32 * 5 and (runs["status"] == "ok").all()


def test_sensitivity_cli_bad_input(tmp_path, capsys):
    out = tmp_path / "s"
    assert (
        main(["sensitivity", "calm", "--param", "x=0:1", "--n", "12", "--runner", RUNNER, "--out", str(out)])
        == 2
    )
    assert "power of 2" in capsys.readouterr().err
    assert (
        main(["sensitivity", "calm", "--param", "x=0:1", "--n", "8", "--metrics", "nope", "--out", str(out)])
        == 2
    )
    assert "unknown metric" in capsys.readouterr().err
    assert main(["sensitivity", "calm", "--n", "8", "--out", str(out)]) == 2
    assert "at least one --param" in capsys.readouterr().err
    assert not out.exists()


def test_an_interrupted_sensitivity_run_resumes(fast_dir, monkeypatch, tmp_path):
    from sweep_fakes import read_calls

    import experiments.calibration.sensitivity as sens

    calls = tmp_path / "calls"
    calls.mkdir()
    monkeypatch.setenv("FAKE_CALL_DIR", str(calls))
    params = [parse_param("a=0:1"), parse_param("b=0:1")]
    kw = dict(
        method="sobol",
        n=8,
        seeds=[1],
        metrics=["close_return_pct"],
        workers=1,
        runner="calibration_fakes:day_run",
        progress=False,
        plots=False,
    )

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    real = sens.moment_values
    monkeypatch.setattr(sens, "moment_values", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sensitivity("calm", params, fast_dir / "s", **kw)
    n_runs = len(read_calls(calls))
    assert n_runs == 8 * 4
    monkeypatch.setattr(sens, "moment_values", real)
    table = run_sensitivity("calm", params, fast_dir / "s", **kw)
    assert len(read_calls(calls)) == n_runs  # nothing re-run
    t = table.set_index("param")
    assert t.loc["a", "ST"] > 0.5 > t.loc["b", "ST"]  # close_return_pct = 1 - 4 a + noise
