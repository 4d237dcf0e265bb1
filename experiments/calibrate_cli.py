"""Old import path of :mod:`experiments.calibration.cli` (``cascade calibrate``, ``cascade sensitivity``)."""

from experiments.calibration.cli import cmd_calibrate, cmd_sensitivity, register

__all__ = ["cmd_calibrate", "cmd_sensitivity", "register"]
