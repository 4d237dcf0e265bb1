"""The interactive page (Mesa SolaraViz) and its headless helpers.

Modules, one job each (nothing but ``app`` imports Solara):
    knobs: the page's knobs (:class:`Knobs`): parsed from the inputs, mapped onto scenario keys
        in one place (:meth:`Knobs.values`) and applied as ``--set`` style overrides.
    model: :class:`CascadeVizModel`, the Mesa model the page steps, with levels and timings.
    charts: the live charts, drawn with the run dashboard's panels (:mod:`experiments.plots.panels`).
    app: the SolaraViz page (``cascade viz`` runs ``solara run experiments/viz/app.py``).
"""

from experiments.viz.charts import (
    CHARTS,
    Levels,
    LiveChart,
    cta_figure,
    dealer_figure,
    figure_bytes,
    flows_figure,
    iv_figure,
    price_figure,
)
from experiments.viz.knobs import (
    DEFAULT_SCENARIO,
    Knobs,
    format_usd,
    knob_overrides,
    parse_seed,
    parse_usd,
    positioning_overrides,
    viz_scenario,
)
from experiments.viz.model import CascadeVizModel

__all__ = [
    "CHARTS",
    "DEFAULT_SCENARIO",
    "CascadeVizModel",
    "Knobs",
    "Levels",
    "LiveChart",
    "cta_figure",
    "dealer_figure",
    "figure_bytes",
    "flows_figure",
    "format_usd",
    "iv_figure",
    "knob_overrides",
    "parse_seed",
    "parse_usd",
    "positioning_overrides",
    "price_figure",
    "viz_scenario",
]
