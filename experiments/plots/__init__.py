"""Figures for run, sweep, attribution, calibration and sensitivity directories.

Every figure function only reads DataFrames and dicts (the output contract of a run directory, see
``ARCHITECTURE.md``) and returns a :class:`matplotlib.figure.Figure`; nothing runs a simulation.
Figures are built on :class:`~matplotlib.figure.Figure` directly (no ``pyplot`` state), so the
package works under any backend, including ``Agg``, and never needs ``plt.close`` (the calibration
figures, written by :mod:`experiments.plots.calibration`, still use ``pyplot`` with ``Agg``).

Units: prices in index points, times in seconds from the 09:30 ET open (``t``, shown as ET clock
time HH:MM), quantities in contracts, dealer gamma in $ per 1% move (shown in $bn or $m), implied
volatility in vol points, returns and drawdowns in % of the previous close.

Modules, one job each:
    style: sizes, colours per agent class, level styles, the ET clock axis, number formats.
    panels: the run dashboard's panels (price, depth, dealers, CTA, dip buyers, IV, flows, split),
        each drawing onto given axes; the interactive page (:mod:`experiments.viz`) reuses them.
    run_figures: run_dashboard and gex_profile (one run).
    sweep_figures: fan_chart and phase_diagram (many runs).
    stats: wilson_interval and bootstrap_median_ci.
    attribution: waterfall.
    discovery: plot_dir (what a directory holds, and writing its figures).
    calibration: plot_calibration and plot_sensitivity.
"""

from experiments.plots.attribution import waterfall
from experiments.plots.calibration import plot_calibration, plot_sensitivity
from experiments.plots.discovery import plot_dir
from experiments.plots.panels import CTA_TRIGGER_GROUP_PCT, DASHBOARD_PANELS, SPLIT_STYLES
from experiments.plots.run_figures import gex_profile, run_dashboard
from experiments.plots.stats import bootstrap_median_ci, wilson_interval
from experiments.plots.style import (
    CLASS_COLORS,
    CLASS_NAMES,
    CLASSES,
    DPI,
    FIG_WIDTH_IN,
    OPEN_ET_S,
    TICK_SIZE,
    clock_label,
)
from experiments.plots.sweep_figures import (
    METRIC_LABELS,
    PHASE_METRICS,
    SHAPE_METRICS,
    fan_chart,
    phase_diagram,
)

__all__ = [
    "CLASSES",
    "CLASS_COLORS",
    "CLASS_NAMES",
    "CTA_TRIGGER_GROUP_PCT",
    "DASHBOARD_PANELS",
    "DPI",
    "FIG_WIDTH_IN",
    "METRIC_LABELS",
    "OPEN_ET_S",
    "PHASE_METRICS",
    "SHAPE_METRICS",
    "SPLIT_STYLES",
    "TICK_SIZE",
    "bootstrap_median_ci",
    "clock_label",
    "fan_chart",
    "gex_profile",
    "phase_diagram",
    "plot_calibration",
    "plot_dir",
    "plot_sensitivity",
    "run_dashboard",
    "waterfall",
    "wilson_interval",
]
