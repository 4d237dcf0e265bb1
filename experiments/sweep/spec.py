"""What a sweep is: its description (``sweep.json``), run ids and the tasks it is made of.

A *run* is one (point, seed) pair. Every run has a stable ``run_id``: a hash of the scenario's identity
(the TOML file's content, so an edited scenario is a different experiment), the sorted overrides and the
seed. :func:`build_spec` checks a sweep's arguments and returns its description; :func:`sweep_tasks`
turns a description into :class:`RunTask` objects, the plain data sent to workers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from experiments.sweep.designs import DOTTED_KEY, format_value, parse_value, point_overrides
from experiments.sweep.worker import resolve_runner

DEFAULT_RUNNER = "experiments.runner:run_summary"
SPEC_FILE = "sweep.json"
RUNS_FILE = "runs.parquet"
RECORDS_DIR = "runs"
SERIES_DIR = "series"
LOCK_FILE = ".sweep.lock"
FORMAT_VERSION = 1
IDENTITY_KEYS = ("scenario_id", "overrides", "points", "seeds", "runner")


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


def identity_differences(
    stored: Mapping[str, Any], spec: Mapping[str, Any], ignore: Iterable[str] = ()
) -> list[str]:
    """Identity keys (``IDENTITY_KEYS`` less ``ignore``) in which a stored sweep.json differs from ``spec``.

    ``spec`` is compared as ``sweep.json`` holds it (through JSON: tuples become lists).
    """
    new = json.loads(json.dumps(spec))
    skip = set(ignore)
    return [k for k in IDENTITY_KEYS if k not in skip and stored.get(k) != new.get(k)]


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
    if not sep or not DOTTED_KEY.fullmatch(key) or not raw.strip():
        raise SweepConfigError(f"malformed override {text!r}: expected dotted.key=value")
    try:
        value = format_value(parse_value(raw))
    except ValueError:
        value = raw.strip()  # e.g. an inline table: keep the text as given
    return key, f"{key}={value}"


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


def sweep_tasks(spec: Mapping[str, Any], out_dir: Path, keep_series: bool) -> list[RunTask]:
    """The runs of a sweep description in design order (point, then seed), with their ids and series paths."""
    scenario = spec["run_scenario"]
    base = tuple(spec["overrides"])
    tasks = []
    for i, point in enumerate(spec["points"]):
        overrides = base + point_overrides(point)
        for seed in spec["seeds"]:
            run_id = make_run_id(spec["scenario_id"], overrides, seed)
            series = str(out_dir / SERIES_DIR / f"{run_id}.parquet") if keep_series else None
            tasks.append(
                RunTask(run_id, i, dict(point), int(seed), scenario, overrides, spec["runner"], series)
            )
    return tasks


def runner_name(runner: str | Callable[..., Any]) -> str:
    """``"module:function"`` of a runner given by name or as a module-level function; loads it to check."""
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
        resolve_runner(name)
    except Exception as exc:  # noqa: BLE001 - report any import problem as a bad argument
        raise SweepConfigError(f"cannot load runner {name!r}: {type(exc).__name__}: {exc}") from None
    return name


def build_spec(
    scenario: str,
    points: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    overrides: Sequence[str],
    runner: str,
    design: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Check a sweep's arguments and return its description (what ``sweep.json`` holds).

    Raises:
        SweepConfigError: For an empty scenario, no points or seeds, bad seeds, a malformed or repeated
            override, a bad point key or value, or a repeated point.
    """
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
            if not isinstance(key, str) or not DOTTED_KEY.fullmatch(key):
                raise SweepConfigError(f"point {i}: {key!r} is not a dotted key like dealers.enabled")
            if key in base_keys:
                raise SweepConfigError(f"parameter {key!r} is both swept and fixed by an override")
            try:
                text = format_value(value)
            except ValueError as exc:
                raise SweepConfigError(f"point {i}: {key}: {exc}") from None
            clean[key] = parse_value(text)  # plain Python value, exactly what the runner will see
            params.setdefault(key, None)
        ident = point_overrides(clean)
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


def validate_points(spec: Mapping[str, Any], validate: Callable[..., object] | None | str) -> None:
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
        point_ovr = point_overrides(point)
        try:
            validate(scenario, base + point_ovr)
        except Exception as exc:  # noqa: BLE001
            raise SweepConfigError(f"point {i} ({', '.join(point_ovr)}): {exc}") from None
