"""Old import path of :mod:`experiments.calibration.calibrate` (optuna calibration to a day's moments)."""

from experiments.calibration.calibrate import (
    SAMPLERS,
    SPEC_FILE,
    ParamSpec,
    calibrate,
    local_cluster,
    parse_param,
    point_dir_name,
    trial_moments,
    trials_table,
)

__all__ = [
    "SAMPLERS",
    "SPEC_FILE",
    "ParamSpec",
    "calibrate",
    "local_cluster",
    "parse_param",
    "point_dir_name",
    "trial_moments",
    "trials_table",
]
