"""The interactive page: Mesa's ``SolaraViz`` around :class:`experiments.viz.CascadeVizModel`.

Run it with ``cascade viz [SCENARIO] --port N`` (which sets ``CASCADE_VIZ_SCENARIO`` and starts
``solara run experiments/viz/app.py --host 127.0.0.1 --port N --production``). The sidebar holds
Mesa's Reset / Play / Step buttons, the play and render intervals, and the model's parameters
(scenario, seed, dip-buy capital, dealer positioning scale, CTA capital, simulated seconds per step);
new parameters take effect on *Reset*. The charts redraw after every step (every *render interval*
steps): price with supports, CTA trigger levels, gamma flip and news events; dealer gamma and futures
hedge; CTA position and dip capital deployed; ATM implied vol; net flow per agent class; and a
panel with the run's parameters, the clock and the wall time per step and per redraw.

Needs the ``viz`` extra: ``mesa[viz]==3.3.1``, ``solara==1.58.2``, ``solara-assets==1.58.2`` (the
page's JavaScript, served locally), ``ipyvuetify<2``, ``ipyvue<2``, ``networkx``.
"""

from __future__ import annotations

import html
import statistics
import threading

import reacton.ipywidgets as rw
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from experiments.config import load_scenario, shipped_scenarios
from experiments.viz.knobs import Knobs, format_usd, parse_seed, viz_scenario
from experiments.viz.model import CascadeVizModel

SCENARIO = viz_scenario()
_BASE = load_scenario(SCENARIO)
PLAY_INTERVAL_MS = 20
"""Pause between two steps while playing (the redraw of the charts takes longer than this)."""
DRAW_WAIT_S = 10.0
"""Longest wait of a step for the page to draw the previous one (a closed tab never draws)."""
DEALER_SCALES = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
STEP_SECONDS = [10, 15, 30, 60, 300]


class CascadePage(CascadeVizModel):
    """:class:`CascadeVizModel` for the page: typed-in amounts that do not parse keep the scenario's value.

    What was not understood is listed in :attr:`notes` (shown on the page) instead of raising.
    """

    def __init__(
        self,
        scenario: str | None = None,
        seed: int | str = 0,
        dip_capital_usd: float | str | None = None,
        dealer_scale: float = 1.0,
        cta_capital_usd: float | str | None = None,
        step_s: float | None = None,
    ):
        notes: list[str] = []
        seed_int = parse_seed(seed, notes=notes)
        knobs = Knobs.parse(dip_capital_usd, dealer_scale, cta_capital_usd, notes=notes)
        super().__init__(
            scenario, seed_int, knobs.dip_capital_usd, knobs.dealer_scale, knobs.cta_capital_usd, step_s
        )
        self.notes = notes
        # Set once the page has drawn the latest step (see ``step`` and ``RunInfo``).
        self.drawn = threading.Event()
        self.drawn.set()

    def step(self) -> None:
        """One step, but only once the page has drawn the previous one (waiting at most ``DRAW_WAIT_S``).

        Mesa's play loop steps from a worker thread every ``PLAY_INTERVAL_MS`` whatever the page is
        doing; under CPU load the state then changed during every render pass, and reacton gave up with
        "Too many renders triggered". Pacing the steps by the redraws keeps one change per render.
        """
        self.drawn.wait(DRAW_WAIT_S)
        self.drawn.clear()
        super().step()


def _chart(model: CascadePage, name: str) -> solara.Element:
    # fill the grid cell, keep the aspect ratio: never taller than the cell, whatever the window width
    return rw.Image(value=model.chart_svg(name), format="svg+xml", _dom_classes=["solara-image"],
                    layout={"width": "100%", "height": "100%", "object_fit": "contain"})  # fmt: skip


