"""Sweep engine: run a scenario over design points x seeds on local processes or a Dask cluster.

A *run* is one (point, seed) pair; the runner (by default ``experiments.runner:run_summary``) is called
as ``runner(scenario, seed, overrides, series_path=...)`` in a worker and returns a flat summary dict.
Every run has a stable ``run_id``: a hash of the scenario's identity (the TOML file's content, so an
edited scenario is a different experiment), the sorted overrides and the seed.

Output directory layout::

    out_dir/sweep.json          what this sweep is (scenario, overrides, points, seeds, runner, design)
    out_dir/runs/<run_id>.json  one record per finished run, written atomically (temp file + os.replace)
    out_dir/runs.parquet        one row per run, rebuilt from the records at the end of every sweep
    out_dir/series/<run_id>.parquet   each run's timeseries, with ``keep_series=True``

Resuming: a re-run of the same sweep into the same directory skips runs that already have a record
(error records are re-run only with ``retry_errors=True``); a killed sweep (Ctrl-C, ``kill -9``) loses
at most the runs in flight. A different sweep in the same directory is refused.

Executors: local processes (``ProcessPoolExecutor``, 'spawn' start method, like Mesa forces) by
default; ``workers=1`` runs in this process. With ``scheduler="tcp://host:port"`` the runs go to an
existing Dask cluster through ``Client.submit``. Local worker processes use this process's numba cache
folder (:func:`numba_cache_dir`, passed to them explicitly), so one warm cache serves the machine; a
``LocalCluster`` started from this process inherits its environment (set ``NUMBA_CACHE_DIR`` to a
writable folder before starting it); **Dask workers started elsewhere must have ``NUMBA_CACHE_DIR`` set in
their own environment** (one folder per machine, shared by its workers; the first run there compiles),
be able to import ``experiments`` and the runner's module, and, with ``keep_series=True``, see
``out_dir`` on a shared filesystem. Run records are written by this (client) process only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import importlib
import json
import math
import multiprocessing
import multiprocessing.connection
import numbers
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from concurrent.futures.process import BrokenProcessPool
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.designs import _KEY, format_value, parse_value

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_RUNNER",
    "SweepConfigError",
    "RunTask",
    "collect_runs",
    "is_sweep_dir",
    "make_run_id",
    "read_sweep_spec",
    "run_sweep",
    "scenario_identity",
]

DEFAULT_RUNNER = "experiments.runner:run_summary"
SPEC_FILE = "sweep.json"
RUNS_FILE = "runs.parquet"
RECORDS_DIR = "runs"
SERIES_DIR = "series"
LOCK_FILE = ".sweep.lock"
FORMAT_VERSION = 1
_IDENTITY_KEYS = ("scenario_id", "overrides", "points", "seeds", "runner")
_RESERVED = ("run_id", "point", "seed", "status", "error")
_ERROR_TAIL_LINES = 12
_ERROR_MAX_CHARS = 4000


class SweepConfigError(ValueError):
    """A sweep that cannot start (bad arguments, unreachable scheduler, another sweep in out_dir).

    Raised before anything is written.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class RunTask:
    """One run, as sent to a worker (plain data: it pickles for processes and Dask).

    Attributes:
        run_id: Stable id (hex) of (scenario identity, sorted overrides, seed).
        point: Index of the design point in the sweep's point list.
        params: The point, dotted key -> value.
        seed: The run's seed.
        scenario: Scenario name or absolute TOML path, as the runner takes it.
        overrides: ``dotted.key=value`` strings: the sweep's fixed overrides, then the point's.
        runner: ``"module:function"`` of the runner.
        series_path: Where the runner writes the timeseries parquet, or None.
    """

    run_id: str
    point: int
    params: dict[str, Any]
    seed: int
    scenario: str
    overrides: tuple[str, ...]
    runner: str
    series_path: str | None = None


# ----------------------------------------------------------------------------------------- identity


