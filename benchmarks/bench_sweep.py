"""Sweep engine speed: scaling with local workers, per-run cost vs a direct call, per-run overhead.

Figures and targets:

* throughput of N runs (default 40, the issue's 40-day sweep; the same seeds everywhere) on 2 local
  workers vs 1 (wall-time ratio; target >= 1.8x on 2 cores), with the one-off worker start-up shown
  apart (and the cluster's own part of it) and the machine's own parallel ceiling measured alongside;
  each 2-worker sweep starts from a fresh fork server, as a new ``cascade sweep`` process does;
* per-run cost inside a 1-worker sweep vs a direct call of the runner (target within 20%);
* the sweep's own overhead per run, with an instant fake runner (target < 50 ms), on 1 and 2 workers.

The runner is ``--runner MODULE:FUNC`` (default ``experiments.runner:run_summary`` on ``--scenario``).
If it cannot be imported, a fake CPU-bound runner doing a fixed amount of pure-Python work (calibrated
to ``--fake-cpu-s``, 0.5 s, on this machine) per run is used instead, and the output says so.
Timings include worker start-up (fork server, imports, numba cache load), which is what a user waits for;
they are wall-clock on a shared machine, so the load average and the machine's parallel ceiling (two
bare processes doing the same fixed work) are printed with them.

Run: ``NUMBA_CACHE_DIR=.numba_cache python benchmarks/bench_sweep.py [--runs N] [--overhead-runs M]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "experiments"))  # the fake runners; spawn workers inherit sys.path

from experiments.sweep import DEFAULT_RUNNER, run_sweep  # noqa: E402
from experiments.sweep.designs import seeds_for  # noqa: E402
from experiments.sweep.worker import resolve_runner  # noqa: E402

FAKE_CPU_RUNNER = "sweep_fakes:cpu_bound_run"
INSTANT_RUNNER = "sweep_fakes:instant_run"


def stop_fork_server() -> None:
    """Stop this process's multiprocessing fork server, if one runs (local workers are forked from it).

    The server outlives a sweep (it imported Dask and the runner once); stopping it before each timed
    sweep makes every sweep pay its whole start-up, as a fresh ``cascade sweep`` process does.
    """
    import multiprocessing.forkserver

    stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)  # noqa: SLF001 - CPython's own test hook
    if stop is not None:
        stop()


class CpuMeter:
    """CPU seconds of this process and all its descendants (sampled every 20 ms) during a ``with`` block.

    ``cores`` after the block: that CPU over the block's wall time, the cores the sweep really got (2.0:
    both cores of a quiet 2-core machine; other jobs lower it). Descendants' last 20 ms are not seen.
    """

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self.cores = math.nan

    def _poll(self) -> None:
        import psutil

        while not self._stop.wait(0.02):
            for p in self._me.children(recursive=True):
                try:
                    t = p.cpu_times()
                    self._seen[p.pid] = t.user + t.system
                except psutil.Error:
                    pass

    def __enter__(self) -> CpuMeter:
        self._c0, self._t0 = time.process_time(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        cpu = time.process_time() - self._c0 + sum(self._seen.values())
        self.cores = cpu / max(time.perf_counter() - self._t0, 1e-9)


def timed_sweep(scenario: str, runner: str, n_runs: int, workers: int, root_seed: int) -> tuple[float, float]:
    """Wall time (s) of a fresh sweep of ``n_runs`` seeds of one point, and the cores it got on average.

    A fresh fork server for each sweep; cores as :class:`CpuMeter` measures them.
    """
    stop_fork_server()
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp, CpuMeter() as meter:
        t0 = time.perf_counter()
        df = run_sweep(
            scenario,
            [{}],
            seeds_for(root_seed, n_runs),
            Path(tmp) / "out",
            workers=workers,
            runner=runner,
            progress=False,
        )
        wall = time.perf_counter() - t0
    n_bad = int((df["status"] != "ok").sum())
    if n_bad:
        first = str(df.loc[df["status"] != "ok", "error"].iloc[0]).strip().splitlines()[-1]
        raise SystemExit(f"{n_bad} runs failed under {runner}: {first}")
    return wall, meter.cores


def cluster_up_s() -> tuple[float, float]:
    """Seconds to start a fresh 2-worker local cluster (new fork server, workers joined), to close it."""
    from experiments.sweep.executors import start_local_cluster

    stop_fork_server()
    t0 = time.perf_counter()
    cluster = start_local_cluster(2)
    up = time.perf_counter() - t0
    t0 = time.perf_counter()
    cluster.close()
    return up, time.perf_counter() - t0


def load_now() -> str:
    """The 1-minute load average, as text."""
    return f"{os.getloadavg()[0]:.2f}"


def parallel_ceiling(iterations: int) -> float:
    """How much faster two processes get through fixed CPU work than one, right now (ideal 2.0).

    Workers are started and warmed before timing, so this is the share of compute available to us
    (other jobs on a shared machine, or vCPUs that share a physical core, lower it), not the sweep
    engine's doing.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sweep_fakes import burn

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(burn, [1000, 1000]))
        t0 = time.perf_counter()
        list(pool.map(burn, [iterations]))
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(burn, [iterations, iterations]))
        two = time.perf_counter() - t0
    return 2 * one / two


