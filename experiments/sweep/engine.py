"""The sweep loop: :func:`run_sweep` checks a sweep, then runs what is not done yet and saves each record.

Resuming: a re-run of the same sweep into the same directory skips runs that already have a record
(error records are re-run only with ``retry_errors=True``); a killed sweep (Ctrl-C, ``kill -9``) loses
at most the runs in flight. A different sweep in the same directory is refused.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.atomic_io import TMP_GLOB
from experiments.sweep.executors import Backend, check_workers, make_backend
from experiments.sweep.spec import (
    DEFAULT_RUNNER,
    RECORDS_DIR,
    RUNS_FILE,
    SERIES_DIR,
    SPEC_FILE,
    RunTask,
    SweepConfigError,
    build_spec,
    runner_name,
    sweep_tasks,
    validate_points,
)
from experiments.sweep.store import (
    check_out_dir,
    lock_out_dir,
    read_records,
    runs_table,
    write_json_atomic,
    write_table,
)

if TYPE_CHECKING:
    import pandas as pd

# -------------------------------------------------------------------------------------------- sweep


def run_sweep(
    scenario: str,
    points: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    out_dir: str | os.PathLike[str],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    keep_series: bool = False,
    runner: str | Callable[..., Any] = DEFAULT_RUNNER,
    progress: bool = True,
    overrides: Sequence[str] = (),
    retry_errors: bool = False,
    design: Mapping[str, Any] | None = None,
    scheduler_timeout_s: float = 4.0,
    worker_timeout_s: float = 60.0,
    validate: Callable[[str, tuple[str, ...]], object] | None | str = "auto",
) -> pd.DataFrame:
    """Run every (point, seed) of a sweep, resumably, and return the runs table.

    Args:
        scenario: Shipped scenario name or TOML path.
        points: Design points, dotted key -> value (see :mod:`experiments.sweep.designs`); ``[{}]`` runs the
            scenario as is.
        seeds: Seeds, the same for every point (distinct non-negative integers).
        out_dir: Output folder (created); must be empty, absent, or hold this same sweep.
        workers: Local worker processes, in a Dask ``LocalCluster`` started for this sweep and closed
            after it (default ``os.cpu_count()``; 1 runs in this process).
        scheduler: Dask scheduler address (``tcp://host:port``) instead of local workers.
        keep_series: Let each run write ``out_dir/series/<run_id>.parquet``.
        runner: ``"module:function"`` (or a module-level function) called as
            ``runner(scenario, seed, overrides[, series_path=...]) -> dict``.
        progress: Show a tqdm progress bar with ETA on stderr.
        overrides: ``dotted.key=value`` strings applied to every run (a swept key may not repeat here).
        retry_errors: Re-run runs whose record says ``error``.
        design: Free-form description of how the points were made (stored in ``sweep.json``).
        scheduler_timeout_s: How long to try to reach the scheduler, in seconds.
        worker_timeout_s: How long to wait for a scheduler without workers to get one, in seconds
            (a message says so on stderr); then :class:`SweepConfigError`, nothing written.
        validate: Called as ``validate(scenario, overrides)`` once per point before anything runs; an
            exception there is bad input (a typo in a key, a value out of bounds). ``"auto"``: the
            scenario loader ``experiments.config.load_scenario`` when ``runner`` is the default
            runner (about 5 ms per point), else no check; None: no check.

    Returns:
        The runs table, also written to ``out_dir/runs.parquet``: ``run_id``, ``point`` (index into
        ``points``), one column per parameter, ``seed``, ``status`` ("ok"/"error"), ``error``
        (traceback tail) and every summary metric.

    Raises:
        SweepConfigError: Before anything is written, for bad arguments, an unloadable runner, an
            unreachable scheduler, or another sweep (or other files) in ``out_dir``.
        KeyboardInterrupt: After Ctrl-C, once finished runs are saved and ``runs.parquet`` rebuilt.
    """
    out = Path(out_dir)
    n_workers = check_workers(workers, scheduler)
    runner_spec = runner_name(runner)
    spec = build_spec(scenario, points, seeds, overrides, runner_spec, design)
    validate_points(spec, validate)
    resuming = check_out_dir(out, spec)
    records_dir = out / RECORDS_DIR
    tasks = sweep_tasks(spec, out, keep_series)
    # an argument check, before the records are read (the checks above run first, as they always have)
    if not (isinstance(worker_timeout_s, int | float) and 0 < worker_timeout_s <= 86_400):
        raise SweepConfigError(f"worker timeout must be > 0 and <= 86400 s, got {worker_timeout_s!r}")

    def outstanding(records: Mapping[str, Mapping[str, Any]]) -> list[RunTask]:
        return [
            t
            for t in tasks
            if t.run_id not in records or (retry_errors and records[t.run_id]["status"] == "error")
        ]

    todo = outstanding(read_records(records_dir) if resuming else {})
    timeouts = (scheduler_timeout_s, worker_timeout_s)
    backend = make_backend(n_workers, scheduler, len(todo), *timeouts, runner_spec) if todo else None

    # ---- from here on we write
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = lock_out_dir(out)
    except BaseException:
        if backend is not None:
            backend.close(abort=True)
        raise
    records: dict[str, dict[str, Any]] = {}
    try:
        records = read_records(records_dir)  # again, now that no other sweep can write here
        todo = outstanding(records)
        records_dir.mkdir(exist_ok=True)
        if keep_series:
            (out / SERIES_DIR).mkdir(exist_ok=True)
        if not resuming:
            spec = {**spec, "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
            write_json_atomic(out / SPEC_FILE, spec)
        for stale in records_dir.glob(TMP_GLOB):
            stale.unlink(missing_ok=True)
        if todo:
            if backend is None:  # pragma: no cover - records vanished between the two reads
                backend = make_backend(n_workers, scheduler, len(todo), *timeouts, runner_spec)
            _run_loop(backend, todo, records, records_dir, progress, str(scenario))
        elif backend is not None:
            backend.close(abort=False)
    finally:
        try:
            df = runs_table(spec, tasks, records)
            write_table(df, out / RUNS_FILE)
        finally:
            lock.close()
    df.attrs["n_skipped"] = len(tasks) - len(todo)
    return df


def _run_loop(
    backend: Backend,
    todo: list[RunTask],
    records: dict[str, dict[str, Any]],
    records_dir: Path,
    progress: bool,
    label: str,
) -> None:
    from tqdm import tqdm

    pending = list(reversed(todo))  # pop() from the end keeps design order
    inflight: dict[Any, RunTask] = {}
    n_err = 0
    aborted = True
    bar = tqdm(
        total=len(todo),
        desc=f"sweep {label}",
        unit="run",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.1,
    )
    try:
        while pending or inflight:
            while pending and len(inflight) < backend.capacity:
                task = pending.pop()
                inflight[backend.submit(task)] = task
            for fut in backend.wait_any(list(inflight)):
                task = inflight.pop(fut)
                rec = backend.result(fut, task)  # a worker that died is an error record (Dask)
                rec["params"] = task.params
                rec["finished_utc"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
                write_json_atomic(records_dir / f"{task.run_id}.json", rec)
                records[task.run_id] = rec
                if rec["status"] != "ok":
                    n_err += 1
                    bar.set_postfix(errors=n_err, refresh=False)
                bar.update(1)
        aborted = False
    finally:
        bar.close()
        if inflight:
            for fut in inflight:
                fut.cancel()
        backend.close(abort=aborted)