def _chart_component(name: str, title: str, doc: str):
    """A page component drawing ``model.chart_svg(name)``, redrawn after every step."""

    def chart(model: CascadePage):
        update_counter.get()
        return _chart(model, name)

    chart.__name__ = chart.__qualname__ = title
    chart.__doc__ = doc
    return solara.component(chart)


PriceChart = _chart_component(
    "price", "PriceChart", "Mid price with reference levels and news events; the title shows the clock."
)
DealerChart = _chart_component(
    "dealers", "DealerChart", "Dealer gamma (red when short) and the dealers' futures hedge."
)
CTAChart = _chart_component("cta", "CTAChart", "CTA position and dip capital deployed.")
IVChart = _chart_component("iv", "IVChart", "ATM implied vol: the event premium crush and the re-spike.")
FlowsChart = _chart_component("flows", "FlowsChart", "Cumulative net futures flow per agent class.")


def _ms(values: list[float]) -> str:
    return f"{1000.0 * statistics.median(values):.0f} ms" if values else "-"


@solara.component
def RunInfo(model: CascadePage):
    """What is running, where the clock is, and how long steps and redraws take."""
    counter = update_counter.get()
    solara.use_effect(lambda: model.drawn.set(), [model, counter])  # the page has drawn this step
    _, s = model.snapshot()
    state = "finished" if not s["running"] else f"{s['clock']} ET"
    ms_step, ms_draw = _ms(model.step_wall_s[-60:]), _ms(model.render_wall_s)
    parts = [
        "<h3>This run</h3>",
        f"<p>{html.escape(model.describe())}</p>",
        f"<p><b>{state}</b> · step {s['steps']} · mid {s['mid']:,.2f} ({s['change_pct']:+.2f}% vs prev close)"
        f" · drawdown from the day's high {s['drawdown_pct']:.2f}%</p>",
        f"<p>Wall time per model step (median of the last 60): <b>{ms_step}</b>; per chart redraw: "
        f"<b>{ms_draw}</b> (5 charts per update).</p>",
        "<p>Change the parameters in the sidebar, then press <b>Reset</b> to start a new day with them. "
        "Amounts take <code>3e8</code>, <code>300m</code> or <code>1.5bn</code>; "
        "dealer positioning multiplies every option position "
        "(negative: customers short the options, dealers long gamma).</p>",
    ]
    parts += [f"<p><b>Note:</b> {html.escape(note)}</p>" for note in model.notes]
    return solara.HTML(tag="div", unsafe_innerHTML="\n".join(parts))


def _scenarios() -> list[str]:
    names = shipped_scenarios()
    return names if SCENARIO in names else [SCENARIO, *names]


model_params = {
    "scenario": {"type": "Select", "value": SCENARIO, "values": _scenarios(), "label": "scenario"},
    "seed": {"type": "InputText", "value": "0", "label": "seed"},
    "dip_capital_usd": {
        "type": "InputText",
        "value": format_usd(_BASE.dip_buyers.capital_usd),
        "label": "dip-buy capital ($)",
    },
    "dealer_scale": {
        "type": "Select",
        "value": 1.0,
        "values": DEALER_SCALES,
        "label": "dealer positioning x (< 0: dealers long gamma)",
    },
    "cta_capital_usd": {
        "type": "InputText",
        "value": format_usd(_BASE.cta.capital_usd),
        "label": "CTA capital ($)",
    },
    "step_s": {
        "type": "Select",
        "value": int(_BASE.sample_interval_s),
        "values": STEP_SECONDS,
        "label": "simulated seconds per step",
    },
}

model = CascadePage(scenario=SCENARIO)

page = SolaraViz(
    model,
    components=[
        (PriceChart, 0),
        (DealerChart, 0),
        (CTAChart, 0),
        (IVChart, 0),
        (FlowsChart, 0),
        (RunInfo, 0),
    ],
    model_params=model_params,
    play_interval=PLAY_INTERVAL_MS,
    name="Hedging-flow cascade",
)
page  # noqa: B018 - solara serves the module's ``page``
