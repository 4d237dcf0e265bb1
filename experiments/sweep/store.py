"""The run store on disk: per-run records written atomically, the lock, resume checks, the runs table.

Layout of a sweep directory::

    out_dir/sweep.json          what this sweep is (see :mod:`experiments.sweep.spec`)
    out_dir/runs/<run_id>.json  one record per finished run, written atomically (temp file + os.replace)
    out_dir/runs.parquet        one row per run, rebuilt from the records at the end of every sweep
    out_dir/series/<run_id>.parquet   each run's timeseries, with ``keep_series=True``

Only the client process (the one running :func:`experiments.sweep.run_sweep`) writes here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.atomic_io import replace_write
from experiments.sweep.designs import format_value
from experiments.sweep.spec import (
    LOCK_FILE,
    RECORDS_DIR,
    RUNS_FILE,
    SPEC_FILE,
    RunTask,
    SweepConfigError,
    identity_differences,
    read_sweep_spec,
    sweep_tasks,
)

if TYPE_CHECKING:
    import pandas as pd

_RESERVED = ("run_id", "point", "seed", "status", "error")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file, fsync, ``os.replace``)."""

    def dump(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1, allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())

    replace_write(path, dump)


def read_records(records_dir: Path) -> dict[str, dict[str, Any]]:
    """The valid run records in ``records_dir`` by run id (unreadable or partial files are skipped)."""
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


def lock_out_dir(out_dir: Path, lock_file: str = LOCK_FILE, what: str = "sweep") -> Any:
    """Hold an exclusive lock on ``out_dir/lock_file`` (released on ``close()`` or when the process dies).

    Args:
        out_dir: The output folder (exists).
        lock_file: The lock file's name in it (default ``.sweep.lock``).
        what: What holds the folder, for the message (``another {what} is running in ...``).

    Returns:
        The open lock file: keep it open while writing, ``close()`` it to release the lock.

    Raises:
        SweepConfigError: Another process holds the lock.
    """
    fh = open(out_dir / lock_file, "a+")  # held open (locked) for the whole sweep
    try:
        import fcntl

        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not POSIX: no protection against concurrent sweeps
        pass
    except OSError:
        fh.close()
        raise SweepConfigError(f"another {what} is running in {str(out_dir)!r}") from None
    return fh


def check_out_dir(out_dir: Path, spec: Mapping[str, Any]) -> bool:
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
        diff = identity_differences(old, spec)
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


def runs_table(
    spec: Mapping[str, Any], tasks: Sequence[RunTask], records: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """The runs table: one row per task that has a record, in task order (see ``run_sweep``)."""
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


def write_table(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` as parquet atomically (temp file + ``os.replace``)."""
    replace_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def collect_runs(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Rebuild ``out_dir/runs.parquet`` from the per-run records (e.g. after a killed sweep).

    Args:
        out_dir: A sweep directory.

    Returns:
        The runs table (finished runs only, in design order: point, then seed).
    """
    out = Path(out_dir)
    spec = read_sweep_spec(out)
    df = runs_table(spec, sweep_tasks(spec, out, False), read_records(out / RECORDS_DIR))
    write_table(df, out / RUNS_FILE)
    return df
