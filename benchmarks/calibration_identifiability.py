"""Identifiability of the calibration: generate moments with known parameter values, calibrate them back.

1. Run the scenario at the true values over ``--target-seeds`` seeds (root seed 1000, so not the
   calibration's seeds) through the sweep engine; the targets are the moments' medians, each with a
   tolerance equal to its seed-to-seed spread (IQR / 1.349, floored).
2. ``cascade calibrate`` from wide bounds with ``--trials`` x ``--seeds`` (the acceptance budget is at
   most 200 x 8).
3. Report each parameter's recovered value and its error as a share of its search range (on the log
   scale for log ranges), and plot the profile: the distance of every trial against that parameter,
   with its lower envelope. A parameter off by more than 15% of its range whose profile is flat
   (the envelope within ``--flat`` of the best distance across most of the range) is reported as not
   identifiable from these moments.

Usage (the full budget; about 200 x 8 x 2.5 s = 67 CPU-minutes on this machine)::

    python benchmarks/calibration_identifiability.py --trials 200 --seeds 8 --workers 2 --out runs/ident

Resumable: the same command continues both steps. Everything lands in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.calibration.calibrate import ParamSpec, calibrate, parse_param
from experiments.calibration.targets import load_targets, moment_values
from experiments.sweep import run_sweep
from experiments.sweep.designs import seeds_for

TRUTH = {
    "dip_buyers.capital_usd": (3.0e8, "dip_buyers.capital_usd=3e7:3e9:log"),
    "flow.mm_withdraw_vol": (0.75, "flow.mm_withdraw_vol=0.2:2.0"),
    "options.positions_scale": (1.0, "options.positions_scale=0.3:2.0"),
}
MOMENTS = (
    "open_return_pct",
    "high_return_pct",
    "high_time_s",
    "close_return_pct",
    "range_pct",
    "max_drawdown_pct",
    "close_location",
    "fall_duration_min",
    "realized_vol",
    "ret_1m_kurtosis",
    "abs_ret_1m_ac1",
    "fall_flow_dealers",
    "fall_flow_cta",
    "fall_flow_dip_buyers",
    "net_flow_dealers",
    "net_flow_dip_buyers",
)
TARGET_ROOT_SEED = 1000


def make_targets(args: argparse.Namespace, out: Path, truth: dict[str, float]) -> Path:
    import tomli_w

    point = dict(truth)
    runs = run_sweep(
        args.scenario,
        [point],
        seeds_for(TARGET_ROOT_SEED, args.target_seeds),
        out / "truth",
        workers=args.workers,
        scheduler=args.scheduler,
        overrides=args.set,
        progress=True,
    )
    ok = runs[runs["status"] == "ok"]
    per_seed = pd.DataFrame([moment_values(r, MOMENTS) for r in ok.to_dict("records")])
    moments = {}
    for m in MOMENTS:
        v = per_seed[m].dropna().to_numpy(float)
        if len(v) == 0:
            continue
        q25, q50, q75 = np.percentile(v, [25, 50, 75])
        spread = (q75 - q25) / 1.349
        floor = max(1e-3, 0.02 * abs(q50))
        moments[m] = {
            "target": float(q50),
            "tolerance": float(max(spread, floor)),
            "weight": 1.0,
            "source": f"median of {len(v)} seeds at the true values; tolerance = IQR/1.349",
        }
    path = out / "targets.toml"
    doc = {"name": "identifiability", "description": f"{args.scenario} at {truth}", "moments": moments}
    path.write_text(tomli_w.dumps(doc))
    return path


def profile(trials: pd.DataFrame, p: ParamSpec, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lower envelope of the distance over ``bins`` equal bins of the parameter's unit range."""
    ok = trials[trials["state"] == "COMPLETE"]
    u = np.array([p.to_unit(v) for v in ok[p.key]])
    edges = np.linspace(0, 1, bins + 1)
    env = np.full(bins, np.nan)
    for i in range(bins):
        sel = (u >= edges[i]) & (u <= edges[i + 1])
        if sel.any():
            env[i] = ok["value"].to_numpy()[sel].min()
    return 0.5 * (edges[1:] + edges[:-1]), env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="nov20_2025")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--target-seeds", type=int, default=8)
    ap.add_argument("--params", default=",".join(TRUTH), help="comma-separated subset of " + ", ".join(TRUTH))
    ap.add_argument("--sampler", default="tpe", choices=("tpe", "cmaes", "random"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument(
        "--set", action="append", default=[], help="override for every run (e.g. a shorter session)"
    )
    ap.add_argument("--flat", type=float, default=1.0, help="distance margin of a flat profile (z^2 units)")
    ap.add_argument("--out", default="runs/identifiability")
    args = ap.parse_args()
    if args.workers is None and args.scheduler is None:
        args.workers = 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = [k.strip() for k in args.params.split(",") if k.strip()]
    truth = {k: TRUTH[k][0] for k in keys}
    params = [parse_param(TRUTH[k][1]) for k in keys]
    t0 = time.perf_counter()
    targets_path = make_targets(args, out, truth)
    t_targets = time.perf_counter() - t0
    targets = load_targets(targets_path)
    trials = calibrate(
        args.scenario,
        targets,
        params,
        out / "cal",
        n_trials=args.trials,
        seeds=seeds_for(0, args.seeds),
        sampler=args.sampler,
        workers=args.workers,
        scheduler=args.scheduler,
        overrides=args.set,
    )
    wall = time.perf_counter() - t0
    best = json.loads((out / "cal" / "best.json").read_text())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(params), figsize=(4.6 * len(params), 3.8), squeeze=False)
    ok = trials[trials["state"] == "COMPLETE"]
    report = []
    for ax, p in zip(axes[0], params, strict=True):
        true_u, best_u = p.to_unit(truth[p.key]), p.to_unit(best["params"][p.key])
        err = abs(best_u - true_u)
        centres, env = profile(trials, p)
        far = np.abs(centres - true_u) > 0.15
        flat = (
            bool(np.nanmin(env[far]) - best["value"] <= args.flat) if np.isfinite(env[far]).any() else False
        )
        verdict = "recovered" if err <= 0.15 else ("not identifiable (flat profile)" if flat else "missed")
        report.append(
            {
                "param": p.key,
                "true": truth[p.key],
                "recovered": best["params"][p.key],
                "error_share_of_range": err,
                "flat_profile": flat,
                "verdict": verdict,
            }
        )
        ax.scatter([p.to_unit(v) for v in ok[p.key]], ok["value"], s=10, alpha=0.5, label="trials")
        ax.plot(centres, env, color="C3", marker="o", label="lower envelope")
        ax.axvline(true_u, color="k", ls="--", label="true")
        ax.axvline(best_u, color="C2", label="best")
        ax.axvspan(true_u - 0.15, true_u + 0.15, color="k", alpha=0.06)
        ax.set_yscale("log")
        ax.set_xlabel(f"{p.key} (share of range{', log' if p.log else ''})")
        ax.set_title(f"{verdict}: error {100 * err:.0f}% of range", fontsize=9)
    axes[0][0].set_ylabel("distance (weighted mean z^2)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(
        f"identifiability, {args.scenario}: {len(ok)} trials x {args.seeds} seeds "
        f"(targets from {args.target_seeds} other seeds){' ' + ' '.join(args.set) if args.set else ''}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out / "profiles.png", dpi=110)
    summary = {
        "scenario": args.scenario,
        "trials": int(len(ok)),
        "seeds": args.seeds,
        "target_seeds": args.target_seeds,
        "sampler": args.sampler,
        "overrides": args.set,
        "best_distance": best["value"],
        "wall_s": wall,
        "targets_wall_s": t_targets,
        "params": report,
    }
    (out / "identifiability.json").write_text(json.dumps(summary, indent=1))
    print(pd.DataFrame(report).to_string(index=False))
    print(
        f"best distance {best['value']:.3g}; {len(ok)} trials x {args.seeds} seeds in {wall / 60:.1f} min "
        f"-> {out / 'profiles.png'}"
    )
    ok_all = all(r["verdict"] != "missed" for r in report)
    return 0 if ok_all and not math.isnan(best["value"]) else 1


if __name__ == "__main__":
    sys.exit(main())
