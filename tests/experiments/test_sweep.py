"""Sweep engine and CLI with fake runners: executors agree, errors are rows, resume, kill -9, CLI errors."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_fakes import read_calls

from experiments.designs import grid, seeds_for
from experiments.sweep import (
    SweepConfigError,
    collect_runs,
    is_sweep_dir,
    make_run_id,
    read_sweep_spec,
    run_sweep,
    scenario_identity,
)
from experiments.sweep_cli import main, register

TESTS_DIR = Path(__file__).resolve().parent
RUNNER = "sweep_fakes:fake_run"
pytestmark = pytest.mark.slow


@pytest.fixture
def calls(tmp_path, monkeypatch):
    """A folder where the fake runners log each call (env var inherited by worker processes)."""
    d = tmp_path / "calls"
    d.mkdir()
    monkeypatch.setenv("FAKE_CALL_DIR", str(d))
    monkeypatch.delenv("FAKE_SLEEP_S", raising=False)
    return d


@pytest.fixture(scope="module")
def dask_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _values(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["runtime_s"]).sort_values("run_id").reset_index(drop=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


POINTS = grid(["x=0,1,2", "mode=a,b"])
SEEDS = seeds_for(2025, 3)


def test_local_workers_use_the_numba_cache_of_this_process(tmp_path, monkeypatch):
    import numba

    from experiments.sweep import numba_cache_dir

    # The environment now says another folder, but numba (imported) already uses its own: the workers
    # must use the folder this process really uses, so one warm cache serves the machine.
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    ours = numba_cache_dir()
    assert numba.config.CACHE_DIR and ours == os.path.abspath(numba.config.CACHE_DIR)
    assert not ours.startswith(str(tmp_path))  # the environment's other folder is not what workers get
    df = run_sweep("calm", grid([]), seeds_for(1, 4), tmp_path / "sweep", workers=2,
                   runner="sweep_fakes:cache_dir_run", progress=False)  # fmt: skip
    assert (df["status"] == "ok").all() and len(df) == 4
    assert set(df["numba_cache_dir"]) == {ours}
    assert df["worker_pid"].ne(os.getpid()).all()


def test_local_workers_are_a_dask_local_cluster_with_sweep_settings():
    from experiments.sweep.executors import ALLOWED_FAILURES, start_local_cluster

    with start_local_cluster(1) as cluster:
        s = cluster.scheduler
        assert s.allowed_failures == ALLOWED_FAILURES == 1
        assert s.WORKER_SATURATION == 1.0  # one task per worker: a dying worker takes only its own run
        assert [(w.nthreads, w.memory_limit) for w in s.workers.values()] == [(1, 0)]
        assert s.extensions.get("stealing") is None  # one task per worker: nothing to steal

        def worker_settings():
            import dask

            profiler = dask.config.get("distributed.worker.profile.enabled")
            return profiler, "MALLOC_TRIM_THRESHOLD_" in os.environ

        from distributed import Client

        with Client(cluster.scheduler_address, set_as_default=False) as client:
            # no profiler beside the runs; glibc's own malloc settings, as in a plain process
            assert list(client.run(worker_settings).values()) == [(False, False)]


def _worker_view() -> tuple[int, bool, str | None]:
    return os.getppid(), "experiments.runner" in sys.modules, os.environ.get("CASCADE_TEST_MARK")


def test_local_workers_are_forks_of_a_server_that_imported_the_runner(monkeypatch):
    """One fork server imports Dask and the runner's module once; workers are its forks. A change of this
    process's environment restarts it, so workers see the environment as of their cluster's start."""
    import multiprocessing.forkserver

    from distributed import Client

    from experiments.sweep.executors import start_local_cluster

    monkeypatch.delenv("CASCADE_TEST_MARK", raising=False)
    views = []
    for mark in (None, "1"):
        if mark is not None:
            monkeypatch.setenv("CASCADE_TEST_MARK", mark)
        with start_local_cluster(1) as cluster, Client(cluster.scheduler_address, set_as_default=False) as c:
            (view,) = c.run(_worker_view).values()
            views.append((*view, multiprocessing.forkserver._forkserver._forkserver_pid))
    (ppid0, preloaded0, mark0, server0), (ppid1, preloaded1, mark1, server1) = views
    assert ppid0 == server0 != os.getpid() and preloaded0 and mark0 is None
    assert ppid1 == server1 != server0 and preloaded1 and mark1 == "1"  # a new server, new environment


def test_local_processes_sweep_end_to_end(tmp_path, calls):
    out = tmp_path / "sweep"
    df = run_sweep("calm", POINTS, SEEDS, out, workers=2, runner=RUNNER, progress=False)
    assert len(df) == len(POINTS) * len(SEEDS) == 18
    assert (df["status"] == "ok").all() and (df["error"] == "").all()
    assert list(df.columns[:6]) == ["run_id", "point", "x", "mode", "seed", "status"]
    for metric in ("close", "close_return_pct", "max_drawdown_pct", "realized_vol", "net_flow_dealers"):
        assert df[metric].notna().all(), metric
    # the same seeds at every point (paired comparisons)
    assert all(sorted(g["seed"]) == sorted(SEEDS) for _, g in df.groupby("point"))
    # a unit of x moves the close by -0.5% in the fake: paired differences are exact
    a = df[(df.x == 0) & (df["mode"] == "a")].set_index("seed")["close_return_pct"]
    b = df[(df.x == 2) & (df["mode"] == "a")].set_index("seed")["close_return_pct"]
    assert (a - b).round(12).eq(1.0).all()
    assert pd.read_parquet(out / "runs.parquet").equals(df)
    assert len(list((out / "runs").glob("*.json"))) == 18
    assert len(read_calls(calls)) == 18
    assert {c["pid"] for c in read_calls(calls)} - {os.getpid()}  # ran in worker processes
    spec = read_sweep_spec(out)
    assert spec["parameters"] == ["x", "mode"] and spec["seeds"] == SEEDS and is_sweep_dir(out)


def test_results_identical_across_executors(tmp_path, dask_address):
    frames = {}
    for name, kw in {
        "inproc": {"workers": 1},
        "procs": {"workers": 2},
        "dask": {"scheduler": dask_address},
    }.items():
        frames[name] = run_sweep("calm", POINTS, SEEDS, tmp_path / name, runner=RUNNER, progress=False, **kw)
    ref = _values(frames["inproc"])
    assert len(ref) == 18
    for name in ("procs", "dask"):
        pd.testing.assert_frame_equal(_values(frames[name]), ref, check_exact=True)


def test_dask_sweep_records_errors(tmp_path, dask_address):
    df = run_sweep(
        "calm",
        grid(["fail=false,true"]),
        SEEDS,
        tmp_path / "d",
        scheduler=dask_address,
        runner=RUNNER,
        progress=False,
    )
    assert df.groupby("fail")["status"].agg(set).to_dict() == {False: {"ok"}, True: {"error"}}


def test_failed_runs_are_rows_and_the_sweep_goes_on(tmp_path, calls):
    points = grid(["x=0,1", "fail=false,true"])
    df = run_sweep("calm", points, SEEDS, tmp_path / "s", workers=2, runner=RUNNER, progress=False)
    assert len(df) == 12
    bad = df[df["fail"]]
    good = df[~df["fail"]]
    assert (bad["status"] == "error").all() and (good["status"] == "ok").all()
    assert bad["error"].str.contains("RuntimeError: fake failure for seed").all()
    assert bad["error"].str.contains("Traceback").all()
    assert bad["close"].isna().all() and good["close"].notna().all()


def test_a_dying_worker_process_is_pinned_on_its_run(tmp_path, calls):
    points = grid(["x=0,1,2", "crash=false,true"])
    df = run_sweep("calm", points, SEEDS[:1], tmp_path / "s", workers=2, runner=RUNNER, progress=False)
    assert len(df) == 6
    crashed = df[df["crash"]]
    assert (crashed["status"] == "error").all()
    assert crashed["error"].str.contains("worker process died").all()
    assert (df.loc[~df["crash"], "status"] == "ok").all()  # runs that shared the pool are re-run, not blamed
    leftover = [p for p in multiprocessing.active_children() if p.name.startswith("SpawnProcess")]
    assert not leftover, "worker processes of broken pools are still alive"


def test_runner_returning_a_non_dict_is_an_error_row(tmp_path):
    df = run_sweep(
        "calm",
        [{}],
        SEEDS[:1],
        tmp_path / "s",
        workers=1,
        runner="sweep_fakes:not_a_dict_run",
        progress=False,
    )
    assert df["status"].tolist() == ["error"] and "expected a dict" in df["error"].iloc[0]


def test_resume_skips_finished_runs_and_retries_errors_only_when_asked(tmp_path, calls):
    out = tmp_path / "s"
    points = grid(["x=0,1", "fail=false,true"])
    kw = dict(workers=2, runner=RUNNER, progress=False)
    first = run_sweep("calm", points, SEEDS, out, **kw)
    assert len(read_calls(calls)) == 12
    again = run_sweep("calm", points, SEEDS, out, **kw)
    assert len(read_calls(calls)) == 12  # nothing re-run, errors included
    assert again.attrs["n_skipped"] == 12
    pd.testing.assert_frame_equal(again, first)
    # lose one finished record: exactly that run is redone
    ok_id = first.loc[first.status == "ok", "run_id"].iloc[0]
    (out / "runs" / f"{ok_id}.json").unlink()
    run_sweep("calm", points, SEEDS, out, **kw)
    new = read_calls(calls)
    assert len(new) == 13
    # retry_errors re-runs exactly the 6 failed ones
    run_sweep("calm", points, SEEDS, out, retry_errors=True, **kw)
    retried = read_calls(calls)
    assert len(retried) == 19
    fails = [c for c in retried if "fail=true" in c["overrides"]]
    assert len(fails) == 12


def test_different_sweep_in_out_dir_is_refused(tmp_path):
    out = tmp_path / "s"
    run_sweep("calm", POINTS[:2], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(SweepConfigError, match="different sweep.*seeds"):
        run_sweep("calm", POINTS[:2], SEEDS[:2], out, workers=1, runner=RUNNER, progress=False)
    with pytest.raises(SweepConfigError, match="different sweep.*points"):
        run_sweep("calm", POINTS[:3], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    with pytest.raises(SweepConfigError, match="different sweep.*overrides"):
        run_sweep("calm", POINTS[:2], SEEDS, out, workers=1, runner=RUNNER, progress=False, overrides=["z=1"])
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_second_concurrent_sweep_into_the_same_folder_is_refused(tmp_path):
    from experiments.sweep.store import lock_out_dir

    out = tmp_path / "s"
    first = run_sweep("calm", POINTS[:1], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    (out / "runs" / f"{first['run_id'].iloc[0]}.json").unlink()  # one run left to do
    held = lock_out_dir(out)  # as a running sweep would
    try:
        with pytest.raises(SweepConfigError, match="another sweep is running"):
            run_sweep("calm", POINTS[:1], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    finally:
        held.close()
    assert len(run_sweep("calm", POINTS[:1], SEEDS, out, workers=1, runner=RUNNER, progress=False)) == 3


def test_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SweepConfigError, match="not empty and holds no sweep"):
        run_sweep("calm", [{}], SEEDS, tmp_path, workers=1, runner=RUNNER, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be a positive integer"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "either workers or a scheduler"),
        ({"runner": "no_such_module:f"}, "cannot load runner"),
        ({"runner": lambda *a: {}}, "module-level function"),
        ({"seeds": []}, "no seeds"),
        ({"seeds": [1, 1]}, "distinct"),
        ({"seeds": [-1]}, "non-negative"),
        ({"points": []}, "no points"),
        ({"points": [{"x": 1}, {"x": 1}]}, "repeats point 0"),
        ({"points": [{"x": None}]}, "TOML value"),
        ({"points": [{"bad key": 1}]}, "dotted key"),
        ({"overrides": ["x=5"]}, "both swept and fixed"),
        ({"overrides": ["nonsense"]}, "malformed override"),
        ({"scenario": "missing/dir/nope.toml"}, "not found"),
        ({"worker_timeout_s": 0}, "worker timeout must be"),
        ({"worker_timeout_s": float("nan")}, "worker timeout must be"),
    ],
)
def test_bad_arguments_raise_before_writing(tmp_path, kwargs, message):
    args = {
        "scenario": "calm",
        "points": [{"x": 1}],
        "seeds": SEEDS,
        "runner": RUNNER,
        "workers": 1,
        **kwargs,
    }
    out = tmp_path / "never"
    with pytest.raises(SweepConfigError, match=message):
        run_sweep(args.pop("scenario"), args.pop("points"), args.pop("seeds"), out, progress=False, **args)
    assert not out.exists()


def test_a_bad_worker_timeout_on_resume_is_refused_before_the_records_are_read(tmp_path, monkeypatch):
    import experiments.sweep.engine as engine

    out = tmp_path / "s"
    run_sweep("calm", POINTS[:1], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*")}

    def no_reading(records_dir):
        raise AssertionError("records read before the argument checks")

    monkeypatch.setattr(engine, "read_records", no_reading)
    with pytest.raises(SweepConfigError, match="worker timeout must be"):
        run_sweep(
            "calm", POINTS[:1], SEEDS, out, workers=1, runner=RUNNER, progress=False, worker_timeout_s=-1
        )
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_points_are_validated_before_anything_runs(tmp_path, calls):
    def check(scenario, overrides):
        for text in overrides:
            if text.startswith("x=-"):
                raise ValueError(f"{text}: must be >= 0")

    out = tmp_path / "never"
    with pytest.raises(SweepConfigError, match=r"point 1 \(x=-1\): x=-1: must be >= 0"):
        run_sweep(
            "calm",
            [{"x": 1}, {"x": -1}],
            SEEDS,
            out,
            workers=1,
            runner=RUNNER,
            progress=False,
            validate=check,
        )
    assert not out.exists() and not read_calls(calls)


def test_validation_with_the_scenario_loader(tmp_path):
    from experiments.config import load_scenario

    out = tmp_path / "never"
    kw = dict(workers=1, runner=RUNNER, progress=False, validate=load_scenario)
    with pytest.raises(SweepConfigError, match="unknown key 'nosuch'"):
        run_sweep("calm", [{"nosuch.key": 1}], SEEDS, out, **kw)
    with pytest.raises(SweepConfigError, match="dip_buyers.enabled = 3"):
        run_sweep("calm", grid(["dip_buyers.enabled=true,3"]), SEEDS, out, **kw)
    with pytest.raises(SweepConfigError, match="unknown scenario"):
        run_sweep("no_such_scenario", [{}], SEEDS, out, **kw)
    assert not out.exists()
    assert len(run_sweep("calm", grid(["dip_buyers.enabled=true,false"]), SEEDS[:1], out, **kw)) == 2


def test_unreachable_scheduler_fails_fast_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    t0 = time.perf_counter()
    with pytest.raises(SweepConfigError, match="cannot reach a Dask scheduler"):
        run_sweep(
            "calm",
            [{}],
            SEEDS,
            out,
            scheduler=f"tcp://127.0.0.1:{_free_port()}",
            runner=RUNNER,
            progress=False,
            scheduler_timeout_s=1.0,
        )
    assert time.perf_counter() - t0 < 5.0
    assert not out.exists()


def test_keep_series_writes_one_parquet_per_run(tmp_path):
    out = tmp_path / "s"
    df = run_sweep(
        "calm", POINTS[:2], SEEDS[:2], out, workers=2, runner=RUNNER, progress=False, keep_series=True
    )
    for run_id in df["run_id"]:
        series = pd.read_parquet(out / "series" / f"{run_id}.parquet")
        assert list(series.columns) == ["t", "mid"]


def test_run_ids_are_stable_and_content_addressed(tmp_path):
    assert make_run_id("calm", ["a=1", "b=2"], 5) == make_run_id("calm", ["b=2", "a=1"], 5)
    assert make_run_id("calm", ["a=1"], 5) != make_run_id("calm", ["a=1"], 6)
    assert make_run_id("calm", ["a=1"], 5) != make_run_id("calm", ["a=2"], 5)
    toml = tmp_path / "s.toml"
    toml.write_text("name = 'x'\n")
    first = scenario_identity(str(toml))
    copy = tmp_path / "copy.toml"
    copy.write_text("name = 'x'\n")
    assert scenario_identity(str(copy)) == first  # same content, other path: same runs
    toml.write_text("name = 'y'\n")
    assert scenario_identity(str(toml)) != first
    a = run_sweep(str(copy), [{"x": 1}], SEEDS[:1], tmp_path / "a", workers=1, runner=RUNNER, progress=False)
    b = run_sweep("calm", [{"x": 1}], SEEDS[:1], tmp_path / "b", workers=1, runner=RUNNER, progress=False)
    assert a["run_id"].iloc[0] != b["run_id"].iloc[0]


def test_collect_runs_rebuilds_the_table(tmp_path):
    out = tmp_path / "s"
    df = run_sweep("calm", POINTS[:2], SEEDS, out, workers=1, runner=RUNNER, progress=False)
    (out / "runs.parquet").unlink()
    pd.testing.assert_frame_equal(collect_runs(out), df)


def _cli_env(calls: Path, sleep_s: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["FAKE_CALL_DIR"] = str(calls)
    env["FAKE_SLEEP_S"] = sleep_s
    return env


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in "ZX"


def _wait_for_records(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 60.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        count = len([p for p in (out / "runs").glob("*.json")]) if (out / "runs").is_dir() else 0
        if count >= n:
            return count
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} runs finished in {timeout_s} s")


def test_killed_sweep_resumes_without_redoing_finished_runs(tmp_path, calls):
    out = tmp_path / "s"
    cmd = [
        sys.executable,
        "-m",
        "experiments.sweep_cli",
        "sweep",
        "calm",
        "--grid",
        "x=0,1,2,3",
        "--seeds",
        "3",
        "--workers",
        "2",
        "--runner",
        "sweep_fakes:sleepy_run",
        "--no-progress",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, env=_cli_env(calls, "0.3"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_for_records(out, 4, proc)
    finally:
        proc.kill()  # SIGKILL: no cleanup at all
        proc.wait()
    finished = {p.stem: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    assert 4 <= len(finished) < 12
    assert not (out / "runs.parquet").exists()
    workers = {c["pid"] for c in read_calls(calls)}
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "worker processes outlived the killed sweep"

    done = subprocess.run(cmd, env=_cli_env(calls, "0.01"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "were already done" in done.stdout
    df = pd.read_parquet(out / "runs.parquet")
    assert len(df) == 12 and (df["status"] == "ok").all() and df["run_id"].is_unique
    by_run = {}
    for c in read_calls(calls):
        by_run.setdefault((c["seed"], tuple(c["overrides"])), []).append(c)
    for rec in finished.values():
        key = (rec["seed"], (f"x={rec['params']['x']}",))
        assert len(by_run[key]) == 1, f"finished run {rec['run_id']} was run again"
    assert all(len(v) >= 1 for v in by_run.values()) and len(by_run) == 12
    # at most the runs in flight (2 workers) were lost and redone
    assert len(read_calls(calls)) <= 12 + 2


def test_ctrl_c_saves_finished_runs_and_exits_130(tmp_path, calls):
    out = tmp_path / "s"
    cmd = [
        sys.executable,
        "-m",
        "experiments.sweep_cli",
        "sweep",
        "calm",
        "--grid",
        "x=0,1,2,3,4,5",
        "--seeds",
        "2",
        "--workers",
        "2",
        "--runner",
        "sweep_fakes:sleepy_run",
        "--no-progress",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        cmd, env=_cli_env(calls, "0.3"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for_records(out, 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "re-run the same command to resume" in err
    df = pd.read_parquet(out / "runs.parquet")
    n_records = len(list((out / "runs").glob("*.json")))
    assert 2 <= len(df) == n_records < 12


# ------------------------------------------------------------------------------------------- CLI


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_cli_sweep_runs_and_summarises(tmp_path, capsys, calls):
    out = tmp_path / "s"
    argv = ("sweep", "calm", "--grid", "x=0,1", "--random", "y=0:1", "--lhs", "3", "--seeds", "2",
            "--workers", "1", "--set", "z=5", "--runner", RUNNER, "--no-progress", "--out", str(out))
    code, stdout, _ = _cli(capsys, *argv)
    assert code == 0
    assert "12 runs (12 ok, 0 error; 0 were already done)" in stdout and "runs.parquet" in stdout
    df = pd.read_parquet(out / "runs.parquet")
    assert len(df) == 12 and df["y"].nunique() == 3
    assert all("z=5" in c["overrides"] for c in read_calls(calls))
    assert read_sweep_spec(out)["design"]["lhs"] == 3
    code, stdout, _ = _cli(capsys, *argv)  # the same sweep again: everything resumes
    assert code == 0 and "12 were already done" in stdout


def test_cli_exit_code_1_when_runs_fail(tmp_path, capsys):
    code, stdout, _ = _cli(
        capsys,
        "sweep",
        "calm",
        "--grid",
        "fail=false,true",
        "--workers",
        "1",
        "--runner",
        RUNNER,
        "--no-progress",
        "--out",
        str(tmp_path / "s"),
    )
    assert code == 1 and "1 error" in stdout and "RuntimeError: fake failure" in stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "x="], "empty grid"),
        (["--grid", "x"], "malformed grid spec"),
        (["--grid", "x=1,2", "--grid", "x=3"], "more than one spec"),
        (["--random", "x=2:1", "--n", "3"], "lo must be < hi"),
        (["--random", "x=0:1"], "--lhs N or --n N"),
        (["--lhs", "3"], "at least one range"),
        (["--random", "x=0:1", "--lhs", "abc"], "--lhs must be an integer"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--workers", "two"], "--workers must be an integer"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "either --workers or --scheduler"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--root-seed", "-3"], "--root-seed must be >= 0"),
        (["--set", "oops"], "malformed override"),
        (["--runner", "nope:fn"], "cannot load runner"),
        (["--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach a Dask scheduler"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "never"
    argv = [a.replace("{port}", str(_free_port())) for a in argv]
    runner = [] if "--runner" in argv else ["--runner", RUNNER]
    code, stdout, stderr = _cli(capsys, "sweep", "calm", *argv, *runner, "--out", str(out))
    assert code == 2
    assert stderr.startswith("cascade: error: ") and stderr.count("\n") == 1, stderr
    assert message in stderr
    assert not out.exists()


def test_cli_attribute_bad_input(tmp_path, capsys):
    out = tmp_path / "never"
    for argv, message in [
        (["--seeds", "x"], "--seeds must be an integer"),
        (["--classes", "dealers,,bad name"], "not a scenario table name"),
        (["--workers", "-1"], "--workers must be >= 1"),
    ]:
        code, _, stderr = _cli(
            capsys, "attribute", "calm", *argv, "--runner", "sweep_fakes:attribution_run", "--out", str(out)
        )
        assert code == 2 and stderr.startswith("cascade: error: ") and message in stderr, stderr
    assert not out.exists()


def test_register_adds_subcommands_to_a_parent_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="cascade")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run")
    register(sub)
    args = parser.parse_args(["sweep", "calm", "--grid", "a=1,2", "--out", "D"])
    assert args.func.__name__ == "cmd_sweep" and args.grid == ["a=1,2"] and args.seeds == "1"
    args = parser.parse_args(["attribute", "calm", "--out", "D"])
    assert args.func.__name__ == "cmd_attribute" and args.seeds == "10"
