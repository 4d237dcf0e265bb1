"""Cold-cache numba compile cost of ``cascade run``: where the first run's minutes go.

With an empty numba cache (a fresh temporary ``NUMBA_CACHE_DIR`` unless ``--cache-dir`` names one) it
runs ``cascade run calm --set market.session_end_s=60`` in this process, listening to numba's event API
(``numba.core.event``: ``numba:compile`` for every dispatcher compiled, ``numba:run_pass`` for every
compiler pass), and prints

* the wall time of the cold run and of the same command warm (a fresh process on the cache just written);
* the total compile time and its split per module and per function (the time spent compiling each
  function itself; the functions it calls are counted where they are compiled, and ``inline="always"``
  helpers are counted in their callers), and per compiler pass (type inference, lowering + LLVM, ...);
* how many specializations (``dispatcher.signatures``) each dispatcher of the kernel modules compiled;
* ``--inline-module`` (default ``market._flow_kernels``): the compile time of a copy of that module
  (with ``market._lob_kernels``, whose helpers it inlines) with its ``inline="always"`` and of a copy
  without it, for the same signatures (nothing in the modules themselves is changed).
  ``--inline-module none`` skips it.

Run: ``python benchmarks/bench_compile.py [--cache-dir DIR] [--inline-module MODULE|none] [--top N]``.
It costs a few minutes of CPU on a 2-core machine (the cold compile, plus two compiles of the module).
A ``--cache-dir`` that already holds a warm cache measures what is left to compile (little or nothing).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMAND = ["run", "calm", "--set", "market.session_end_s=60"]
PACKAGES = ("market", "experiments", "agents")
KERNEL_GROUP = ("market._lob_kernels", "market._flow_kernels")


class _CompileProfile:
    """A ``numba.core.event`` listener: exclusive compile time per function and per compiler pass.

    Compiles nest (a function's callees are compiled while it is typed), so each interval's own time
    is its duration minus that of the intervals nested in it; a pass's own time goes to the function
    being compiled and to the pass's name.
    """

    def __init__(self) -> None:
        self.stack: list[list] = []  # [kind, key, start, nested_s, owner]
        self.func_s: dict[str, float] = defaultdict(float)
        self.func_n: dict[str, int] = defaultdict(int)
        self.pass_s: dict[str, float] = defaultdict(float)
        self.total_s = 0.0

    def on_start(self, event) -> None:  # noqa: D102 - numba Listener interface
        data = event.data or {}
        if event.kind == "numba:compile":
            disp = data.get("dispatcher")
            func = getattr(disp, "py_func", None)
            key = f"{func.__module__}.{func.__qualname__}" if func is not None else str(disp)
            owner = key
        else:
            key = str(data.get("name", "?")).split(" [")[0]
            owner = self.stack[-1][4] if self.stack else "(outside a dispatcher)"
        self.stack.append([event.kind, key, time.perf_counter(), 0.0, owner])

    def on_end(self, event) -> None:  # noqa: D102 - numba Listener interface
        kind, key, start, nested, owner = self.stack.pop()
        duration = time.perf_counter() - start
        own = duration - nested
        self.func_s[owner] += own
        if kind == "numba:compile":
            self.func_n[key] += 1
        else:
            self.pass_s[key] += own
        if self.stack:
            self.stack[-1][3] += duration
        else:
            self.total_s += duration


def _listen(profile: _CompileProfile):
    from contextlib import ExitStack

    from numba.core import event

    class Listener(event.Listener):
        def on_start(self, ev):
            profile.on_start(ev)

        def on_end(self, ev):
            profile.on_end(ev)

    stack = ExitStack()
    listener = Listener()
    for kind in ("numba:compile", "numba:run_pass"):
        stack.enter_context(event.install_listener(kind, listener))
    return stack


def _dispatchers(module_prefixes=PACKAGES):
    """``(module name, function name, dispatcher)`` for every numba dispatcher of our loaded modules."""
    from numba.core.dispatcher import Dispatcher

    found = []
    for name, mod in sorted(sys.modules.items()):
        if mod is None or name.split(".")[0] not in module_prefixes:
            continue
        for attr, obj in sorted(vars(mod).items()):
            if isinstance(obj, Dispatcher) and getattr(obj.py_func, "__module__", None) == name:
                found.append((name, attr, obj))
    return found


def _module_of(key: str) -> str:
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:i]) in sys.modules:
            return ".".join(parts[:i])
    return parts[0]


def _print_profile(profile: _CompileProfile, top: int) -> None:
    print(f"compile time, total (numba:compile, outermost): {profile.total_s:7.1f} s")
    per_module: dict[str, float] = defaultdict(float)
    for key, sec in profile.func_s.items():
        per_module[_module_of(key)] += sec
    print("  per module (own time of the functions it defines):")
    for mod, sec in sorted(per_module.items(), key=lambda kv: -kv[1]):
        print(f"    {mod:<34} {sec:7.1f} s  {100 * sec / max(profile.total_s, 1e-9):5.1f}%")
    print("  per compiler pass (all functions):")
    for name, sec in sorted(profile.pass_s.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {name:<34} {sec:7.1f} s")
    print(f"  top {top} functions (own compile time; x = compiles = specializations compiled):")
    for key, sec in sorted(profile.func_s.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {key:<58} {sec:6.1f} s  x{profile.func_n.get(key, 0)}")


def _print_signatures() -> dict[str, list]:
    """Specializations per dispatcher; returns {module: [(name, dispatcher), ...]} of compiled ones."""
    per_module: dict[str, list] = defaultdict(list)
    total = inlined = 0
    for mod, attr, disp in _dispatchers():
        total += 1
        if disp.targetoptions.get("inline") == "always":
            inlined += 1
        if disp.signatures:
            per_module[mod].append((attr, disp))
    n_sigs = sum(len(d.signatures) for items in per_module.values() for _, d in items)
    n_disp = sum(len(items) for items in per_module.values())
    print(f"specializations: {n_sigs} compiled by {n_disp} dispatchers ({total} dispatchers defined, "
          f"{inlined} of them inline='always', compiled only inside their callers)")  # fmt: skip
    for mod, items in sorted(per_module.items()):
        multi = [f"{a} x{len(d.signatures)}" for a, d in items if len(d.signatures) > 1]
        n = sum(len(d.signatures) for _, d in items)
        print(f"    {mod:<34} {n:3d} signatures in {len(items):3d} dispatchers"
              + (f"; several: {', '.join(multi)}" if multi else ""))  # fmt: skip
        for a, d in items:
            if len(d.signatures) > 1:  # show only the arguments whose types differ
                sigs = list(d.signatures)
                diff = [i for i in range(len(sigs[0])) if len({str(s[i]) for s in sigs}) > 1]
                args = d.py_func.__code__.co_varnames
                shown = "; ".join(", ".join(f"{args[i]}: {s[i]}" for i in diff) for s in sigs)
                print(f"        {a}: {shown}")
    return per_module


def _inline_cost(module_name: str, compiled: list) -> None:
    """Compile two fresh copies of ``module_name`` (with / without ``inline="always"``) and time them.

    The kernel modules it imports (``market._lob_kernels`` for ``market._flow_kernels``, whose entry
    points inline the book's helpers) are copied along with it, with the same change.
    """
    group = [m for m in KERNEL_GROUP if m != module_name and f"import {m.split('.')[-1]}" in
             Path(importlib.import_module(module_name).__file__).read_text()] + [module_name]  # fmt: skip
    sources = {m: Path(importlib.import_module(m).__file__).read_text() for m in group}
    n_inline = sum(len(re.findall(r',\s*inline="always"', src)) for src in sources.values())
    entries = [(a, list(d.signatures)) for a, d in compiled if d.targetoptions.get("inline") != "always"]
    tmp = Path(tempfile.mkdtemp(prefix="bench_inline_"))
    sys.path.insert(0, str(tmp))
    results = {}
    try:
        for label, strip in (("with inline='always'", False), ("without inline", True)):
            names = {m: f"_bench_copy_{len(results)}_{m.split('.')[-1].lstrip('_')}" for m in group}
            for mod, text in sources.items():
                if strip:
                    text = re.sub(r',\s*inline="always"', "", text)
                for other, copy_name in names.items():  # import the copies, not the originals
                    pkg, _, leaf = other.rpartition(".")
                    text = text.replace(f"from {pkg} import {leaf} as", f"import {copy_name} as")
                (tmp / f"{names[mod]}.py").write_text(text.replace("cache=True", "cache=False"))
            copy = importlib.import_module(names[module_name])
            t0 = time.perf_counter()
            for attr, sigs in entries:
                for sig in sigs:
                    getattr(copy, attr).compile(sig)
            results[label] = time.perf_counter() - t0
    finally:
        sys.path.remove(str(tmp))
        shutil.rmtree(tmp, ignore_errors=True)
    n_sigs = sum(len(s) for _, s in entries)
    print(f"inline cost: {' + '.join(group)} ({n_inline} helpers inline='always'), the {n_sigs} "
          f"signatures {module_name} compiled in this run, compiled again in fresh copies:")  # fmt: skip
    for label, sec in results.items():
        print(f"    {label:<22} {sec:7.1f} s")
    a, b = results.values()
    print(f"    inline='always' costs {a - b:+.1f} s of compile time ({a / max(b, 1e-9):.2f}x)")


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", help="numba cache folder (default: a fresh temporary one)")
    parser.add_argument("--inline-module", default="market._flow_kernels", help="module for the "
                        "inline='always' comparison, or 'none'")  # fmt: skip
    parser.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    args = parser.parse_args(argv)

    tmp_cache = None
    if args.cache_dir:
        cache_dir = Path(args.cache_dir).resolve()
    else:
        tmp_cache = cache_dir = Path(tempfile.mkdtemp(prefix="numba_cold_"))
    if "numba" in sys.modules:
        raise SystemExit("numba was imported before NUMBA_CACHE_DIR was set")
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = Path(tempfile.mkdtemp(prefix="bench_compile_out_"))
    try:
        print(f"numba cache: {cache_dir} ({sum(1 for _ in cache_dir.rglob('*.nbi'))} index files before)")
        t0 = time.perf_counter()
        import experiments.runner  # noqa: F401, PLC0415 - what `cascade run` imports
        from experiments import cli  # noqa: PLC0415 - after NUMBA_CACHE_DIR is set

        t_import = time.perf_counter() - t0
        profile = _CompileProfile()
        t1 = time.perf_counter()
        with _listen(profile):
            code = cli.main([*COMMAND, "--out", str(out / "cold")])
        t_run = time.perf_counter() - t1
        if code != 0:
            raise SystemExit(f"cascade {' '.join(COMMAND)} failed ({code})")
        state = "cold" if profile.total_s > 0 else "warm (nothing compiled)"
        print(f"first run in this cache, {state}: `cascade {' '.join(COMMAND)}`: "
              f"{t_import + t_run:.1f} s wall "
              f"({t_import:.1f} s imports, {t_run:.1f} s run incl. compiles)")  # fmt: skip
        env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
        t2 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "experiments.cli", *COMMAND, "--out", str(out / "warm")],
                       check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)  # fmt: skip
        print(f"warm, same command in a new process: {time.perf_counter() - t2:.1f} s wall")
        _print_profile(profile, args.top)
        compiled = _print_signatures()
        if args.inline_module != "none":
            _inline_cost(args.inline_module, compiled.get(args.inline_module, []))
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if tmp_cache is not None:
            shutil.rmtree(tmp_cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
