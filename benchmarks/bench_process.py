"""The whole ``cascade run`` process, warm: wall and CPU time, and what its imports cost.

Prints, for ``--scenario`` (default ``nov20_2025``) and ``--seed``:

* the median (and min, max) over ``--repeats`` (5) of a fresh ``cascade run`` process writing into a
  temporary folder: wall seconds and the child's CPU seconds (user + sys), beside the day's own
  ``runtime_s`` from ``summary.json`` (model build + day + summary), so the rest (interpreter start,
  imports, numba cache loads, writing outputs) shows as the difference;
* where one warm process spends its CPU, stage by stage (best of ``--repeats`` fresh processes that
  make the calls ``cascade run`` makes): interpreter start and imports, reading the scenario, building
  the model (the first compiled call loads numba's machinery and the cached kernels), the day, the
  summary and the output tables, writing the files;
* the import cost of what a run imports (``import experiments.runner``) in a fresh interpreter, with
  Mesa's package ``__init__`` deferred (as ``cascade`` does, :mod:`experiments._lazy_mesa`) and with
  the full ``import mesa`` first (what every run paid before), median CPU seconds of ``--repeats``.

Target (issue #16): the whole warm process < 4 s wall. On a shared machine compare CPU seconds; the
load average is printed. Run: ``python benchmarks/bench_process.py [--scenario NAME] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASCADE = Path(sys.executable).with_name("cascade")


def child_cpu_s() -> float:
    """User + system CPU seconds of all waited-for children so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def one_run(scenario: str, seed: int) -> tuple[float, float, float]:
    """``(wall_s, cpu_s, runtime_s)`` of one ``cascade run`` process."""
    with tempfile.TemporaryDirectory(prefix="bench_process_") as tmp:
        out = Path(tmp) / "run"
        cpu0, t0 = child_cpu_s(), time.perf_counter()
        subprocess.run([str(CASCADE), "run", scenario, "--seed", str(seed), "--out", str(out)],
                       check=True, capture_output=True, cwd=ROOT)  # fmt: skip
        wall, cpu = time.perf_counter() - t0, child_cpu_s() - cpu0
        runtime = json.loads((out / "summary.json").read_text())["runtime_s"]
    return wall, cpu, runtime


def import_cpu_s(full_mesa_first: bool) -> float:
    """CPU seconds of a fresh interpreter importing the run path (``experiments.runner``)."""
    pre = "import mesa; " if full_mesa_first else ""  # before experiments: the deferral is then a no-op
    code = f"{pre}import experiments.runner"
    cpu0 = child_cpu_s()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return child_cpu_s() - cpu0


#: The calls of ``cascade run`` (experiments.cli.cmd_run), with CPU/wall marks between them; prints JSON.
STAGES_CODE = """
import atexit, gc, json, sys, tempfile, time
marks = [("", 0.0, time.perf_counter())]  # CPU from the process start: the interpreter's too
gc.disable()  # as experiments.cli.main does for `cascade run`, with gc.freeze at exit
atexit.register(gc.freeze)
from experiments.cli import build_parser
from experiments.config import load_scenario
from experiments.outputs import check_run_out
import experiments.runner as R
def mark(name):
    marks.append((name, time.process_time(), time.perf_counter()))
mark("start-up + imports")
args = build_parser().parse_args(["run", sys.argv[1], "--seed", sys.argv[2], "--out", sys.argv[3]])
config = load_scenario(args.scenario, args.set)
check_run_out(args.out, args.overwrite)
mark("scenario")
run = R.CascadeModel.run
def timed_run(model):
    mark("model build + GEX")
    run(model)
    mark("day")
R.CascadeModel.run = timed_run
result = R.run_scenario(config, args.seed)
mark("summary + tables")
R.write_run(result, args.out)
mark("writing files")
print(json.dumps([(n, c1 - c0, w1 - w0) for (_, c0, w0), (n, c1, w1) in zip(marks, marks[1:])]))
"""


def stage_times(scenario: str, seed: int) -> list[tuple[str, float, float]]:
    """``[(stage, cpu_s, wall_s), ...]`` of one fresh process making ``cascade run``'s calls.

    The last stage, ``exit``, is the CPU the process spent after its last mark (interpreter teardown),
    from the parent's view of the child's CPU; its wall time is not measured (NaN).
    """
    with tempfile.TemporaryDirectory(prefix="bench_process_") as tmp:
        cpu0 = child_cpu_s()
        out = subprocess.run([sys.executable, "-c", STAGES_CODE, scenario, str(seed), str(Path(tmp) / "run")],
                             check=True, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        total = child_cpu_s() - cpu0
    stages = [tuple(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]
    return [*stages, ("exit", total - sum(cpu for _, cpu, _ in stages), float("nan"))]


def fmt(xs: list[float]) -> str:
    """``median [min, max]`` in seconds."""
    return f"{statistics.median(xs):.2f} s [{min(xs):.2f}, {max(xs):.2f}]"


def main() -> None:
    """Time the process and its imports; print against the target."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="nov20_2025")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    one_run(args.scenario, args.seed)  # warm-up: numba cache loaded from disk once, files in page cache
    runs = [one_run(args.scenario, args.seed) for _ in range(args.repeats)]
    wall, cpu, day = ([r[i] for r in runs] for i in range(3))
    med = statistics.median(wall)
    print(
        f"`cascade run {args.scenario} --seed {args.seed}`, {args.repeats} warm processes: wall {fmt(wall)}, "
        f"CPU {fmt(cpu)}; the day itself (summary runtime_s) {fmt(day)}"
    )
    print(f"  outside the day (start-up, imports, cache loads, outputs): median "
          f"{statistics.median(w - d for w, d in zip(wall, day, strict=True)):.2f} s wall")  # fmt: skip
    print(f"  target: whole process < 4 s wall  ->  {'MET' if med < 4.0 else 'MISSED'}")
    stages = [stage_times(args.scenario, args.seed) for _ in range(args.repeats)]
    print(f"stages of one process, CPU s, best of {args.repeats} (wall of that process in brackets):")
    for i, (name, _, _) in enumerate(stages[0]):
        best = min(stages, key=lambda run: run[i][1])[i]
        print(f"  {name:<20} {best[1]:6.3f}  [{best[2]:.3f}]")
    totals = [sum(c for _, c, _ in run) for run in stages]
    print(f"  {'all stages':<20} {min(totals):6.3f}  (median {statistics.median(totals):.3f})")
    lazy = [import_cpu_s(False) for _ in range(args.repeats)]
    full = [import_cpu_s(True) for _ in range(args.repeats)]
    print(f"imports of the run path (CPU): Mesa's __init__ deferred {fmt(lazy)}; "
          f"full `import mesa` first {fmt(full)}")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
