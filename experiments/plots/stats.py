"""Confidence intervals of the sweep figures, from :mod:`scipy.stats`.

Wilson score intervals for probabilities (``binomtest(k, n).proportion_ci(method="wilson")``) and
percentile bootstrap intervals for medians (``scipy.stats.bootstrap``, resampling with the caller's
seeded generator, so a figure is reproducible). scipy is imported on first use.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable

import numpy as np

from experiments.plots.style import _finite


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k/n``; ``(nan, nan)`` if n = 0.

    Args:
        k: Successes, ``0 <= k <= n``.
        n: Trials.
        z: Normal quantile of the two-sided level (1.959964: 95%).

    Returns:
        ``(low, high)``, proportions in [0, 1].
    """
    if n <= 0:
        return math.nan, math.nan
    from scipy import special, stats

    level = 2.0 * float(special.ndtr(z)) - 1.0
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def _rng_keyword() -> str:
    """``rng`` (scipy >= 1.15) or ``random_state`` (older): how ``bootstrap`` takes the generator."""
    from scipy import stats

    return "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def bootstrap_median_ci(
    values: Iterable[float], rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of ``values`` (units of the values).

    Args:
        values: The sample; NaN and infinities are left out.
        rng: Generator the resamples are drawn from (e.g. ``np.random.default_rng(seed)``, which is
            built from ``SeedSequence(seed)``); the result is a function of its state.
        n_boot: Number of resamples.
        level: Two-sided confidence level.

    Returns:
        ``(low, high)``; both the value for one value, ``(nan, nan)`` for none.
    """
    vals = _finite(list(values))
    if vals.size == 0:
        return math.nan, math.nan
    if vals.size == 1 or np.all(vals == vals[0]):
        return float(vals[0]), float(vals[0])
    from scipy import stats

    res = stats.bootstrap((vals,), np.median, n_resamples=n_boot, confidence_level=level,
                          method="percentile", vectorized=True, **{_rng_keyword(): rng})  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
