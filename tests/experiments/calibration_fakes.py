"""Fake runners for the calibration and sensitivity tests (module level, so workers can import them).

Runner contract: ``runner(scenario, seed, overrides=(), series_path=None) -> dict``; deterministic in
(seed, overrides). ``FAKE_CALL_DIR`` (log each call) and ``FAKE_SLEEP_S`` (sleep per call) work as in
``sweep_fakes``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence

import numpy as np
from sweep_fakes import _log_call, _parse


def ishigami_run(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """The Ishigami function of ``x1, x2, x3`` (a = 7, b = 0.1), no noise: known Sobol indices."""
    p = _parse(overrides)
    x1, x2, x3 = (float(p.get(k, 0.0)) for k in ("x1", "x2", "x3"))
    y = math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)
    return {"scenario": scenario, "seed": int(seed), "ishigami": y, "runtime_s": 0.0}


def ishigami_as_day(
    scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None
) -> dict:
    """:func:`ishigami_run` reported as ``max_drawdown_pct`` (for the CLI, whose metrics are moments)."""
    out = ishigami_run(scenario, seed, overrides)
    out["max_drawdown_pct"] = out.pop("ishigami")
    return out


def day_run(scenario: str, seed: int, overrides: Sequence[str] = (), series_path: str | None = None) -> dict:
    """A fake day whose shape depends smoothly on ``a`` and ``b`` (defaults 0.5), plus seed noise.

    ``close_return_pct = 1 - 4 a``, ``high_time_s = 1800 + 3600 b``, ``range_pct = 1 + 3 a``; the
    moments of :data:`TRUE` are those of ``a = 0.7, b = 0.3`` without noise.
    """
    _log_call(scenario, seed, overrides)
    sleep_s = float(os.environ.get("FAKE_SLEEP_S", "0") or 0)
    if sleep_s:
        time.sleep(sleep_s)
    p = _parse(overrides)
    a, b = float(p.get("a", 0.5)), float(p.get("b", 0.5))
    rng = np.random.default_rng([int(seed), 7])
    prev = 6000.0
    close_ret = 1.0 - 4.0 * a + rng.normal(0, 0.05)
    high_ret = max(close_ret, 0.0) + 0.5
    rng_pct = 1.0 + 3.0 * a + rng.normal(0, 0.05)
    high = prev * (1 + high_ret / 100)
    low = high - prev * rng_pct / 100
    close = prev * (1 + close_ret / 100)
    return {
        "scenario": scenario,
        "seed": int(seed),
        "prev_close": prev,
        "open": prev,
        "high": high,
        "low": min(low, close),
        "close": close,
        "close_return_pct": close_ret,
        "high_return_pct": high_ret,
        "range_pct": rng_pct,
        "max_drawdown_pct": 100 * (high - min(low, close)) / high,
        "high_time_s": 1800.0 + 3600.0 * b + rng.normal(0, 60.0),
        "low_time_s": 23000.0,
        "runtime_s": 0.0,
    }


TRUE = {"a": 0.7, "b": 0.3}
