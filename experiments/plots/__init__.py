"""Figures for run, sweep and attribution directories (see :mod:`experiments.plots.panels`)."""

from experiments.plots.panels import (  # noqa: F401
    CLASS_COLORS,
    DASHBOARD_PANELS,
    DPI,
    _grouped_labels,
    _series_file,
    _series_paths,
    _title,
    bootstrap_median_ci,
    clock_label,
    fan_chart,
    gex_profile,
    phase_diagram,
    plot_dir,
    run_dashboard,
    waterfall,
    wilson_interval,
)

__all__ = [
    "CLASS_COLORS",
    "DASHBOARD_PANELS",
    "DPI",
    "bootstrap_median_ci",
    "clock_label",
    "fan_chart",
    "gex_profile",
    "phase_diagram",
    "plot_dir",
    "run_dashboard",
    "waterfall",
    "wilson_interval",
]
