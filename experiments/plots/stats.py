"""Confidence intervals of the sweep figures: Wilson for probabilities, bootstrap for medians."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from experiments.plots.style import _finite


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k/n`` (default 95%); ``(nan, nan)`` if n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_median_ci(
    values: Iterable[float], rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``values`` (units of the values)."""
    vals = _finite(list(values))
    if vals.size == 0:
        return math.nan, math.nan
    if vals.size == 1:
        return float(vals[0]), float(vals[0])
    medians = np.median(vals[rng.integers(0, vals.size, size=(n_boot, vals.size))], axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100.0 - tail))
