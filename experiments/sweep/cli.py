"""The ``cascade sweep`` and ``cascade attribute`` subcommands.

``experiments.cli`` calls :func:`register` with its subparsers object; each subcommand sets
``func`` (call ``args.func(args)``, which returns the exit code). Standalone:
``python -m experiments.sweep.cli sweep ...`` (old path: ``experiments.sweep_cli``) does the same as
``cascade sweep ...``.

Exit codes: 0 all runs ok; 1 the sweep finished but some runs failed (their errors are in
``runs.parquet``); 2 bad input (one line ``cascade: error: ...`` on stderr, nothing written);
130 interrupted (finished runs are kept: re-run the same command to resume).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["cmd_attribute", "cmd_sweep", "main", "register"]

_EXECUTOR_HELP = (
    "--workers N starts a local Dask cluster of N worker processes (default: all cores; 1 runs in "
    "this process); --scheduler tcp://HOST:PORT sends the runs to a running Dask cluster instead (its "
    "workers need NUMBA_CACHE_DIR set and this package installed)"
)


def register(subparsers: Any) -> None:
    """Add the ``sweep`` and ``attribute`` subcommands to an argparse subparsers object.

    Args:
        subparsers: What ``ArgumentParser.add_subparsers()`` returned.
    """
    p = subparsers.add_parser(
        "sweep",
        help="run a scenario over a grid / random design x seeds (resumable)",
        description="Run SCENARIO over design points x seeds; writes OUT/runs.parquet (one row per run). "
        "Re-running the same command resumes: finished runs are skipped. " + _EXECUTOR_HELP,
    )
    add_scenario_arg(p)
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="grid values of a dotted key (TOML literals); several --grid make a product",
    )
    p.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="KEY=LO:HI[:int]",
        help="uniform range of a dotted key (floats; append :int for integers); needs --lhs or --n",
    )
    p.add_argument("--lhs", metavar="N", help="N Latin-hypercube points over the --random ranges")
    p.add_argument("--n", metavar="N", help="N independent uniform points over the --random ranges")
    _common(p, default_seeds="1")
    p.add_argument("--keep-series", action="store_true", help="keep each run's timeseries in OUT/series/")
    p.set_defaults(func=cmd_sweep)

    a = subparsers.add_parser(
        "attribute",
        help="counterfactual attribution: switch each agent class off in turn",
        description="Run SCENARIO as is and with each agent class switched off (<class>.enabled=false), "
        "same seeds; report per class the mean paired contribution (baseline - knockout) to "
        "max_drawdown_pct and close_return_pct with a 95% t-interval. Writes OUT/attribution.parquet, "
        ".csv and .json. Resumable like sweep. " + _EXECUTOR_HELP,
    )
    add_scenario_arg(a)
    a.add_argument(
        "--classes",
        metavar="A,B,...",
        default="dealers,cta,hedgers,dip_buyers",
        help="agent classes to switch off (default: %(default)s)",
    )
    _common(a, default_seeds="10")
    a.set_defaults(func=cmd_attribute)


def _common(p: argparse.ArgumentParser, default_seeds: str) -> None:
    p.add_argument(
        "--seeds",
        metavar="N",
        default=default_seeds,
        help="seeds per point, the same for every point (default: %(default)s)",
    )
    p.add_argument(
        "--root-seed",
        metavar="S",
        default="0",
        help="root of the SeedSequence for seeds and random points (default: %(default)s)",
    )
    p.add_argument(
        "--workers", metavar="N", help="local Dask worker processes (default: all cores; 1: in this process)"
    )
    add_scheduler_flag(p)
    p.add_argument(
        "--worker-timeout",
        metavar="SECONDS",
        default="60",
        help="with --scheduler: seconds to wait for a first worker, then exit 2 (default: %(default)s)",
    )
    add_set_flag(p)
    p.add_argument("--retry-errors", action="store_true", help="re-run runs that failed before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--runner",
        default=None,
        metavar="MODULE:FUNC",
        help="runner function (default: experiments.runner:run_summary; for tests and benchmarks)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")


def add_scenario_arg(p: argparse.ArgumentParser) -> None:
    """The ``scenario`` positional argument (shared with ``cascade calibrate`` and ``sensitivity``)."""
    p.add_argument("scenario", help="shipped scenario name or path to a TOML file")


def add_scheduler_flag(p: argparse.ArgumentParser) -> None:
    """The ``--scheduler ADDRESS`` flag (shared with ``cascade calibrate`` and ``sensitivity``)."""
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")


def add_set_flag(p: argparse.ArgumentParser) -> None:
    """The repeatable ``--set KEY=VALUE`` flag into ``args.overrides`` (shared with calibration)."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override applied to every run (repeatable)",
    )


