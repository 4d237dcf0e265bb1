"""Moved to :mod:`experiments.plots.calibration`; this name keeps the old imports working."""

from experiments.plots.calibration import plot_calibration, plot_sensitivity

__all__ = ["plot_calibration", "plot_sensitivity"]