def scenario_identity(scenario: str) -> str:
    """Identity of a scenario for run ids: its TOML content hash where the file can be found.

    Args:
        scenario: A shipped scenario name (``experiments/scenarios/<name>.toml``) or a TOML path.

    Returns:
        ``"sha256:<hex>"`` of a TOML file's bytes, ``"<name>@sha256:<hex>"`` for a shipped name, or
        the bare name if no shipped file is found (the runner resolves it).

    Raises:
        SweepConfigError: If ``scenario`` looks like a path (has a ``/`` or ends in ``.toml``) but is
            not a readable file.
    """
    if _looks_like_path(scenario):
        path = Path(scenario)
        if not path.is_file():
            raise SweepConfigError(f"scenario file {scenario!r} not found")
        return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        shipped = resources.files("experiments") / "scenarios" / f"{scenario}.toml"
        if shipped.is_file():
            return f"{scenario}@sha256:" + hashlib.sha256(shipped.read_bytes()).hexdigest()
    except (OSError, ModuleNotFoundError):  # pragma: no cover - packaging oddities
        pass
    return scenario


def _looks_like_path(scenario: str) -> bool:
    return scenario.endswith(".toml") or "/" in scenario or os.sep in scenario


def make_run_id(identity: str, overrides: Iterable[str], seed: int) -> str:
    """Stable run id: first 16 hex digits of sha256 over (identity, sorted overrides, seed).

    Args:
        identity: From :func:`scenario_identity`.
        overrides: Canonical ``key=value`` strings (order does not matter).
        seed: The run's seed.

    Returns:
        16 lowercase hex characters.
    """
    blob = json.dumps([identity, sorted(overrides), int(seed)], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _canonical_override(text: str) -> tuple[str, str]:
    """``(key, 'key=value')`` with the value re-written canonically where possible."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.fullmatch(key) or not raw.strip():
        raise SweepConfigError(f"malformed override {text!r}: expected dotted.key=value")
    try:
        value = format_value(parse_value(raw))
    except ValueError:
        value = raw.strip()  # e.g. an inline table: keep the text as given
    return key, f"{key}={value}"


# ------------------------------------------------------------------------------------------ records


def _jsonable(value: Any) -> Any:
    """Plain-JSON copy of a summary value (numpy scalars/arrays -> Python)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalar or 0-d array
        try:
            out = item()
        except ValueError:  # arrays of several elements
            return [_jsonable(v) for v in value.tolist()]
        if out is not value:
            return _jsonable(out)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return _jsonable(tolist())
    raise TypeError(f"summary value {value!r} of type {type(value).__name__} is not JSON-able")


def _error_text(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    text = "".join(lines).rstrip()
    tail = "\n".join(text.splitlines()[-_ERROR_TAIL_LINES:])
    return tail[-_ERROR_MAX_CHARS:]


def _resolve_runner(spec: str) -> Callable[..., Any]:
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise ValueError(f"runner {spec!r} must be 'module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in func_name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"runner {spec!r} is not callable")
    return obj


def _execute(task: RunTask) -> dict[str, Any]:
    """Run one task in a worker; never raises for a failed run (the error goes in the record)."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "point": task.point, "seed": task.seed}
    try:
        fn = _resolve_runner(task.runner)
        if task.series_path is None:
            summary = fn(task.scenario, task.seed, task.overrides)
        else:
            summary = fn(task.scenario, task.seed, task.overrides, series_path=task.series_path)
        if not isinstance(summary, Mapping):
            raise TypeError(f"runner returned {type(summary).__name__}, expected a dict")
        summary = _jsonable(summary)
        json.dumps(summary)  # fail here (recorded) rather than when writing the record
        record.update(status="ok", error="", summary=summary)
    except Exception as exc:  # noqa: BLE001 - a failed run is data, the sweep goes on
        record.update(status="error", error=_error_text(exc), summary={})
    record["wall_s"] = time.perf_counter() - t0
    record["host"] = socket.gethostname()
    record["pid"] = os.getpid()
    return record


def _write_json_atomic(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, allow_nan=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_records(records_dir: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if not records_dir.is_dir():
        return out
    for path in records_dir.glob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # unreadable: treated as not run (it will be overwritten)
        if isinstance(rec, dict) and rec.get("run_id") == path.stem and rec.get("status") in ("ok", "error"):
            out[path.stem] = rec
    return out


# --------------------------------------------------------------------------------------------- spec


def read_sweep_spec(out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``out_dir/sweep.json``.

    Args:
        out_dir: A sweep directory.

    Returns:
        The sweep description (keys include ``kind``, ``scenario``, ``points``, ``seeds``).

    Raises:
        FileNotFoundError: If there is no ``sweep.json``.
        ValueError: If it is not a sweep description.
    """
    spec = json.loads((Path(out_dir) / SPEC_FILE).read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or spec.get("kind") != "sweep":
        raise ValueError(f"{Path(out_dir) / SPEC_FILE} is not a sweep description")
    return spec


def is_sweep_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a sweep (a readable ``sweep.json`` with ``"kind": "sweep"``).

    Args:
        path: A directory.

    Returns:
        True for a sweep directory (finished or not).
    """
    try:
        read_sweep_spec(path)
    except (OSError, ValueError):
        return False
    return True


def _tasks(spec: Mapping[str, Any], out_dir: Path, keep_series: bool) -> list[RunTask]:
    scenario = spec["run_scenario"]
    base = tuple(spec["overrides"])
    tasks = []
    for i, point in enumerate(spec["points"]):
        point_ovr = [f"{k}={format_value(v)}" for k, v in sorted(point.items())]
        overrides = base + tuple(point_ovr)
        for seed in spec["seeds"]:
            run_id = make_run_id(spec["scenario_id"], overrides, seed)
            series = str(out_dir / SERIES_DIR / f"{run_id}.parquet") if keep_series else None
            tasks.append(
                RunTask(run_id, i, dict(point), int(seed), scenario, overrides, spec["runner"], series)
            )
    return tasks


def _runner_name(runner: str | Callable[..., Any]) -> str:
    if isinstance(runner, str):
        name = runner
    else:
        qual = getattr(runner, "__qualname__", "")
        mod = getattr(runner, "__module__", None)
        if not mod or not qual or "<" in qual or mod == "__main__":
            raise SweepConfigError(
                f"runner {runner!r} must be a module-level function of an importable module "
                "(workers import it by name), or a 'module:function' string"
            )
        name = f"{mod}:{qual}"
    try:
        _resolve_runner(name)
    except Exception as exc:  # noqa: BLE001 - report any import problem as a bad argument
        raise SweepConfigError(f"cannot load runner {name!r}: {type(exc).__name__}: {exc}") from None
    return name


def _build_spec(
    scenario: str,
    points: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    overrides: Sequence[str],
    runner: str,
    design: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if not isinstance(scenario, str) or not scenario.strip():
        raise SweepConfigError("scenario must be a non-empty name or path")
    identity = scenario_identity(scenario)
    run_scenario = str(Path(scenario).resolve()) if _looks_like_path(scenario) else scenario
    if not points:
        raise SweepConfigError("the design has no points")
    seeds = list(seeds)
    if not seeds:
        raise SweepConfigError("no seeds: give at least one")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise SweepConfigError(f"seeds must be non-negative integers, got {s!r}")
    seeds = [int(s) for s in seeds]
    if len(set(seeds)) != len(seeds):
        raise SweepConfigError("seeds must be distinct")
    base: list[str] = []
    base_keys: dict[str, str] = {}
    for text in overrides:
        key, canon = _canonical_override(text)
        if key in base_keys:
            raise SweepConfigError(f"override key {key!r} given twice")
        base_keys[key] = canon
        base.append(canon)
    clean_points: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], int] = {}
    params: dict[str, None] = {}
    for i, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise SweepConfigError(f"point {i} is not a mapping of dotted key -> value")
        clean: dict[str, Any] = {}
        for key, value in point.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise SweepConfigError(f"point {i}: {key!r} is not a dotted key like dealers.enabled")
            if key in base_keys:
                raise SweepConfigError(f"parameter {key!r} is both swept and fixed by an override")
            try:
                text = format_value(value)
            except ValueError as exc:
                raise SweepConfigError(f"point {i}: {key}: {exc}") from None
            clean[key] = parse_value(text)  # plain Python value, exactly what the runner will see
            params.setdefault(key, None)
        ident = tuple(f"{k}={format_value(clean[k])}" for k in sorted(clean))
        if ident in seen:
            raise SweepConfigError(f"point {i} repeats point {seen[ident]}")
        seen[ident] = i
        clean_points.append(clean)
    return {
        "kind": "sweep",
        "format": FORMAT_VERSION,
        "scenario": scenario,
        "run_scenario": run_scenario,
        "scenario_id": identity,
        "overrides": base,
        "parameters": list(params),
        "points": clean_points,
        "seeds": seeds,
        "runner": runner,
        "n_runs": len(clean_points) * len(seeds),
        "design": dict(design) if design else None,
    }


def _lock(out_dir: Path) -> Any:
    """Hold an exclusive lock on ``out_dir/.sweep.lock`` (released when the process dies)."""
    fh = open(out_dir / LOCK_FILE, "a+")  # held open (locked) for the whole sweep
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not POSIX: no protection against concurrent sweeps
        pass
    except OSError:
        fh.close()
        raise SweepConfigError(f"another sweep is running in {str(out_dir)!r}") from None
    return fh


def _validate_points(spec: Mapping[str, Any], validate: Callable[..., object] | None | str) -> None:
    """Load the scenario with each point's overrides in this process; raise SweepConfigError on failure."""
    if validate == "auto":
        if spec["runner"] != DEFAULT_RUNNER:
            return
        from experiments.config import load_scenario

        validate = load_scenario
    if validate is None:
        return
    if not callable(validate):
        raise SweepConfigError(f"validate must be a callable, 'auto' or None, got {validate!r}")
    scenario, base = spec["run_scenario"], tuple(spec["overrides"])
    try:
        validate(scenario, base)
    except Exception as exc:  # noqa: BLE001 - any failure to load is bad input
        raise SweepConfigError(f"{exc}") from None
    for i, point in enumerate(spec["points"]):
        if not point:
            continue
        point_ovr = tuple(f"{k}={format_value(v)}" for k, v in sorted(point.items()))
        try:
            validate(scenario, base + point_ovr)
        except Exception as exc:  # noqa: BLE001
            raise SweepConfigError(f"point {i} ({', '.join(point_ovr)}): {exc}") from None


def _check_out_dir(out_dir: Path, spec: Mapping[str, Any]) -> bool:
    """Return True if ``out_dir`` already holds this sweep; raise if it holds something else."""
    from experiments.outputs import OutputError, check_creatable

    if out_dir.exists() and not out_dir.is_dir():
        raise SweepConfigError(f"output {str(out_dir)!r} exists and is not a directory")
    try:
        check_creatable(out_dir)  # under a file, not writable: refused before anything runs
    except OutputError as exc:
        raise SweepConfigError(str(exc)) from None
    if not out_dir.exists():
        return False
    spec_path = out_dir / SPEC_FILE
    if spec_path.exists():
        try:
            old = read_sweep_spec(out_dir)
        except (OSError, ValueError) as exc:
            raise SweepConfigError(
                f"{spec_path} is unreadable ({exc}); choose another output folder"
            ) from None
        new = json.loads(json.dumps(spec))
        diff = [k for k in _IDENTITY_KEYS if old.get(k) != new.get(k)]
        if diff:
            raise SweepConfigError(
                f"{str(out_dir)!r} holds a different sweep (its {', '.join(diff)} differ); "
                "choose another output folder or delete it"
            )
        return True
    if any(not p.name.startswith(".") for p in out_dir.iterdir()):
        raise SweepConfigError(
            f"{str(out_dir)!r} is not empty and holds no sweep; choose another output folder"
        )
    return False


# ---------------------------------------------------------------------------------------- executors


def numba_cache_dir() -> str | None:
    """The numba cache folder this process uses (absolute), or None for numba's default locations.

    numba reads ``NUMBA_CACHE_DIR`` once, when it is imported: once it is, ``numba.config.CACHE_DIR``
    is what this process really uses, whatever the environment says now.
    """
    numba = sys.modules.get("numba")
    path = numba.config.CACHE_DIR if numba is not None else os.environ.get("NUMBA_CACHE_DIR", "")
    return os.path.abspath(path) if path else None


def _use_numba_cache(path: str | None) -> None:  # pragma: no cover - runs in worker processes
    """Make this (worker) process use the numba cache folder ``path`` (None: numba's defaults)."""
    if path is None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
    else:
        os.environ["NUMBA_CACHE_DIR"] = path
    numba = sys.modules.get("numba")  # not imported yet in a fresh worker; set it anyway if it is
    if numba is not None:
        numba.config.CACHE_DIR = path or ""


def _watch_parent(cache_dir: str | None = None) -> None:  # pragma: no cover - runs in worker processes
    """Worker initializer: the parent's numba cache; ignore Ctrl-C (the parent handles it); die with it."""
    _use_numba_cache(cache_dir)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="cascade-parent-watch", daemon=True).start()


class _Backend:
    """Minimal executor interface used by the sweep loop."""

    capacity: int = 1

    def submit(self, task: RunTask) -> Any:
        raise NotImplementedError

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        raise NotImplementedError

    def result(self, future: Any, task: RunTask) -> dict[str, Any] | None:
        """The run's record, or None if the worker process died (the pool was rebuilt)."""
        raise NotImplementedError

    def close(self, abort: bool) -> None:
        pass


class _InProcess(_Backend):
    capacity = 1

    def submit(self, task: RunTask) -> Any:
        fut: Future[dict[str, Any]] = Future()
        fut.set_result(_execute(task))
        return fut

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        return list(futures)

    def result(self, future: Any, task: RunTask) -> dict[str, Any]:
        return future.result()


class _LocalProcesses(_Backend):
    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self._pool = self._new_pool()
        self._spawned: list[Any] = []  # every worker process of the current and retired pools

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(numba_cache_dir(),),  # one warm cache per machine, whatever the workers' env
        )

    def _track(self) -> None:
        # Processes are spawned synchronously inside submit(), so this sees each one.
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            if proc not in self._spawned:
                self._spawned.append(proc)

    def _reap(self) -> None:
        """Terminate every worker process still alive (e.g. one a broken pool failed to stop)."""
        for proc in self._spawned:
            if proc.is_alive():
                proc.terminate()
        for proc in self._spawned:
            proc.join(timeout=5)
        self._spawned = []

    def submit(self, task: RunTask) -> Any:
        try:
            future = self._pool.submit(_execute, task)
        except (BrokenProcessPool, OSError):
            # A worker died. If that races with spawning a worker inside submit(), CPython 3.11 raises
            # OSError('handle is closed') or leaves the new worker alive and waiting forever, so retire
            # the old pool's processes explicitly.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._reap()
            self._pool = self._new_pool()
            future = self._pool.submit(_execute, task)
        self._track()
        return future

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        done, _ = cf_wait(list(futures), return_when=FIRST_COMPLETED)
        return done

    def result(self, future: Any, task: RunTask) -> dict[str, Any] | None:
        try:
            return future.result()
        except BrokenProcessPool:
            return None  # the loop re-runs the runs in flight, one at a time, to find the culprit
        except Exception as exc:  # noqa: BLE001 - e.g. a task that failed to pickle
            return _failure(task, _error_text(exc))

    def close(self, abort: bool) -> None:
        if abort:
            self._pool.shutdown(wait=False, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True)
        self._reap()


class _Dask(_Backend):
    def __init__(self, address: str, timeout_s: float, worker_timeout_s: float = 60.0) -> None:
        from distributed import Client, as_completed

        self._client = Client(address, timeout=timeout_s, set_as_default=False)
        if not self._client.nthreads():
            print(
                f"cascade: the Dask scheduler at {address} has no workers yet; waiting up to "
                f"{worker_timeout_s:g} s for one (start one with `dask worker {address}`)",
                file=sys.stderr,
            )
            try:
                self._client.wait_for_workers(1, timeout=worker_timeout_s)
            except (TimeoutError, OSError) as exc:
                self.close(abort=True)
                raise SweepConfigError(
                    f"the Dask scheduler at {address!r} has no workers after {worker_timeout_s:g} s; "
                    "start workers (`dask worker ADDRESS`) or raise --worker-timeout"
                ) from exc
        nthreads = sum(self._client.nthreads().values())
        self.capacity = max(2 * nthreads, 2)
        self._done = as_completed(loop=self._client.loop)

    def submit(self, task: RunTask) -> Any:
        key = f"cascade-run-{task.run_id}-{os.urandom(4).hex()}"
        future = self._client.submit(_execute, task, pure=False, key=key)
        self._done.add(future)
        return future

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        return self._done.next_batch(block=True)

    def result(self, future: Any, task: RunTask) -> dict[str, Any]:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record it, go on
            return _failure(task, _error_text(exc))

    def close(self, abort: bool) -> None:
        try:
            self._client.close(timeout=10)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _failure(task: RunTask, text: str) -> dict[str, Any]:
    return {
        "run_id": task.run_id,
        "point": task.point,
        "seed": task.seed,
        "status": "error",
        "error": text,
        "summary": {},
        "wall_s": math.nan,
        "host": "",
        "pid": -1,
    }


def _probe_scheduler(address: str, timeout_s: float) -> None:
    """Check that ``address`` answers like a Dask scheduler within ``timeout_s``; raise otherwise."""
    if not isinstance(address, str) or not address.strip():
        raise SweepConfigError("scheduler address must be a non-empty string such as tcp://host:8786")

    async def probe() -> None:
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await asyncio.wait_for(comm.read(), timeout_s)
        finally:
            comm.abort()
        if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
            raise OSError(f"the service at {address} did not answer as a Dask scheduler")

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout_s + 1.0))
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        if isinstance(exc, TimeoutError) and not str(exc):
            text = f"no answer within {timeout_s:g} s"
        elif isinstance(exc, OSError | ValueError | TimeoutError):
            text = str(exc).splitlines()[0][:200]
        else:  # e.g. garbage from a service that is not Dask
            text = f"the service there did not answer as a Dask scheduler ({type(exc).__name__})"
        raise SweepConfigError(f"cannot reach a Dask scheduler at {address!r}: {text}") from None


