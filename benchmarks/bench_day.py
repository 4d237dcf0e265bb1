"""One simulated trading day: wall time (warm, best of N, one core), messages/s, peak memory, scaling.

For the scenario (default ``calm``) it prints

* the day through the whole model (``CascadeModel`` build + ``run``: background flow, agents,
  sampling, options desk), best of ``--repeats`` after one warm-up run, the throughput it gives
  (days per hour per core, for sweeps on warm workers), and the exchange alone
  (the compiled background flow for the same session), with messages and messages/s;
* peak memory of a fresh process that runs the day once (its own ``VmHWM``, and the peak of Python-
  and numpy-traced allocations during the day from ``tracemalloc``);
* with ``--seeds N``: one day per seed 1..N (CPU, best of ``--seed-repeats``): the slowest seed
  against the median (issue #16: < 2x), and the days that cascade (drawdown from the high >=
  ``--cascade-pct``) against the quiet ones and the ``calm`` scenario (issue #16: <= 2x);
* linear scaling: the day with every background message rate (noise limit and market orders and the
  market makers' requotes; cancels follow the resting orders) scaled 0.25x, 1x and 2x (a factor past
  the scenario config's background-event budget is skipped), with the time per message for each.

Targets (ARCHITECTURE.md, issue #4): a calm day of >= 1,000,000 messages in < 2 s, peak memory
< 1 GB; ``nov20_2025`` (>= 300 agents) in < 3 s. Run: ``python benchmarks/bench_day.py
[--scenario NAME] [--set key=value ...] [--repeats 3] [--no-scaling] [--seeds 20]``. The process
pins itself to one CPU (``--cpu``) so the figures are one-core figures on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from experiments.config import ConfigError, load_scenario  # noqa: E402
from experiments.model import CascadeModel  # noqa: E402
from market.exchange import Exchange  # noqa: E402

RATE_KEYS = ("noise_limit_rate_per_s", "noise_market_rate_per_s", "mm_requote_rate_per_s")
TARGETS = {"calm": (2.0, 1_000_000, 0), "nov20_2025": (3.0, 0, 300)}  # seconds, min messages, min agents
MEMORY_TARGET_MB = 1024.0


def scaled(overrides: list[str], scenario: str, factor: float) -> list[str]:
    """Overrides that multiply every background message rate by ``factor``."""
    flow = load_scenario(scenario, overrides).flow
    return [*overrides, *(f"flow.{k}={getattr(flow, k) * factor!r}" for k in RATE_KEYS)]


def time_model_day(scenario: str, overrides: list[str], seed: int, repeats: int) -> dict:
    """Build + run the model; one warm-up, then the best of ``repeats`` (seconds)."""
    config = load_scenario(scenario, overrides)
    best = {"total_s": float("inf")}
    cpu_s = []
    for i in range(repeats + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        model = CascadeModel(config, seed)
        t1 = time.perf_counter()
        model.run()
        t2 = time.perf_counter()
        if i > 0:
            cpu_s.append(time.process_time() - c0)
        if i > 0 and t2 - t0 < best["total_s"]:
            best = {
                "total_s": t2 - t0,
                "build_s": t1 - t0,
                "run_s": t2 - t1,
                "messages": model.exchange.n_messages,
                "trades": model.exchange.book.n_trades,
                "agents": len(model.agents),
            }
    best["cpu_s"] = min(cpu_s)  # best CPU seconds (build + run) of the same runs: less sensitive to load
    return best


def time_exchange_day(scenario: str, overrides: list[str], seed: int, repeats: int) -> dict:
    """The background flow alone over the scenario's session (no agents, no sampling)."""
    config = load_scenario(scenario, overrides)
    best = {"total_s": float("inf")}
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        ex = Exchange(config.prev_close_points, config.flow, seed, config.market)
        ex.advance_to(config.market.session_end_s)
        dt = time.perf_counter() - t0
        if i > 0 and dt < best["total_s"]:
            best = {"total_s": dt, "messages": ex.n_messages}
    return best


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB): its own ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` of a child started by ``subprocess`` also counts the parent's resident memory at
    the fork (the kernel folds the forked address space's peak into it at ``exec``): after the timed
    days in the parent it read 758 MB for a day whose own peak is far lower. ``VmHWM`` belongs to the
    address space the child runs in.
    """
    try:
        with open("/proc/self/status") as f:
            return int(f.read().split("VmHWM:")[1].split()[0]) / 1024.0
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_seed_days(scenario: str, overrides: list[str], n_seeds: int, repeats: int,
                   cascade_pct: float) -> dict:
    """One model day per seed ``1..n_seeds`` (best CPU of ``repeats``): the spread and cascade vs quiet.

    A seed's day is a *cascade* when the mid falls at least ``cascade_pct`` % from the day's high
    (``max_drawdown_pct`` of the summary, from the sampled mids), else *quiet*.
    """
    from experiments.metrics import price_path_stats

    config = load_scenario(scenario, overrides)
    CascadeModel(config, 1).run()  # warm-up
    cpu, drawdown = {}, {}
    for seed in range(1, n_seeds + 1):
        best = float("inf")
        for _ in range(repeats):
            c0 = time.process_time()
            model = CascadeModel(config, seed)
            model.run()
            best = min(best, time.process_time() - c0)
        cpu[seed] = best
        drawdown[seed] = price_path_stats(model.timeseries(), config.prev_close_points)["max_drawdown_pct"]
    return {"cpu_s": cpu, "drawdown_pct": drawdown}


def report_seed_days(name: str, res: dict, cascade_pct: float, calm_cpu_s: float | None) -> None:
    """Print the slowest seed vs the median (target < 2x) and cascade days vs quiet ones (target <= 2x)."""
    import statistics

    cpu, dd = res["cpu_s"], res["drawdown_pct"]
    med = statistics.median(cpu.values())
    slow = max(cpu, key=cpu.get)
    ratio = cpu[slow] / med
    print(f"\n{name}, {len(cpu)} seeds (model day CPU s, best of the repeats each): "
          f"median {med:.3f}, min {min(cpu.values()):.3f}, max {cpu[slow]:.3f} (seed {slow}, "
          f"drawdown {dd[slow]:.2f}%)")  # fmt: skip
    print(f"  slowest / median = {ratio:.2f}x  (target < 2x)  ->  {'MET' if ratio < 2.0 else 'MISSED'}")
    per_seed = ", ".join(f"{s}: {cpu[s]:.2f}/{dd[s]:.1f}%" for s in cpu)
    print(f"  per seed (CPU s / drawdown from the high): {per_seed}")
    casc = [cpu[s] for s in cpu if dd[s] >= cascade_pct]
    quiet = [cpu[s] for s in cpu if dd[s] < cascade_pct]
    if casc and quiet:
        mc, mq = statistics.median(casc), statistics.median(quiet)
        print(f"  cascade days (drawdown >= {cascade_pct:g}%): {len(casc)}, median {mc:.3f} s, costliest "
              f"{max(casc):.3f} s; quiet days: {len(quiet)}, median {mq:.3f} s")  # fmt: skip
        print(f"  cascade / quiet: median {mc / mq:.2f}x, costliest {max(casc) / mq:.2f}x  (target <= 2x)"
              f"  ->  {'MET' if max(casc) / mq <= 2.0 else 'MISSED'}")  # fmt: skip
    else:
        print(f"  no {'cascade' if not casc else 'quiet'} day among these seeds (threshold {cascade_pct:g}%)")
    if calm_cpu_s is not None:
        print(f"  vs the calm scenario's day ({calm_cpu_s:.3f} s CPU, seed 1): "
              f"median {med / calm_cpu_s:.2f}x, slowest {cpu[slow] / calm_cpu_s:.2f}x")  # fmt: skip


def memory_child(scenario: str, overrides: list[str], seed: int) -> None:
    """Run in a fresh process: one day under tracemalloc; print peak RSS and traced peak as JSON."""
    import tracemalloc

    config = load_scenario(scenario, overrides)
    CascadeModel(load_scenario(scenario, [*overrides, "market.session_end_s=60"]), seed).run()  # load caches
    base_mb = peak_rss_mb()
    tracemalloc.start()
    model = CascadeModel(config, seed)
    model.run()
    ts = model.timeseries()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rss_before_mb": base_mb,
                "peak_rss_mb": peak_rss_mb(),
                "traced_peak_mb": traced_peak / 2**20,
                "rows": len(ts),
                "messages": model.exchange.n_messages,
            }
        )
    )


def measure_memory(scenario: str, overrides: list[str], seed: int) -> dict:
    cmd = [sys.executable, __file__, "--memory-child", "--scenario", scenario, "--seed", str(seed)]
    for o in overrides:
        cmd += ["--set", o]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pin_to_one_cpu(cpu: int | None) -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def main() -> None:
    """Run the day benchmark and print the figures against the targets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="calm", help="shipped scenario name or TOML path (default calm)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="scenario override")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up (best is kept)")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last allowed one)")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 0.25x / 2x message-rate days")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess")
    ap.add_argument("--seeds", type=int, default=0, help="also time one day per seed 1..N (spread, "
                    "cascade vs quiet days); 0: skip")
    ap.add_argument("--seed-repeats", type=int, default=1, help="runs per seed for --seeds (best CPU kept)")
    ap.add_argument("--cascade-pct", type=float, default=3.0, help="drawdown from the high (%%) that makes a "
                    "seed's day a cascade for --seeds")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.scenario, args.set, args.seed)
        return

    cpu = pin_to_one_cpu(args.cpu)
    name = Path(args.scenario).stem
    print(f"scenario {name}, seed {args.seed}, overrides {args.set or 'none'}; pinned to CPU {cpu}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip

    day = time_model_day(args.scenario, args.set, args.seed, args.repeats)
    ex = time_exchange_day(args.scenario, args.set, args.seed, args.repeats)
    rate = day["messages"] / day["total_s"]
    print(
        f"\nmodel day (best of {args.repeats}, warm): {day['total_s']:.3f} s  (build {day['build_s']:.3f} s, "
        f"run {day['run_s']:.3f} s)  {day['messages']:,} messages, {day['trades']:,} trades, "
        f"{day['agents']} agents  ->  {rate / 1e6:.2f} M messages/s; CPU {day['cpu_s']:.3f} s (best of "
        f"{args.repeats})"
    )
    print(
        f"throughput: {3600.0 / day['total_s']:,.0f} {name} days per hour per core (3600 s / the model "
        "day above, back to back in a warm process; `cascade run` adds start-up and writing outputs)"
    )
    print(
        f"exchange alone (background flow):   {ex['total_s']:.3f} s  {ex['messages']:,} messages  ->  "
        f"{ex['messages'] / ex['total_s'] / 1e6:.2f} M messages/s"
    )

    target_s, min_msgs, min_agents = TARGETS.get(name, (None, 0, 0))
    if target_s is not None:
        ok = day["total_s"] < target_s and day["messages"] >= min_msgs and day["agents"] >= min_agents
        need = [f"< {target_s:.0f} s"]
        if min_msgs:
            need.append(f">= {min_msgs:,} messages")
        if min_agents:
            need.append(f">= {min_agents} agents")
        print(f"target: {', '.join(need)}  ->  {'MET' if ok else 'MISSED'}")

    if not args.no_memory:
        mem = measure_memory(args.scenario, args.set, args.seed)
        print(
            f"\npeak memory, fresh process, one day: {mem['peak_rss_mb']:.0f} MB RSS "
            f"(after imports and a warm-up {mem['rss_before_mb']:.0f} MB; traced allocations during "
            f"the day peak at {mem['traced_peak_mb']:.0f} MB)  target < {MEMORY_TARGET_MB:.0f} MB  ->  "
            f"{'MET' if mem['peak_rss_mb'] < MEMORY_TARGET_MB else 'MISSED'}"
        )

    if args.seeds > 0:
        res = time_seed_days(args.scenario, args.set, args.seeds, args.seed_repeats, args.cascade_pct)
        calm = None
        if name != "calm":
            calm = time_model_day("calm", [], args.seed, max(1, args.seed_repeats))["cpu_s"]
        report_seed_days(name, res, args.cascade_pct, calm)
        print(f"load average after the seeds: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    if not args.no_scaling:
        print("\nlinear scaling (background message rates x factor; model day, best of "
              f"{args.repeats}):")  # fmt: skip
        print(f"{'factor':>7} {'messages':>12} {'time s':>8} {'ns/message':>11} {'vs 1x':>7}")
        rows = []
        for factor in (0.25, 1.0, 2.0):
            try:
                r = day if factor == 1.0 else time_model_day(
                    args.scenario, scaled(args.set, args.scenario, factor), args.seed, args.repeats
                )  # fmt: skip
            except ConfigError as exc:  # past the scenario config's background-event budget
                print(f"{factor:>7.2f}  skipped: {exc}")
                continue
            rows.append((factor, r["messages"], r["total_s"], 1e9 * r["total_s"] / r["messages"]))
        per_1x = next(ns for factor, _, _, ns in rows if factor == 1.0)
        for factor, msgs, secs, ns in rows:
            print(f"{factor:>7.2f} {msgs:>12,} {secs:>8.3f} {ns:>11.0f} {ns / per_1x:>7.2f}")
        # time = fixed + marginal x messages (the fixed part: sampling, options desk, agents' Python)
        msgs = [r[1] for r in rows]
        secs = [r[2] for r in rows]
        slope = (secs[-1] - secs[0]) / (msgs[-1] - msgs[0])
        fixed = secs[0] - slope * msgs[0]
        worst = max(abs(fixed + slope * m - t) / t for m, t in zip(msgs, secs, strict=True))
        print(
            f"fit: time = {fixed:.3f} s + {1e9 * slope:.0f} ns x messages "
            f"(marginal {1e-6 / slope:.2f} M messages/s; 1x day off the line by {100 * worst:.0f}%)"
        )


if __name__ == "__main__":
    main()