def calibrate(seconds: float) -> int:
    """LCG steps of :func:`sweep_fakes.burn` that take about ``seconds`` here, alone."""
    from sweep_fakes import burn

    t0 = time.perf_counter()
    burn(1_000_000)
    return max(int(1_000_000 * seconds / (time.perf_counter() - t0)), 1000)


def pick_runner(requested: str | None) -> tuple[str, str]:
    """The runner to benchmark and a note on where it came from."""
    name = requested or DEFAULT_RUNNER
    try:
        resolve_runner(name)
        return name, "real runner" if name == DEFAULT_RUNNER else "runner given with --runner"
    except Exception as exc:  # noqa: BLE001 - any import problem: fall back
        if requested:
            raise SystemExit(f"cannot load --runner {requested}: {type(exc).__name__}: {exc}") from None
        return FAKE_CPU_RUNNER, (
            f"FAKE CPU-bound runner ({name} is not available: {type(exc).__name__}); "
            "figures describe the sweep engine, not the model"
        )


def main() -> None:
    """Run the benchmarks and print the figures against the targets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runner", default=None, help=f"MODULE:FUNC (default {DEFAULT_RUNNER}, else a fake)")
    ap.add_argument("--scenario", default="nov20_2025", help="scenario for the runner (default: %(default)s)")
    ap.add_argument(
        "--runs", type=int, default=None, help="runs per measurement (default: 40, fewer for runs over 2 s)"
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="rounds, best kept (default: 2 for runs < 2 s, else 1)"
    )
    ap.add_argument("--overhead-runs", type=int, default=200, help="instant runs (default: %(default)s)")
    ap.add_argument(
        "--fake-cpu-s",
        type=float,
        default=0.5,
        help="seconds of work per fake run, calibrated here (default: %(default)s)",
    )
    args = ap.parse_args()

    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    iters = calibrate(args.fake_cpu_s)
    os.environ["FAKE_CPU_ITERS"] = str(iters)  # inherited by the worker processes
    runner, note = pick_runner(args.runner)
    fn = resolve_runner(runner)
    print(f"runner: {runner}  ({note})")
    print(
        f"scenario: {args.scenario}; cores: {os.cpu_count()}; load average before: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )

    fn(args.scenario, seeds_for(999, 1)[0], ())  # warm-up: imports done, numba cache loaded
    t0 = time.perf_counter()
    fn(args.scenario, seeds_for(998, 1)[0], ())
    t_one = time.perf_counter() - t0
    if args.runs is None:  # the acceptance sweep: 40 days (fewer if a run is slow: about 80 s of runs)
        args.runs = int(min(40, max(4, 2 * round(40.0 / t_one))))
    if args.repeats is None:
        args.repeats = 2 if t_one < 2.0 else 1
    print(f"one run takes about {t_one:.2f} s: {args.runs} runs per measurement, {args.repeats} round(s)")
    # The same seeds everywhere: a day's cost depends on its seed (message counts differ).
    root = 1
    seeds = seeds_for(root, args.runs)
    # Rounds of (direct calls, 1-worker sweep, 2-worker sweep, start-up, ceiling); the best of each is
    # kept, which filters out other jobs' bursts on a shared machine. Every 2-worker sweep starts its own
    # cluster from a fresh fork server, as a new `cascade sweep` process does.
    best: dict[str, float] = {}
    ceiling = 0.0
    cores_at_best = math.nan
    for i in range(args.repeats):
        direct = []
        for s in seeds:
            t0 = time.perf_counter()
            fn(args.scenario, s, ())
            direct.append(time.perf_counter() - t0)
        loads = [load_now()]
        figures = {"direct": sum(direct)}
        figures["wall1"], cores1 = timed_sweep(args.scenario, runner, args.runs, 1, root)
        loads.append(load_now())
        figures["wall2"], cores2 = timed_sweep(args.scenario, runner, args.runs, 2, root)
        loads.append(load_now())
        # worker start-up (fork server's imports, cluster, numba cache loads, close): 2 runs on 2 workers
        figures["startup"] = max(timed_sweep(args.scenario, runner, 2, 2, root)[0] - max(direct[:2]), 0.0)
        figures["cluster_up"], figures["close"] = cluster_up_s()
        if figures["wall2"] < best.get("wall2", math.inf):
            cores_at_best = cores2
        best = {k: min(v, best.get(k, math.inf)) for k, v in figures.items()}
        ceiling = max(parallel_ceiling(iters), ceiling)
        print(
            f"  round {i + 1}: 1 worker {figures['wall1']:.2f} s ({cores1:.2f} cores used, "
            f"{cores1 * figures['wall1']:.1f} CPU s), 2 workers {figures['wall2']:.2f} s ({cores2:.2f} cores "
            f"used, {cores2 * figures['wall2']:.1f} CPU s), "
            f"{figures['wall1'] / figures['wall2']:.2f}x; "
            f"start-up {figures['startup']:.2f} s (cluster up {figures['cluster_up']:.2f} s); "
            f"load average {' -> '.join(loads)}"
        )
    t_direct = best["direct"] / args.runs
    wall1, wall2, startup = best["wall1"], best["wall2"], best["startup"]
    per_run_1 = wall1 / args.runs
    speedup = wall1 / wall2
    steady = wall1 / max(wall2 - startup, 1e-9)
    print(f"\nbest of {args.repeats} rounds each:")
    print(f"{args.runs} direct calls:            {best['direct']:7.2f} s  ({t_direct:.3f} s per run)")
    print(f"{args.runs} runs, 1 worker (in-process): {wall1:7.2f} s  ({args.runs / wall1:.2f} runs/s)")
    print(f"{args.runs} runs, 2 workers (processes): {wall2:7.2f} s  ({args.runs / wall2:.2f} runs/s)")
    print(
        f"  speed-up 2 vs 1 workers: {speedup:.2f}x   target >= 1.8x  "
        f"[{'ok' if speedup >= 1.8 else 'MISSED'}] (includes worker start-up)"
    )
    print(
        f"  worker start-up ~{startup:.2f} s (once per sweep; cluster up {best['cluster_up']:.2f} s and "
        f"closed {best['close']:.2f} s, the rest is the first runs' numba cache loads and dispatch); "
        f"speed-up without it: {steady:.2f}x"
    )
    print(
        f"  the best 2-worker sweep got {cores_at_best:.2f} cores on average (CPU of this process and its "
        f"workers / wall time; 2.00 = the whole 2-core machine, less = other jobs took the rest)"
    )
    print(
        f"  parallel ceiling of this machine right now (2 bare processes vs 1, same CPU work): {ceiling:.2f}x"
        f" -> the sweep reaches {100 * speedup / ceiling:.0f}% of it"
    )
    print(
        f"  throughput: {3600.0 / per_run_1:,.0f} {args.scenario} days per hour per core on 1 worker, "
        f"{3600.0 * args.runs / wall2 / 2:,.0f} per core on 2 workers "
        f"({3600.0 * args.runs / wall2:,.0f} in all)"
    )
    ratio = per_run_1 / t_direct
    print(
        f"per-run cost: direct call {t_direct:.3f} s, in a 1-worker sweep {per_run_1:.3f} s (same seeds) "
        f"-> {100 * (ratio - 1):+.1f}%   target within 20%  [{'ok' if abs(ratio - 1) <= 0.2 else 'MISSED'}]"
    )

    for workers in (1, 2):
        wall = timed_sweep(args.scenario, INSTANT_RUNNER, args.overhead_runs, workers, 3)[0]
        per_ms = 1000 * wall / args.overhead_runs
        print(
            f"overhead, instant runner, {args.overhead_runs} runs, {workers} worker(s): {per_ms:.2f} ms/run "
            f"(total {wall:.2f} s)   target < 50 ms  [{'ok' if per_ms < 50 else 'MISSED'}]"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
