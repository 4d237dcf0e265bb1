"""experiments.plots.stats (scipy.stats intervals) and the money formatter, against the hand-written
versions they replaced (kept here as references)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib import ticker

from experiments.plots.stats import bootstrap_median_ci, wilson_interval
from experiments.plots.style import MoneyFormatter, _money_label


def hand_wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson interval as experiments/plots.py computed it before scipy."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def hand_bootstrap(values, rng, n_boot=2000, level=0.95) -> tuple[float, float]:
    """The percentile bootstrap of the median as experiments/plots.py computed it before scipy."""
    vals = np.asarray(values, dtype=float)
    medians = np.median(vals[rng.integers(0, vals.size, size=(n_boot, vals.size))], axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    return float(np.percentile(medians, tail)), float(np.percentile(medians, 100.0 - tail))


@pytest.mark.parametrize("z", [1.644854, 1.959964, 2.575829])
def test_wilson_matches_the_hand_written_formula(z):
    worst = 0.0
    for n in range(1, 41):
        for k in range(n + 1):
            got, ref = wilson_interval(k, n, z), hand_wilson(k, n, z)
            worst = max(worst, abs(got[0] - ref[0]), abs(got[1] - ref[1]))
    assert worst < 1e-12  # measured: 7.8e-16 over n <= 80 and four levels (this test: n <= 40, three levels)


def test_wilson_edges():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


@pytest.mark.parametrize("size", [2, 7, 40])
def test_bootstrap_matches_the_hand_written_resampling(size):
    sample = np.random.default_rng(123).normal(-2.0, 1.5, size=size)
    got = bootstrap_median_ci(sample, np.random.default_rng(9))
    ref = hand_bootstrap(sample, np.random.default_rng(9))
    # scipy draws its resamples from the same generator the same way, so the same seed gives the same
    # interval (measured difference 0); the bound is the Monte-Carlo noise of the endpoints over
    # seeds (standard deviation about 0.007 and 0.025 for size 40), in case a scipy release changes
    # how it draws.
    assert got == pytest.approx(ref, abs=0.1)
    assert got[0] <= float(np.median(sample)) <= got[1]


def test_bootstrap_is_deterministic_for_a_seed_and_handles_tiny_samples():
    values = np.random.default_rng(3).normal(size=25)
    assert bootstrap_median_ci(values, np.random.default_rng(7)) == bootstrap_median_ci(
        values, np.random.default_rng(7)
    )
    assert bootstrap_median_ci([2.5], np.random.default_rng(0)) == (2.5, 2.5)
    assert bootstrap_median_ci([1.0, 1.0, 1.0], np.random.default_rng(0)) == (1.0, 1.0)
    assert all(math.isnan(v) for v in bootstrap_median_ci([np.nan], np.random.default_rng(0)))


def hand_money(x: float) -> str:
    ax_ = abs(x)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if ax_ >= div:
            return f"${x / div:g}{suffix}"
    return f"${x:g}"


@pytest.mark.parametrize("value", [0, 0.5, 7, 999, 1000, 2500, 3e7, 2.5e9, 999_999, 12_345_678, 3.3e10])
def test_money_labels_as_before_for_amounts_below_a_trillion(value):
    assert _money_label(value) == hand_money(value)


def test_money_formatter_is_a_matplotlib_tick_formatter():
    fmt = MoneyFormatter()
    assert isinstance(fmt, ticker.EngFormatter)
    assert fmt(3e8, 0) == "$300m" and fmt.format_data(1e12) == "$1tn"
    assert MoneyFormatter(dollar=False).format_data(1.5e9) == "1.5bn"
    assert _money_label(-3e8) == "-$300m"
