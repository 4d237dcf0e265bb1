"""The interactive page (Mesa SolaraViz) and its headless helpers (see :mod:`experiments.viz.charts`)."""

from experiments.viz.charts import (
    CHARTS,
    DEFAULT_SCENARIO,
    CascadeVizModel,
    Levels,
    LiveChart,
    cta_figure,
    dealer_figure,
    figure_bytes,
    flows_figure,
    format_usd,
    iv_figure,
    knob_overrides,
    parse_usd,
    positioning_overrides,
    price_figure,
    viz_scenario,
)

__all__ = [
    "CHARTS",
    "DEFAULT_SCENARIO",
    "CascadeVizModel",
    "Levels",
    "LiveChart",
    "cta_figure",
    "dealer_figure",
    "figure_bytes",
    "flows_figure",
    "format_usd",
    "iv_figure",
    "knob_overrides",
    "parse_usd",
    "positioning_overrides",
    "price_figure",
    "viz_scenario",
]
