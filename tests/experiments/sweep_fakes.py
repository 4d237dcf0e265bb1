"""Fake runners for the sweep, attribution and benchmark code (module level, so workers can import them).

They follow the runner contract ``runner(scenario, seed, overrides=(), series_path=None) -> dict`` and
are deterministic in (scenario, seed, overrides). Environment variables (inherited by local worker
processes and by a ``LocalCluster`` started from the same process):

* ``FAKE_CALL_DIR``: if set, every call writes one small JSON file there (to count calls).
* ``FAKE_SLEEP_S``: extra sleep per call, in seconds (``sleepy_run`` defaults to 0.4 s).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from experiments.designs import parse_value

CLASSES = ("dealers", "cta", "hedgers", "dip_buyers")
# effect of each class on max_drawdown_pct when enabled (percentage points); close return moves by -0.6x
EFFECTS = {"dealers": 2.0, "cta": 1.0, "hedgers": 0.5, "dip_buyers": -0.8}


def _parse(overrides: Sequence[str]) -> dict[str, Any]:
    out = {}
    for text in overrides:
        key, _, raw = text.partition("=")
        out[key.strip()] = parse_value(raw)
    return out


def _log_call(scenario: str, seed: int, overrides: Sequence[str]) -> None:
    call_dir = os.environ.get("FAKE_CALL_DIR")
    if call_dir:
        path = Path(call_dir) / f"{uuid.uuid4().hex}.json"
        path.write_text(
            json.dumps(
                {"scenario": scenario, "seed": seed, "overrides": sorted(overrides), "pid": os.getpid()}
            )
        )


def read_calls(call_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All calls logged in ``call_dir``."""
    return [json.loads(p.read_text()) for p in Path(call_dir).glob("*.json")]


def _seed_rng(scenario: str, seed: int) -> np.random.Generator:
    # crc32, not hash(): Python's str hash is salted per process and would differ between workers
    return np.random.default_rng([int(seed), zlib.crc32(Path(scenario).name.encode())])


def fake_run(scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None) -> dict:
    """Deterministic fake day: the close falls 0.5% per unit of ``x``; ``fail=true`` raises.

    ``crash=true`` kills the worker process (only in a child process).
    """
    t0 = time.perf_counter()
    _log_call(scenario, seed, overrides)
    sleep_s = float(os.environ.get("FAKE_SLEEP_S", "0") or 0)
    if sleep_s:
        time.sleep(sleep_s)
    params = _parse(overrides)
    if params.get("fail") is True:
        raise RuntimeError(f"fake failure for seed {seed}")
    if params.get("crash") is True and multiprocessing.parent_process() is not None:
        os._exit(3)  # a worker process dying (segfault, OOM kill); never done in the main process
    x = float(params.get("x", 0.0))
    y = float(params.get("y", 0.0))
    rng = _seed_rng(scenario, seed)
    prev_close = 6700.0
    ret = -0.5 * x + 0.1 * y + rng.normal(0.0, 0.3)
    close = prev_close * (1 + ret / 100)
    summary = {
        "scenario": Path(scenario).stem,
        "seed": int(seed),
        "version": "fake",
        "prev_close": prev_close,
        "open": prev_close * (1 + rng.normal(0, 0.1) / 100),
        "high": max(prev_close, close) * 1.002,
        "low": min(prev_close, close) * 0.998,
        "close": close,
        "close_return_pct": ret,
        "max_drawdown_pct": abs(ret) + rng.uniform(0, 0.5),
        "realized_vol": float(abs(rng.normal(0.2, 0.02))),
        "net_flow_dealers": int(rng.integers(-1000, 1000)),
        "label": str(params.get("mode", "none")),
    }
    if series_path is not None:
        import pandas as pd

        pd.DataFrame({"t": np.arange(5.0), "mid": np.linspace(prev_close, close, 5)}).to_parquet(series_path)
    summary["runtime_s"] = time.perf_counter() - t0
    return summary


def sleepy_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """:func:`fake_run` after sleeping ``FAKE_SLEEP_S`` (default 0.4) seconds."""
    os.environ.setdefault("FAKE_SLEEP_S", "0.4")
    return fake_run(scenario, seed, overrides, series_path)


def class_effect(cls: str, seed: int) -> float:
    """Effect of class ``cls`` on max_drawdown_pct in run ``seed`` (what attribution should find)."""
    z = np.random.default_rng([int(seed), CLASSES.index(cls) + 1]).normal()
    return EFFECTS[cls] * (1.0 + 0.2 * z)


def attribution_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """Outcome = seed noise + the sum of the effects of the enabled classes."""
    _log_call(scenario, seed, overrides)
    params = _parse(overrides)
    unknown = [k for k in params if k.endswith(".enabled") and k.split(".")[0] not in CLASSES]
    if unknown:
        raise KeyError(f"unknown key {unknown[0]}")
    base = np.random.default_rng([int(seed), 0]).normal()
    drawdown = 1.0 + 0.3 * base
    ret = -0.2 * base
    for cls in CLASSES:
        if params.get(f"{cls}.enabled", True):
            effect = class_effect(cls, seed)
            drawdown += effect
            ret -= 0.6 * effect
    return {
        "scenario": scenario,
        "seed": int(seed),
        "max_drawdown_pct": drawdown,
        "close_return_pct": ret,
        "runtime_s": 0.0,
    }


def burn(iterations: int, seed: int = 1) -> int:
    """A fixed amount of pure-Python CPU work: ``iterations`` steps of a linear congruential generator."""
    acc = int(seed)
    for _ in range(int(iterations)):
        acc = (acc * 1103515245 + 12345) % 2147483648
    return acc


def cpu_bound_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """Do a fixed amount of CPU work (``FAKE_CPU_ITERS`` LCG steps, default 5e6), then answer like fake_run.

    Fixed work rather than a CPU-time budget, so that two processes sharing a physical core (or any
    other contention) show up as slower runs, as they would for the real model.
    """
    t0 = time.perf_counter()
    burn(int(float(os.environ.get("FAKE_CPU_ITERS", "5e6"))), seed)
    out = fake_run(scenario, seed, overrides, series_path)
    out["runtime_s"] = time.perf_counter() - t0
    return out


def instant_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """Return a tiny summary at once (to measure the sweep's own overhead)."""
    return {
        "scenario": scenario,
        "seed": int(seed),
        "close_return_pct": 0.0,
        "max_drawdown_pct": 0.0,
        "runtime_s": 0.0,
    }


def not_a_dict_run(scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None):
    """A broken runner: returns a list."""
    return [1, 2, 3]


def cache_dir_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """The numba cache folder the worker uses (``numba.config.CACHE_DIR``), and its process id."""
    import numba

    return {"seed": int(seed), "numba_cache_dir": numba.config.CACHE_DIR, "worker_pid": os.getpid()}
