"""Old import path of :mod:`experiments.calibration.sensitivity` (SALib Sobol / Morris analysis)."""

from experiments.calibration.sensitivity import (
    DEFAULT_METRICS,
    METHODS,
    run_sensitivity,
    salib_problem,
    sample_points,
)

__all__ = ["DEFAULT_METRICS", "METHODS", "run_sensitivity", "salib_problem", "sample_points"]
