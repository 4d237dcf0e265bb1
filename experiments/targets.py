"""Old import path of :mod:`experiments.calibration.targets` (calibration targets and moments).

The shipped target files stay in ``experiments/targets/*.toml``.
"""

from experiments.calibration.targets import (
    DERIVED,
    KNOWN_MOMENTS,
    MISSING_Z,
    TARGETS_DIR,
    Moment,
    Targets,
    TargetsError,
    derive_moments,
    distance,
    known_moment,
    load_targets,
    moment_values,
    shipped_targets,
)

__all__ = [
    "DERIVED",
    "KNOWN_MOMENTS",
    "MISSING_Z",
    "TARGETS_DIR",
    "Moment",
    "Targets",
    "TargetsError",
    "derive_moments",
    "distance",
    "known_moment",
    "load_targets",
    "moment_values",
    "shipped_targets",
]