class _Usage(ValueError):
    pass


def fail_line(exc: BaseException) -> int:
    """Print ``exc`` as one ``cascade: error:`` line on stderr; return exit code 2."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    print(f"cascade: error: {text}", file=sys.stderr)
    return 2


def parse_int(text: str | None, flag: str, minimum: int) -> int | None:
    """``text`` as an integer >= ``minimum`` (None stays None); a ``ValueError`` naming ``flag``."""
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise _Usage(f"{flag} must be an integer, got {text!r}") from None
    if value < minimum:
        raise _Usage(f"{flag} must be >= {minimum}, got {value}")
    return value


def _seconds(text: str, flag: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise _Usage(f"{flag} must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 86_400:
        raise _Usage(f"{flag} must be > 0 and <= 86400 seconds, got {text!r}")
    return value


def _executor(args: argparse.Namespace) -> tuple[int | None, str | None, float]:
    """Checked ``(workers, scheduler, worker_timeout_s)`` from the executor flags (seconds)."""
    worker_timeout_s = _seconds(args.worker_timeout, "--worker-timeout")
    return parse_workers(args), args.scheduler, worker_timeout_s


def parse_workers(args: argparse.Namespace) -> int | None:
    """``--workers`` as an integer >= 1 (None: not given); a ``ValueError`` if ``--scheduler`` is too."""
    workers = parse_int(args.workers, "--workers", 1)
    if workers is not None and args.scheduler is not None:
        raise _Usage("give either --workers or --scheduler, not both")
    return workers


def _setup(args: argparse.Namespace) -> tuple[int, int, dict[str, Any]]:
    """Checked flags that ``sweep`` and ``attribute`` share: ``(n_seeds, root_seed, engine keywords)``.

    The engine keywords (executor, runner, overrides, progress, retry) go to ``run_sweep`` and
    ``run_attribution`` as they are. Raises a ``ValueError`` naming the first bad flag.
    """
    from experiments.sweep.spec import DEFAULT_RUNNER

    workers, scheduler, worker_timeout_s = _executor(args)
    n_seeds = parse_int(args.seeds, "--seeds", 1)
    root = parse_int(args.root_seed, "--root-seed", 0)
    assert n_seeds is not None and root is not None
    engine_kw = {
        "workers": workers,
        "scheduler": scheduler,
        "worker_timeout_s": worker_timeout_s,
        "runner": args.runner or DEFAULT_RUNNER,
        "overrides": args.overrides,
        "progress": not args.no_progress,
        "retry_errors": args.retry_errors,
    }
    return n_seeds, root, engine_kw


def _count_records(out: Path) -> int:
    return sum(1 for p in (out / "runs").glob("*.json") if not p.name.startswith(".")) if out.is_dir() else 0


def interrupted(saved: str) -> int:
    """Print ``cascade: interrupted; <saved>; re-run the same command to resume`` on stderr; return 130."""
    print(f"cascade: interrupted; {saved}; re-run the same command to resume", file=sys.stderr)
    return 130


def _interrupted(out: Path) -> int:
    return interrupted(f"{_count_records(out)} finished runs are saved in {out}")


def _report(label: str, df: Any, skipped: int, out: Path, wall_s: float) -> int:
    n_ok = int((df["status"] == "ok").sum()) if len(df) else 0
    n_err = len(df) - n_ok
    print(
        f"{label}: {len(df)} runs ({n_ok} ok, {n_err} error; {skipped} were already done) "
        f"in {wall_s:.1f} s -> {out / 'runs.parquet'}"
    )
    if n_err:
        from experiments.sweep.worker import error_last_line

        first = df[df["status"] != "ok"].iloc[0]
        last_line = error_last_line(first["error"])
        print(f"  first error (run {first['run_id']}, seed {first['seed']}): {last_line}")
        print("  failed runs keep their traceback in the 'error' column; --retry-errors re-runs them")
    return 1 if n_err else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Handle ``cascade sweep``.

    Args:
        args: Parsed arguments (see :func:`register`).

    Returns:
        Exit code: 0 all ok, 1 some runs failed, 2 bad input, 130 interrupted.
    """
    from experiments.sweep.designs import build_points, seeds_for
    from experiments.sweep.engine import run_sweep
    from experiments.sweep.spec import SweepConfigError

    t0 = time.perf_counter()
    out = Path(args.out)
    try:
        n_seeds, root, engine_kw = _setup(args)
        lhs = parse_int(args.lhs, "--lhs", 1)
        n = parse_int(args.n, "--n", 1)
        points = build_points(args.grid, args.random, lhs=lhs, n=n, root_seed=root)
        seeds = seeds_for(root, n_seeds)
    except ValueError as exc:
        return fail_line(exc)
    design = {
        "grid": list(args.grid),
        "random": list(args.random),
        "lhs": lhs,
        "n": n,
        "root_seed": root,
        "n_seeds": n_seeds,
    }
    try:
        df = run_sweep(
            args.scenario, points, seeds, out, keep_series=args.keep_series, design=design, **engine_kw
        )
    except SweepConfigError as exc:
        return fail_line(exc)
    except KeyboardInterrupt:
        return _interrupted(out)
    return _report(
        f"sweep {args.scenario}", df, int(df.attrs.get("n_skipped", 0)), out, time.perf_counter() - t0
    )


