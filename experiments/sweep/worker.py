"""What runs in a worker: load the runner by name, call it for one task, return the run's record.

Worker processes (local or on a Dask cluster) import only this module of the sweep package (and the
runner's module); it needs nothing beyond the standard library at import time.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import json
import math
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.sweep.spec import RunTask

_ERROR_TAIL_LINES = 12
_ERROR_MAX_CHARS = 4000

# ------------------------------------------------------------------------------------------ records


def jsonable(value: Any) -> Any:
    """Plain-JSON copy of a summary value (numpy scalars/arrays -> Python)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalar or 0-d array
        try:
            out = item()
        except ValueError:  # arrays of several elements
            return [jsonable(v) for v in value.tolist()]
        if out is not value:
            return jsonable(out)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    raise TypeError(f"summary value {value!r} of type {type(value).__name__} is not JSON-able")


def error_text(exc: BaseException) -> str:
    """The last lines of ``exc``'s traceback (at most 12 lines, 4000 characters)."""
    lines = traceback.format_exception(exc)
    text = "".join(lines).rstrip()
    tail = "\n".join(text.splitlines()[-_ERROR_TAIL_LINES:])
    return tail[-_ERROR_MAX_CHARS:]


def error_last_line(text: object) -> str:
    """The last line of an error record's text (the exception's own line); ``""`` for none."""
    return (str(text).strip().splitlines() or [""])[-1]


def resolve_runner(spec: str) -> Callable[..., Any]:
    """Import and return the function named by ``"module:function"``.

    Raises:
        ValueError: If ``spec`` is not ``module:function``.
        TypeError: If the named object is not callable.
    """
    module_name, sep, func_name = spec.partition(":")
    if not sep or not module_name or not func_name:
        raise ValueError(f"runner {spec!r} must be 'module:function'")
    obj: Any = importlib.import_module(module_name)
    for part in func_name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"runner {spec!r} is not callable")
    return obj


def execute_task(task: RunTask) -> dict[str, Any]:
    """Run one task in a worker; never raises for a failed run (the error goes in the record)."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"run_id": task.run_id, "point": task.point, "seed": task.seed}
    try:
        fn = resolve_runner(task.runner)
        if task.series_path is None:
            summary = fn(task.scenario, task.seed, task.overrides)
        else:
            summary = fn(task.scenario, task.seed, task.overrides, series_path=task.series_path)
        if not isinstance(summary, Mapping):
            raise TypeError(f"runner returned {type(summary).__name__}, expected a dict")
        summary = jsonable(summary)
        json.dumps(summary)  # fail here (recorded) rather than when writing the record
        record.update(status="ok", error="", summary=summary)
    except Exception as exc:  # noqa: BLE001 - a failed run is data, the sweep goes on
        record.update(status="error", error=error_text(exc), summary={})
    record["wall_s"] = time.perf_counter() - t0
    record["host"] = socket.gethostname()
    record["pid"] = os.getpid()
    return record


def failure_record(task: RunTask, text: str) -> dict[str, Any]:
    """The record of a run that could not report itself (its worker died, its result did not arrive)."""
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


def dask_setup(worker: object) -> None:  # pragma: no cover - runs in Dask worker processes
    """Dask preload hook of local-cluster workers: ignore Ctrl-C, exit without a garbage collection.

    A terminal's Ctrl-C reaches the whole process group; the sweep saves what finished and closes the
    cluster, so the workers need not (and should not print tracebacks about it).

    A worker that has run a day holds some 160 k Python objects; at exit the interpreter's module
    teardown runs full garbage collections over all of them (0.7 s on a quiet 2-core machine, 2 s on a
    busy one, which the sweep waits for when it closes the cluster). Freezing them when the exit
    begins (``gc.freeze`` as an ``atexit`` hook) skips that; ``atexit`` hooks and finalizers of objects
    outside reference cycles still run, and the memory goes back to the system with the process.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(gc.freeze)