def _make_backend(
    workers: int | None, scheduler: str | None, n_todo: int, timeout_s: float, worker_timeout_s: float = 60.0
) -> _Backend:
    if scheduler is not None:
        _probe_scheduler(scheduler, timeout_s)
        try:
            return _Dask(scheduler, timeout_s, worker_timeout_s)
        except SweepConfigError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise SweepConfigError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
    assert workers is not None
    n = min(workers, max(n_todo, 1))
    return _InProcess() if n == 1 else _LocalProcesses(n)


def _check_workers(workers: int | None, scheduler: str | None) -> int | None:
    if scheduler is not None:
        if workers is not None:
            raise SweepConfigError("give either workers or a scheduler, not both")
        return None
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepConfigError(f"workers must be a positive integer, got {workers!r}")
    return workers


# -------------------------------------------------------------------------------------------- table


def _column_kind(values: list[Any]) -> str:
    kinds = set()
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, int | float):
            kinds.add("number")
        elif isinstance(v, str):
            kinds.add("str")
        else:
            kinds.add("other")
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "empty")


def _arrow_safe(columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Make every column one type parquet can hold: mixed or nested values become TOML/JSON text."""
    out = {}
    for name, values in columns.items():
        kind = _column_kind(values)
        if kind in ("mixed", "other"):

            def text(v: Any) -> Any:
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    return None
                if isinstance(v, str):
                    return v
                try:
                    return format_value(v)
                except ValueError:
                    return json.dumps(v, sort_keys=True)

            values = [text(v) for v in values]
        elif kind == "number":
            values = [math.nan if v is None else v for v in values]
        out[name] = values
    return out


def _table(
    spec: Mapping[str, Any], tasks: Sequence[RunTask], records: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    import pandas as pd

    params = list(spec["parameters"])
    reserved = set(_RESERVED) | set(params)
    metrics: dict[str, None] = {}
    rows = []
    for task in tasks:
        rec = records.get(task.run_id)
        if rec is None:
            continue
        summary = rec.get("summary") or {}
        for key in summary:
            if key not in reserved:
                metrics.setdefault(key, None)
        rows.append((task, rec, summary))
    columns: dict[str, list[Any]] = {
        "run_id": [t.run_id for t, _, _ in rows],
        "point": [t.point for t, _, _ in rows],
    }
    for key in params:
        columns[key] = [t.params.get(key) for t, _, _ in rows]
    columns["seed"] = [t.seed for t, _, _ in rows]
    columns["status"] = [r["status"] for _, r, _ in rows]
    columns["error"] = [r.get("error", "") for _, r, _ in rows]
    for key in metrics:
        columns[key] = [s.get(key) for _, _, s in rows]
    df = pd.DataFrame(_arrow_safe(columns))
    df["seed"] = df["seed"].astype("int64")
    df["point"] = df["point"].astype("int64")
    return df


def _write_table(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def collect_runs(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Rebuild ``out_dir/runs.parquet`` from the per-run records (e.g. after a killed sweep).

    Args:
        out_dir: A sweep directory.

    Returns:
        The runs table (finished runs only, in design order: point, then seed).
    """
    out = Path(out_dir)
    spec = read_sweep_spec(out)
    df = _table(spec, _tasks(spec, out, False), _read_records(out / RECORDS_DIR))
    _write_table(df, out / RUNS_FILE)
    return df


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
        points: Design points, dotted key -> value (see ``experiments.designs``); ``[{}]`` runs the
            scenario as is.
        seeds: Seeds, the same for every point (distinct non-negative integers).
        out_dir: Output folder (created); must be empty, absent, or hold this same sweep.
        workers: Local worker processes (default ``os.cpu_count()``; 1 runs in this process).
        scheduler: Dask scheduler address (``tcp://host:port``) instead of local processes.
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
    n_workers = _check_workers(workers, scheduler)
    runner_name = _runner_name(runner)
    spec = _build_spec(scenario, points, seeds, overrides, runner_name, design)
    _validate_points(spec, validate)
    resuming = _check_out_dir(out, spec)
    records_dir = out / RECORDS_DIR
    tasks = _tasks(spec, out, keep_series)

    def outstanding(records: Mapping[str, Mapping[str, Any]]) -> list[RunTask]:
        return [
            t
            for t in tasks
            if t.run_id not in records or (retry_errors and records[t.run_id]["status"] == "error")
        ]

    todo = outstanding(_read_records(records_dir) if resuming else {})
    if not (isinstance(worker_timeout_s, int | float) and 0 < worker_timeout_s <= 86_400):
        raise SweepConfigError(f"worker timeout must be > 0 and <= 86400 s, got {worker_timeout_s!r}")
    timeouts = (scheduler_timeout_s, worker_timeout_s)
    backend = _make_backend(n_workers, scheduler, len(todo), *timeouts) if todo else None

    # ---- from here on we write
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = _lock(out)
    except BaseException:
        if backend is not None:
            backend.close(abort=True)
        raise
    records: dict[str, dict[str, Any]] = {}
    try:
        records = _read_records(records_dir)  # again, now that no other sweep can write here
        todo = outstanding(records)
        records_dir.mkdir(exist_ok=True)
        if keep_series:
            (out / SERIES_DIR).mkdir(exist_ok=True)
        if not resuming:
            spec = {**spec, "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
            _write_json_atomic(out / SPEC_FILE, spec)
        for stale in records_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        if todo:
            if backend is None:  # pragma: no cover - records vanished between the two reads
                backend = _make_backend(n_workers, scheduler, len(todo), *timeouts)
            _run_loop(backend, todo, records, records_dir, progress, str(scenario))
        elif backend is not None:
            backend.close(abort=False)
    finally:
        try:
            df = _table(spec, tasks, records)
            _write_table(df, out / RUNS_FILE)
        finally:
            lock.close()
    df.attrs["n_skipped"] = len(tasks) - len(todo)
    return df


def _run_loop(
    backend: _Backend,
    todo: list[RunTask],
    records: dict[str, dict[str, Any]],
    records_dir: Path,
    progress: bool,
    label: str,
) -> None:
    from tqdm import tqdm

    pending = list(reversed(todo))  # pop() from the end keeps design order
    inflight: dict[Any, RunTask] = {}
    # Runs in flight when a worker process died: re-run alone, so a crash can be pinned on its run.
    suspects: list[RunTask] = []
    alone: RunTask | None = None
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
        while pending or inflight or suspects:
            if suspects and not inflight:
                alone = suspects.pop()
                inflight[backend.submit(alone)] = alone
            while alone is None and not suspects and pending and len(inflight) < backend.capacity:
                task = pending.pop()
                inflight[backend.submit(task)] = task
            for fut in backend.wait_any(list(inflight)):
                task = inflight.pop(fut)
                rec = backend.result(fut, task)
                if rec is None:  # its worker process died
                    if task is not alone:
                        suspects.append(task)
                        continue
                    rec = _failure(
                        task,
                        "the worker process died while running this run alone "
                        "(a crash in native code, or out of memory?)",
                    )
                if task is alone:
                    alone = None
                rec["params"] = task.params
                rec["finished_utc"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
                _write_json_atomic(records_dir / f"{task.run_id}.json", rec)
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
