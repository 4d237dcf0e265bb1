"""Output safety: run folders appear whole or not at all, plots never leave their folder, duplicate grid
values are one point, a Dask scheduler without workers is refused after a timeout (exit 2)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from experiments import runner
from experiments.designs import grid, parse_grid_spec
from experiments.outputs import OutputError, check_run_out, commit_dir, temp_sibling
from experiments.plots.discovery import _series_file, _series_paths

TESTS_DIR = Path(__file__).resolve().parent


# ---------------------------------------------------------------------------- run folders
def fake_result() -> runner.RunResult:
    """A tiny RunResult (no simulation): enough for write_run."""
    from experiments.config import load_scenario

    frame = pd.DataFrame({"t": [0.0, 30.0], "mid": [1.0, 2.0]})
    return runner.RunResult(
        summary={"scenario": "calm", "seed": 1}, timeseries=frame, trades=frame, depth=frame, gex=frame,
        option_trades=frame, config=load_scenario("calm"),
    )


def test_write_run_replaces_a_previous_run_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "run"
    runner.write_run(fake_result(), out)
    (out / "plots").mkdir()
    assert json.loads((out / "summary.json").read_text())["seed"] == 1
    runner.write_run(fake_result(), out)  # a previous run: replaced whole
    assert not (out / "plots").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_write_run_refuses_a_foreign_folder_unless_overwrite(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="--overwrite"):
        runner.write_run(fake_result(), out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    runner.write_run(fake_result(), out, overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me" and (out / "summary.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_write_killed_midway_leaves_the_old_folder_untouched(tmp_path, monkeypatch):
    out = tmp_path / "run"
    runner.write_run(fake_result(), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed after summary.json was written

    monkeypatch.setattr(pd.DataFrame, "to_parquet", die)
    with pytest.raises(KeyboardInterrupt):
        runner.write_run(fake_result(), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with pytest.raises(KeyboardInterrupt):
        runner.write_run(fake_result(), tmp_path / "new")
    assert not (tmp_path / "new").exists()  # never a folder with only summary.json


def test_commit_is_a_rename_into_place(tmp_path):
    out = check_run_out(tmp_path / "a" / "b")
    tmp = temp_sibling(out)
    (tmp / "summary.json").write_text("{}")
    assert tmp.parent == out.absolute().parent and tmp.name.startswith(".b.tmp-")
    commit_dir(tmp, out)
    assert (out / "summary.json").read_text() == "{}" and not tmp.exists()


@pytest.mark.parametrize("bad", ["afile", "afile/sub"])
def test_check_run_out_refuses_files(tmp_path, bad):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        check_run_out(tmp_path / bad)


# ---------------------------------------------------------------------------- plots stay inside
def test_series_paths_never_leave_the_series_folder(tmp_path):
    d = tmp_path / "sweep"
    (d / "series").mkdir(parents=True)
    secret = tmp_path / "secret.parquet"
    pd.DataFrame({"t": [0.0], "mid": [666.0]}).to_parquet(secret)
    pd.DataFrame({"t": [0.0, 1.0], "mid": [1.0, 2.0]}).to_parquet(d / "series" / "ok1.parquet")
    os.symlink(secret, d / "series" / "link.parquet")
    hostile = ["../../secret", "../secret", "/etc/passwd", "ok1/../../secret", ".hidden", "", None, 3.5]
    hostile.append("link")
    runs = pd.DataFrame({"run_id": ["ok1", *hostile]})
    frames = _series_paths(d, runs, pd.Series("all", index=runs.index))
    assert frames["all"]["run_id"].unique().tolist() == ["ok1"]
    series = (d / "series").resolve()
    for run_id in hostile:
        assert _series_file(series, run_id) is None
    assert _series_file(series, "ok1") == series / "ok1.parquet"


# ---------------------------------------------------------------------------- sweeps
@pytest.mark.parametrize(
    ("spec", "values"),
    [
        ("k=100,100.0", [100]),
        ("k=1,1,2,1.0,2.0,3", [1, 2, 3]),
        ("k=0.0,-0.0,0", [0.0]),
        ("k=true,true,1", [True, 1]),
        ('k="a","a",a', ["a"]),
        ("k=[1,2],[1,2]", [[1, 2]]),
    ],
)
def test_duplicate_grid_values_are_merged(spec, values):
    assert parse_grid_spec(spec)[1] == values
    assert len(grid([spec])) == len(values)


@pytest.mark.slow
def test_scheduler_without_workers_exits_2_after_the_timeout(tmp_path):
    from distributed import LocalCluster

    from experiments.sweep_cli import main

    out = tmp_path / "sweep"
    with LocalCluster(n_workers=0, dashboard_address=":0", processes=False) as cluster:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["sweep", "calm", "--scheduler", cluster.scheduler_address, "--worker-timeout", "2",
                         "--runner", "sweep_fakes:fake_run", "--no-progress", "--out", str(out)])  # fmt: skip
    lines = err.getvalue().strip().splitlines()
    assert code == 2
    assert "has no workers yet; waiting up to 2 s" in lines[0]
    assert lines[-1].startswith("cascade: error: ") and "has no workers after 2 s" in lines[-1]
    assert "Traceback" not in err.getvalue() and not out.exists()
