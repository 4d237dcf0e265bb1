"""The ``cascade calibrate`` and ``cascade sensitivity`` subcommands (registered by ``experiments.cli``).

Exit codes: 0 done; 2 bad input (one line ``cascade: error: ...`` on stderr, nothing written);
130 interrupted (re-run the same command to resume).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from experiments.sweep.cli import (
    add_scenario_arg,
    add_scheduler_flag,
    add_set_flag,
    fail_line,
    interrupted,
    parse_int,
    parse_workers,
)

__all__ = ["cmd_calibrate", "cmd_sensitivity", "register"]

_EXEC = (
    "--workers K runs K local workers (1: in this process; default 1); --scheduler tcp://HOST:PORT "
    "sends the runs to a running Dask cluster"
)


def register(subparsers: Any) -> None:
    """Add ``calibrate`` and ``sensitivity`` to an argparse subparsers object."""
    c = subparsers.add_parser(
        "calibrate",
        help="fit scenario parameters to target moments (optuna; resumable)",
        description="Search --param ranges for the values whose moments (median over --seeds seeds, the "
        "same seeds every trial) are closest to --targets. The optuna study lives in OUT/study.db: "
        "re-running the same command resumes it without redoing finished trials. Writes "
        "OUT/trials.parquet, OUT/best.json, OUT/best_set.txt (--set arguments), OUT/best_scenario.toml and "
        "OUT/plots/. " + _EXEC,
    )
    add_scenario_arg(c)
    c.add_argument(
        "--targets", required=True, metavar="FILE", help="targets TOML (or a shipped name: nov20_2025)"
    )
    _params(c)
    c.add_argument(
        "--trials", required=True, metavar="N", help="number of finished trials wanted in the study"
    )
    c.add_argument("--seeds", default="4", metavar="M", help="seeds per trial (default: %(default)s)")
    c.add_argument("--sampler", default="tpe", choices=("tpe", "cmaes", "random"), help="optuna sampler")
    _common(c)
    c.set_defaults(func=cmd_calibrate)

    s = subparsers.add_parser(
        "sensitivity",
        help="global sensitivity analysis (SALib Sobol or Morris) of a scenario's outcomes",
        description="Sample the --param ranges with SALib, run every point x --seeds through the sweep "
        "engine (resumable) and write first-order and total Sobol indices (or Morris mu*) with 95%% "
        "intervals to OUT/indices.csv and OUT/plots/indices.png. " + _EXEC,
    )
    add_scenario_arg(s)
    _params(s)
    s.add_argument("--method", default="sobol", choices=("sobol", "morris"), help="SALib method")
    s.add_argument(
        "--n",
        required=True,
        metavar="N",
        help="base sample: a power of 2 for sobol (N*(D+2) points), trajectories for morris",
    )
    s.add_argument(
        "--seeds", default="1", metavar="M", help="seeds per point, outcome = their mean (default 1)"
    )
    s.add_argument(
        "--metrics",
        default=None,
        metavar="A,B,...",
        help="outcomes (default: max_drawdown_pct,close_return_pct,close_location,fall_duration_min)",
    )
    _common(s)
    s.set_defaults(func=cmd_sensitivity)


def _params(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=LO:HI[:log][:int]",
        help="a parameter and its range (repeatable), e.g. dip_buyers.capital_usd=1e8:3e9:log",
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root-seed", default="0", metavar="S", help="root of the seeds and samplers (default 0)")
    p.add_argument("--workers", metavar="K", help="local workers (default 1)")
    add_scheduler_flag(p)
    add_set_flag(p)
    p.add_argument(
        "--runner", default=None, metavar="MODULE:FUNC", help="runner function (tests, benchmarks)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")


def _setup(args: argparse.Namespace) -> dict[str, Any]:
    from experiments.calibration.params import parse_param
    from experiments.sweep.designs import seeds_for
    from experiments.sweep.spec import DEFAULT_RUNNER

    workers = parse_workers(args)
    if args.scheduler is None and workers is None:
        workers = 1
    n_seeds = parse_int(args.seeds, "--seeds", 1)
    root = parse_int(args.root_seed, "--root-seed", 0)
    assert n_seeds is not None and root is not None
    return {
        "params": [parse_param(t) for t in args.param],
        "seeds": seeds_for(root, n_seeds),
        "root_seed": root,
        "workers": workers,
        "scheduler": args.scheduler,
        "runner": args.runner or DEFAULT_RUNNER,
        "overrides": list(args.overrides),
        "progress": not args.no_progress,
    }


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Handle ``cascade calibrate``; returns the exit code."""
    from experiments.calibration.calibrate import calibrate
    from experiments.calibration.targets import load_targets
    from experiments.sweep.spec import SweepConfigError

    t0 = time.perf_counter()
    try:
        kw = _setup(args)
        n_trials = parse_int(args.trials, "--trials", 1)
        assert n_trials is not None
        targets = load_targets(args.targets)
        table = calibrate(
            args.scenario, targets, kw.pop("params"), args.out, n_trials=n_trials, sampler=args.sampler, **kw
        )
    except (ValueError, SweepConfigError) as exc:
        return fail_line(exc)
    except KeyboardInterrupt:
        return interrupted(f"the study is saved in {args.out}")
    out = Path(args.out)
    n_ok = int((table["state"] == "COMPLETE").sum())
    wall_s = time.perf_counter() - t0
    print(f"calibrate {args.scenario}: {len(table)} trials ({n_ok} complete) in {wall_s:.1f} s")
    best = out / "best_set.txt"
    if best.exists():
        import json

        info = json.loads((out / "best.json").read_text())
        print(f"  best trial {info['trial']}: distance {info['value']:.4g}")
        for k, v in info["params"].items():
            print(f"    {k} = {v:.6g}")
        print(f"  re-run: cascade run {args.scenario} {best.read_text().strip()} --out DIR")
        if (out / "best_scenario.toml").exists():
            print(f"      or: cascade run {out / 'best_scenario.toml'} --out DIR")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Handle ``cascade sensitivity``; returns the exit code."""
    from experiments.calibration.sensitivity import DEFAULT_METRICS, run_sensitivity
    from experiments.calibration.targets import known_moment
    from experiments.sweep.spec import SweepConfigError

    try:
        kw = _setup(args)
        n = parse_int(args.n, "--n", 1)
        assert n is not None
        metrics = (
            [m.strip() for m in args.metrics.split(",") if m.strip()]
            if args.metrics
            else list(DEFAULT_METRICS)
        )
        bad = [m for m in metrics if not known_moment(m)]
        if bad:
            raise ValueError(f"--metrics: unknown metric {bad[0]!r}")
        table = run_sensitivity(
            args.scenario, kw.pop("params"), args.out, method=args.method, n=n, metrics=metrics, **kw
        )
    except (ValueError, SweepConfigError) as exc:
        return fail_line(exc)
    except KeyboardInterrupt:
        return interrupted(f"finished runs are saved in {args.out}")
    cols = (
        ["S1", "S1_conf", "ST", "ST_conf"] if args.method == "sobol" else ["mu_star", "mu_star_conf", "sigma"]
    )
    import pandas as pd

    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(table.set_index(["metric", "param"])[cols].round(3).to_string())
    print(f"  -> {Path(args.out) / 'indices.csv'}, {Path(args.out) / 'plots' / 'indices.png'}")
    return 0
