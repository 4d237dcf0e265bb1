"""experiments.viz.knobs (the page's knobs in one place) and experiments.viz.charts (the live charts
drawn with the dashboard's panels), headless and without building a model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import load_scenario
from experiments.viz import charts
from experiments.viz.knobs import Knobs, knob_overrides, parse_seed, positioning_overrides


@pytest.fixture(scope="module")
def nov20():
    return load_scenario("nov20_2025")


def test_knobs_values_are_the_one_map_onto_scenario_keys(nov20):
    knobs = Knobs(dip_capital_usd=2e9, dealer_scale=-1.0, cta_capital_usd=1e9)
    values = knobs.values(nov20)
    assert values["dip_buyers.capital_usd"] == 2e9 and values["cta.capital_usd"] == 1e9
    qty = [b.customer_qty for b in nov20.options.positions]
    assert [values[f"options.positions[{i}].customer_qty"] for i in range(len(qty))] == [-q for q in qty]
    back = load_scenario("nov20_2025", knobs.overrides(nov20))  # the overrides mean the same values
    assert back.dip_buyers.capital_usd == 2e9 and back.cta.capital_usd == 1e9
    assert [b.customer_qty for b in back.options.positions] == [-q for q in qty]
    assert Knobs().values(nov20) == {}


def test_knob_overrides_strings_unchanged(nov20):
    # the strings the page and notebook 03 built by hand before the Knobs class
    old = ["dip_buyers.capital_usd=2000000000.0", "cta.capital_usd=1000000000.0"] + [
        f"options.positions[{i}].customer_qty={int(round(b.customer_qty * 0.5))}"
        for i, b in enumerate(nov20.options.positions)
    ]
    assert knob_overrides(nov20, dip_capital_usd=2e9, dealer_scale=0.5, cta_capital_usd=1e9) == old
    assert len(positioning_overrides(nov20, 1.0)) == len(nov20.options.positions)
    with pytest.raises(ValueError, match="finite"):
        Knobs(dealer_scale=float("nan")).values(nov20)


def test_knobs_config_applies_the_overrides(nov20):
    config, used = Knobs(dip_capital_usd=3e8).config("nov20_2025", ["cta.enabled=false"])
    assert config.dip_buyers.capital_usd == 3e8 and not config.cta.enabled
    assert used == ("dip_buyers.capital_usd=300000000.0", "cta.enabled=false")
    same, none = Knobs().config("nov20_2025")
    assert none == () and same == nov20


def test_knobs_parse_strict_and_lenient():
    assert Knobs.parse("300m", "-1", "1.5bn") == Knobs(3e8, -1.0, 1.5e9)
    assert Knobs.parse("", 1.0, None) == Knobs()
    with pytest.raises(ValueError):
        Knobs.parse("lots")
    notes: list[str] = []
    assert Knobs.parse("lots", 2.0, "1bn", notes=notes) == Knobs(None, 2.0, 1e9)
    assert len(notes) == 1 and notes[0].startswith("dip-buy capital")
    assert parse_seed(" 7 ") == 7
    with pytest.raises(ValueError):
        parse_seed(-1)
    assert parse_seed("x", notes=notes) == 0 and notes[-1].startswith("seed")


def series(n: int = 120) -> pd.DataFrame:
    t = np.arange(n) * 30.0
    ramp = np.linspace(0.0, 1.0, n)
    return pd.DataFrame({
        "t": t, "mid": 6650.0 - 60.0 * ramp, "dealer_gamma": 2e9 - 5e9 * ramp, "dealer_hedge": 8000.0 * ramp,
        "cta_position": -9000.0 * ramp, "dip_capital_deployed": 4e8 * ramp, "iv_atm": 0.18 + 0.05 * ramp,
        "flow_dealers": 5000.0 * ramp, "flow_cta": -9000.0 * ramp, "flow_hedgers": 0.0 * ramp,
        "flow_dip_buyers": 2000.0 * ramp, "flow_background": 2000.0 * ramp,
    })  # fmt: skip


LEVELS = charts.Levels(6642.16, (6600.0,), (6580.0, 6590.0), 6620.0, [(4500.0, "speaker")])


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_charts_redraw_in_place_without_piling_up_artists(name):
    chart = charts.CHARTS[name](LEVELS, (-5400.0, 23400.0))
    fig, ax = chart.fig, chart.ax
    empty = chart.update(series().iloc[:0]).svg()
    assert b"no samples yet" in empty
    counts = []
    for n in (20, 60, 120):
        chart.update(series(n), {"clock": "10:00", "mid": 6600.0, "change_pct": -0.6, "drawdown_pct": 1.0})
        counts.append(len(ax.get_children()) + (len(chart.ax2.get_children()) if chart.ax2 else 0))
        assert chart.svg().startswith(b"<?xml")
    assert chart.fig is fig and chart.ax is ax and len(fig.axes) == (2 if chart.twin else 1)
    assert counts[0] == counts[1] == counts[2]  # the same artists each time, not more


def test_chart_panels_are_the_dashboards():
    dealer = charts.CHARTS["dealers"](LEVELS).update(series())
    assert "dealer gamma" in dealer.ax.get_ylabel() and "$bn" in dealer.ax.get_ylabel()
    assert "hedge" in dealer.ax2.get_ylabel() and dealer.ax2.yaxis.get_label_position() == "right"
    flows = charts.CHARTS["flows"](LEVELS).update(series())
    labels = [t.get_text() for t in flows.ax.get_legend().get_texts()]
    assert labels == ["option dealers", "CTAs", "dip buyers", "background flow"]  # hedgers: all zero
    price = charts.CHARTS["price"](LEVELS).update(series())
    kinds = {line.get_gid() for line in price.ax.lines}
    assert kinds >= {"prev close", "support", "CTA trigger", "gamma flip"}
