"""Old import path of :mod:`experiments.sweep.attribution` (counterfactual flow attribution)."""

from experiments.sweep.attribution import (
    CSV_FILE,
    DEFAULT_CLASSES,
    MARKER_FILE,
    METRICS,
    TABLE_FILE,
    attribution_table,
    paired_contribution,
    run_attribution,
)

__all__ = [
    "CSV_FILE",
    "DEFAULT_CLASSES",
    "MARKER_FILE",
    "METRICS",
    "TABLE_FILE",
    "attribution_table",
    "paired_contribution",
    "run_attribution",
]
