"""How much a steady seller moves a scenario's background market (its price impact, in % per 1,000 contracts).

The agents' feedback can only be as strong as the price moves their orders cause. This script
measures that directly on the background alone (makers, noise and value traders; no agents): for
each seed the scenario's exchange runs the whole session twice, once untouched and once with a
seller who sends a market sell of ``--clip`` contracts at a steady rate (``--rate`` contracts per
minute) from ``--start`` for ``--hours``. Same seed, same background random stream: the difference
of the two mids at each checkpoint is the impact of the contracts sold so far (paths decorrelate
as the day goes on, so read medians over many seeds). Printed per checkpoint: contracts sold, the
mid's move (points and % of the prior close), the value traders' belief move, and the move per
1,000 contracts. The checkpoint after the selling stops shows how much of the impact is permanent.

Measured on ``nov20_2025_spark`` (seeds 0-19, 50 contracts/min from 10:00 for 3 h = 9,000 contracts;
2026-12-01): when the selling stops the mid is 0.65% [0.35, 1.02] lower (0.07% per 1,000 contracts)
and 0.60% at the close, the value belief having moved 0.3% of it; with the value traders off
(``--set flow.value_gain=0 --set flow.value_rate_gain=0``) 1.58% [0.51, 2.37] (0.18% per 1,000),
2.24% at the close. For scale: the dealers' hedge need over a 1% fall is about 900-2,300
contracts on that scenario, the CTAs' a few hundred (docs/nov20.md, "The impact budget").

Run: ``python benchmarks/background_impact.py [--scenario S] [--seeds 20] [--first-seed 0]
[--rate 50] [--clip 5] [--start 1800] [--hours 3] [--workers 2] [--set k=v ...]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from experiments.config import load_scenario  # noqa: E402
from market.exchange import Exchange  # noqa: E402
from market.types import MARKET, SELL  # noqa: E402

STEP_S = 60.0  # how often the path is recorded (seconds)


def session_path(
    scenario: str, overrides: tuple[str, ...], seed: int, rate_per_min: float, clip: int, start_s: float,
    hours: float,
) -> np.ndarray:  # fmt: skip
    """One session of the background: rows (t s from the open, mid points, contracts sold, value points)."""
    config = load_scenario(scenario, overrides)
    ex = Exchange(config.prev_close_points, config.flow, np.random.SeedSequence(seed), config.market)
    seller = ex.register_owner("steady_seller", "impact_probe")
    gap_s = 60.0 * clip / rate_per_min if rate_per_min > 0 else STEP_S
    end_sell = start_s + 3600.0 * hours
    t = config.market.session_start_s
    next_record = t + STEP_S
    sold = 0
    rows = []
    while t < config.market.session_end_s:
        t = min(t + min(gap_s, STEP_S), config.market.session_end_s)
        ex.advance_to(t)
        if rate_per_min > 0 and start_s <= t < end_sell:
            sold += ex.submit(seller, MARKET, SELL, clip).filled_qty
        if t >= next_record - 1e-9:
            rows.append((t, ex.mid_points(), sold, ex.value_points))
            next_record += STEP_S
    return np.array(rows)


def paired_impact(job: tuple) -> np.ndarray:
    """(t, mid with seller - mid without, contracts sold, value with - value without) for one seed."""
    scenario, overrides, seed, rate, clip, start_s, hours = job
    base = session_path(scenario, overrides, seed, 0.0, clip, start_s, hours)
    probe = session_path(scenario, overrides, seed, rate, clip, start_s, hours)
    n = min(len(base), len(probe))
    p, b = probe[:n], base[:n]
    return np.column_stack([p[:, 0], p[:, 1] - b[:, 1], p[:, 2], p[:, 3] - b[:, 3]])


def _q(x: list[float], spec: str) -> str:
    q25, q50, q75 = np.nanpercentile(x, [25, 50, 75])
    return f"{q50:{spec}} [{q25:{spec}}, {q75:{spec}}]"


def main() -> None:
    """Run the paired sessions over the seeds and print the impact at checkpoints."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="nov20_2025_spark")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rate", type=float, default=50.0, help="contracts sold per minute (default 50)")
    ap.add_argument("--clip", type=int, default=5, help="contracts per market order (default 5)")
    ap.add_argument("--start", type=float, default=1800.0, help="seconds from 09:30 when selling starts")
    ap.add_argument("--hours", type=float, default=3.0, help="how long the seller sells")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario override")
    args = ap.parse_args()
    if args.rate <= 0 or args.clip < 1 or args.hours <= 0:
        ap.error(f"--rate {args.rate}, --clip {args.clip}, --hours {args.hours}: all must be positive")

    config = load_scenario(args.scenario, tuple(args.set))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    jobs = [(args.scenario, tuple(args.set), s, args.rate, args.clip, args.start, args.hours) for s in seeds]
    t0 = time.perf_counter()
    if args.workers <= 1:
        paths = [paired_impact(j) for j in jobs]
    else:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            paths = list(pool.map(paired_impact, jobs))
    end_sell = args.start + 3600.0 * args.hours
    checkpoints = [args.start + 3600.0 * h for h in (0.5, 1.0, 2.0)] + [end_sell, config.market.session_end_s]
    print(f"{args.scenario}, seeds {args.first_seed}-{args.first_seed + args.seeds - 1}, "
          f"{args.rate:g} contracts/min in clips of {args.clip} from {args.start:g} s for {args.hours:g} h, "
          f"overrides {args.set or 'none'}; {time.perf_counter() - t0:.0f} s wall")  # fmt: skip
    print("medians [q25, q75] over seeds of (with seller - without)")
    print(f"{'t (h from 09:30)':>16} {'sold':>7} {'mid move, points':>24} {'% of prior close':>24} "
          f"{'value belief, points':>24} {'% per 1,000 sold':>10}")  # fmt: skip
    prev = config.prev_close_points
    for cp in sorted(set(c for c in checkpoints if c <= config.market.session_end_s)):
        at = [p[int(np.argmin(np.abs(p[:, 0] - cp)))] for p in paths]
        sold = float(np.median([a[2] for a in at]))
        d_mid = [a[1] for a in at]
        pct = [100.0 * a[1] / prev for a in at]
        per_k = 1000.0 * float(np.median(pct)) / sold if sold > 0 else float("nan")
        print(f"{cp / 3600:>16.2f} {sold:>7,.0f} {_q(d_mid, '+.1f'):>24} {_q(pct, '+.2f'):>24} "
              f"{_q([a[3] for a in at], '+.1f'):>24} {per_k:>+10.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