def cmd_attribute(args: argparse.Namespace) -> int:
    """Handle ``cascade attribute``.

    Args:
        args: Parsed arguments (see :func:`register`).

    Returns:
        Exit code: 0 all ok, 1 some runs failed, 2 bad input, 130 interrupted.
    """
    from experiments.sweep.attribution import run_attribution
    from experiments.sweep.designs import seeds_for
    from experiments.sweep.spec import SweepConfigError

    t0 = time.perf_counter()
    out = Path(args.out)
    try:
        n_seeds, root, engine_kw = _setup(args)
        seeds = seeds_for(root, n_seeds)
    except ValueError as exc:
        return fail_line(exc)
    classes = [c.strip() for c in str(args.classes).split(",") if c.strip()]
    try:
        table = run_attribution(args.scenario, seeds, out, classes=classes, **engine_kw)
    except SweepConfigError as exc:
        return fail_line(exc)
    except KeyboardInterrupt:
        return _interrupted(out)
    import pandas as pd

    runs = pd.read_parquet(out / "runs.parquet")
    code = _report(
        f"attribute {args.scenario}",
        runs,
        int(table.attrs.get("n_skipped", 0)),
        out,
        time.perf_counter() - t0,
    )
    print(f"contribution = baseline - class switched off, paired over {n_seeds} seeds: mean [95% CI] (n)")
    metrics = list(dict.fromkeys(table["metric"]))
    print("  " + f"{'class':<12}" + "".join(f"{m:>34}" for m in metrics))
    for cls, rows in table.groupby("class", sort=False):
        cells = []
        for m in metrics:
            r = rows[rows["metric"] == m].iloc[0]
            cells.append(f"{r['mean']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] ({r['n']})")
        inert = bool(
            (rows["n"] > 0).all() and (rows["mean"] == 0).all() and (rows["std"].fillna(0) == 0).all()
        )
        note = "   (switching it off changed nothing: is the class enabled in the scenario?)" if inert else ""
        print("  " + f"{cls:<12}" + "".join(f"{c:>34}" for c in cells) + note)
    print(f"  -> {out / 'attribution.parquet'} (and .csv)")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m experiments.sweep.cli {sweep,attribute} ...``.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="cascade", description="Sweeps and attribution of cascade runs.")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
