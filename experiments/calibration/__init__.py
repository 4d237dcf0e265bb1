"""Calibration: fit scenario parameters to a day's moments, and measure what the outcomes are sensitive to.

One job per module:

* :mod:`~experiments.calibration.targets`: target files (named moments with tolerances and weights),
  the moments of a run's summary, the distance to the targets.
* :mod:`~experiments.calibration.params`: ``KEY=LO:HI[:log][:int]`` parameter specs.
* :mod:`~experiments.calibration.calibrate`: the optuna study (one sweep per trial, resumable).
* :mod:`~experiments.calibration.sensitivity`: SALib Sobol / Morris indices (one sweep over the sample).
* :mod:`~experiments.calibration.cli`: the ``cascade calibrate`` and ``cascade sensitivity`` subcommands.

Calibration is a client of :mod:`experiments.sweep` (every evaluation is a sweep); the sweep package
never imports it. Submodules are imported on use, so registering the subcommands stays cheap.
"""
