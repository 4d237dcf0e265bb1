"""The Mesa model end to end on short days: the time-series contract, sampling, news, watches, seeds."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd
import pytest

from experiments.config import load_scenario
from experiments.model import FLOW_GROUPS, CascadeModel, gex_price_grid
from experiments.runner import run_scenario, write_run

CONTRACT_COLUMNS = [
    "t", "mid", "last", "bid", "ask", "spread", "volume", "depth_bid", "depth_ask", "iv_atm",
    "dealer_delta", "dealer_gamma", "dealer_vanna", "dealer_hedge", "cta_position",
    "dip_capital_deployed",
] + [f"flow_{g}" for g in FLOW_GROUPS] + [
    f"dealer_flow_{p}" for p in ("gamma", "vanna", "charm", "oi", "other")
] + ["cta_flow_signal", "cta_flow_vol"]  # fmt: skip

TINY = """
name = "tiny"
description = "a short day with two news items"
prev_close_points = 6642.16
sample_interval_s = 30.0

[market]
session_end_s = 1200.0

[options]
atm_vol_ann = 0.15
[[options.event_premia]]
name = "jobs"
t_s = 600.0
move_std = 0.05

[[events]]
name = "jobs report"
t_s = 600.0
resolves = ["jobs"]
sentiment_shift = 0.8
activity_boost = 2.0

[[events]]
name = "speech"
t_s = 615.5
sentiment_shift = -0.3
"""


class Listener(mesa.Agent):
    """Records the news it hears and the price watches that fire, with the model's clock."""

    def __init__(self, model: CascadeModel):
        super().__init__(model)
        self.news: list[tuple[str, float, float]] = []
        self.news_activity: list[float] = []
        self.hits: list[tuple[int, float, float]] = []

    def on_news(self, event) -> None:
        self.news.append((event.name, self.model.now_s, self.model.exchange.sentiment))
        self.news_activity.append(self.model.exchange.news_activity)

    def on_hit(self, hit) -> None:
        self.hits.append((hit.watch_id, hit.t_s, self.model.now_s))


@pytest.fixture(autouse=True)
def _every_test_guards_the_clock(no_stuck_clock):
    """Every model test fails instead of hanging if the clock stops advancing (see conftest)."""


@pytest.fixture(scope="module")
def calm_short():
    config = load_scenario("calm", ["market.session_end_s=1800"])
    return config, run_scenario(config, seed=1)


def test_timeseries_has_the_contract_columns_and_sane_values(calm_short):
    config, result = calm_short
    ts = result.timeseries
    missing = [c for c in CONTRACT_COLUMNS if c not in ts.columns]
    assert not missing
    assert len(ts) == 1800 // 30 + 1
    body = ts.iloc[1:]  # the first sample, at the open, may precede the first trade
    assert body[["mid", "last", "bid", "ask", "spread"]].notna().all().all()
    np.testing.assert_allclose(body["spread"], body["ask"] - body["bid"])
    np.testing.assert_allclose(body["mid"], 0.5 * (body["bid"] + body["ask"]))
    assert (body["spread"] >= 0.25).all() and (body[["depth_bid", "depth_ask"]] > 0).all().all()
    assert (ts["volume"] >= 0).all()
    assert abs(ts["mid"].iloc[-1] / config.prev_close_points - 1.0) < 0.02
    assert ts["iv_atm"].between(0.05, 0.5).all()
    assert (ts["dealer_gamma"] > 0).all()  # calm: customers sold options, the dealers are long gamma
    # every account belongs to a flow class: the class flows net to zero at every sample
    flows = ts[[f"flow_{g}" for g in FLOW_GROUPS]].to_numpy()
    np.testing.assert_array_equal(flows.sum(axis=1), 0.0)


def test_volume_column_adds_up_to_the_tape(calm_short):
    _, result = calm_short
    assert result.timeseries["volume"].sum() == result.trades["qty"].sum() == result.summary["volume"]


@pytest.mark.parametrize("interval_s", [20.0, 45.0])
def test_sampling_interval_is_respected(interval_s):
    config = load_scenario("calm", ["market.session_end_s=900", f"sample_interval_s={interval_s}"])
    model = CascadeModel(config, seed=2)
    model.run()
    t = model.timeseries()["t"].to_numpy()
    expected = np.arange(0.0, 900.0 + 1e-9, interval_s)
    np.testing.assert_allclose(t, expected, atol=1e-9)
    assert model.now_s == 900.0 and not model.running


def test_macro_events_fire_at_their_times_and_reach_subscribers(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    config = load_scenario(path)
    model = CascadeModel(config, seed=3)
    listener = Listener(model)
    model.subscribe_news(listener)
    model.run()
    assert [n[0] for n in listener.news] == ["jobs report", "speech"]
    (_, t_jobs, s_jobs), (_, t_speech, s_speech) = listener.news
    assert t_jobs == 600.0 and t_speech == 615.5  # the exchange clock stopped exactly there
    assert s_jobs == pytest.approx(0.8)  # the shift happened before subscribers were called
    decay = 0.5 ** (15.0 / config.flow.news_activity_halflife_s)
    assert listener.news_activity == pytest.approx([2.0, 2.0 * decay], abs=1e-3)  # the jobs report's burst
    assert s_speech == pytest.approx(0.8 * 0.5 ** (15.0 / config.flow.sentiment_halflife_s) - 0.3, abs=1e-3)
    ts = model.timeseries().set_index("t")
    assert (ts.loc[:570.0, "sentiment"] == 0.0).all()  # nothing before the news
    assert ts.loc[600.0, "sentiment"] == pytest.approx(0.8)  # samples see the state after the news
    # the IV event premium (a 5% move priced into 30-day IV) is removed at 600 s: the IV crush
    iv_step = ts["iv_atm"].diff()
    assert iv_step.loc[600.0] < -0.04
    assert iv_step.drop(index=600.0).abs().max() < 0.01
    # news moves beliefs, never a price directly: the buying it causes lifts the mid over time
    assert ts.loc[900.0, "mid"] > ts.loc[600.0, "mid"] + 5.0
    assert [m["label"] for m in model.markers] == ["jobs report", "speech"]


def test_price_watch_callback_runs_at_the_crossing_time():
    config = load_scenario("calm", ["market.session_end_s=2400"])
    model = CascadeModel(config, seed=7)  # a seed whose path crosses both levels after 300 s
    listener = Listener(model)
    model.advance_until(300.0)
    last = model.exchange.book.last_price
    up = model.watch(listener.unique_id, last + 4, 1, listener.on_hit)
    down = model.watch(listener.unique_id, last - 4, -1, listener.on_hit)
    gone = model.watch(listener.unique_id, last - 2, -1, listener.on_hit)
    model.unwatch(gone)
    model.run()
    assert sorted(h[0] for h in listener.hits) == sorted([up, down])  # each once; the removed one never
    for _, t_hit, t_model in listener.hits:
        assert 300.0 < t_hit < 2400.0 and t_model == t_hit  # the agent ran at the crossing, not later
    tape = model.exchange.trades()
    first_up = tape[(tape["time_s"] > 300.0) & (tape["price"] >= (last + 4) * 0.25)]["time_s"].min()
    hit_up = next(h[1] for h in listener.hits if h[0] == up)
    assert hit_up == pytest.approx(first_up, abs=1e-9)


def test_step_by_step_equals_one_run():
    config = load_scenario("calm", ["market.session_end_s=600"])
    whole = CascadeModel(config, seed=9)
    whole.run()
    stepped = CascadeModel(config, seed=9)
    n = 0
    while stepped.running:
        stepped.step()
        n += 1
    assert n == 600 // 30 and stepped.now_s == 600.0
    pd.testing.assert_frame_equal(whole.timeseries(), stepped.timeseries(), check_exact=True)


class Sleeper(mesa.Agent):
    def __init__(self, model: CascadeModel):
        super().__init__(model)
        self.woke_at: list[float] = []

    def wake(self) -> None:
        self.woke_at.append(self.model.now_s)


def test_an_event_between_two_nanoseconds_runs():
    model = CascadeModel(load_scenario("calm", ["market.session_end_s=300"]), seed=0)
    sleeper = Sleeper(model)
    model.schedule_at(100.0000000003, sleeper.wake)  # 0.3 ns past a nanosecond
    model.run()
    assert sleeper.woke_at == [pytest.approx(100.0, abs=1e-6)]


def test_step_counter_counts_each_step_once():
    model = CascadeModel(load_scenario("calm", ["market.session_end_s=120"]), seed=0)
    model.step()
    assert model.steps == 1


def test_same_seed_identical_outputs_different_seed_differs(tmp_path, calm_short):
    config, first = calm_short
    again = run_scenario(config, seed=1)
    pd.testing.assert_frame_equal(first.timeseries, again.timeseries, check_exact=True)
    pd.testing.assert_frame_equal(first.trades, again.trades, check_exact=True)
    a = write_run(first, tmp_path / "a")
    b = write_run(again, tmp_path / "b")
    for name in ("timeseries", "trades", "depth", "gex", "option_trades"):
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name
    assert (a / "scenario.toml").read_text() == (b / "scenario.toml").read_text()
    other = run_scenario(config, seed=2)
    assert not other.timeseries["mid"].equals(first.timeseries["mid"])
    assert other.summary["n_messages"] != first.summary["n_messages"]
    assert not math.isnan(first.summary["realized_vol"])


def test_class_names_are_defined_once():
    """The flow columns, the figures' classes and the attribution's knockouts name the same classes."""
    from experiments.agent_classes import AGENT_CLASSES
    from experiments.plots import CLASSES
    from experiments.sweep.attribution import DEFAULT_CLASSES

    assert FLOW_GROUPS == CLASSES == (*AGENT_CLASSES, "background")
    assert DEFAULT_CLASSES == tuple(c for c in AGENT_CLASSES if c not in ("stop_sellers", "letf"))


def test_gex_price_grid_spans_minus_6_to_plus_4_percent():
    grid = gex_price_grid(6000.0)
    assert grid.shape == (201,) and grid[0] == 6000.0 * 0.94 and grid[-1] == 6000.0 * 1.04
    assert np.all(np.diff(grid) > 0)


@pytest.mark.parametrize(
    ("iv", "expected"), [(0.15, (0.20 / 0.15) ** 4), (0.25, (0.20 / 0.25) ** 4), (0.5, 0.3)]  # 0.3: the floor
)
def test_value_conviction_scales_the_belief_halflife_with_implied_vol(iv, expected):
    from market import _flow_kernels as F

    keys = ["market.session_end_s=60", "flow.value_conviction_iv_exponent=4",
            "flow.value_conviction_iv_ref=0.2", "flow.value_conviction_min_scale=0.3"]  # fmt: skip
    config = load_scenario("calm", keys)
    model = CascadeModel(config, seed=0)
    model._value_conviction(iv)
    assert model.exchange._state.ff[F.FF_VALUE_HL_SCALE] == pytest.approx(expected)


def test_without_value_conviction_the_belief_halflife_is_never_scaled():
    from market import _flow_kernels as F

    model = CascadeModel(load_scenario("calm", ["market.session_end_s=300"]), seed=0)
    model.run()
    assert model.exchange._state.ff[F.FF_VALUE_HL_SCALE] == 1.0


def test_a_finished_run_leaves_no_model_alive():
    """Mesa 3.3's class-level ``Agent._ids`` would keep every model (mesa#3179): the runner releases it."""
    import gc

    from experiments.runner import run_scenario

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, CascadeModel) for o in gc.get_objects())

    config = load_scenario("nov20_2025_spark", ["market.session_end_s=600"])
    before = alive()  # other tests' models may still be collected meanwhile: none may be added
    for seed in range(3):
        run_scenario(config, seed)
    assert alive() <= before


class HighListener(mesa.Agent):
    """Records the highs it hears, with the model's clock."""

    def __init__(self, model: CascadeModel):
        super().__init__(model)
        self.highs: list[tuple[float, float]] = []

    def on_new_high(self, high: float) -> None:
        self.highs.append((self.model.now_s, high))


def test_a_bar_high_is_the_highest_bar_close_and_is_heard_at_bar_ends():
    model = CascadeModel(load_scenario("calm", ["market.session_end_s=3600"]), seed=5)  # a spiky hour
    bars, ticks = HighListener(model), HighListener(model)
    model.subscribe_new_high(bars, 300.0)
    model.subscribe_new_high(ticks)
    assert model.bar_high(300.0) == -np.inf
    model.run()
    ts = model.timeseries().set_index("t")
    closes = ts.loc[[300.0 * k for k in range(1, 13)], "mid"]  # the mid at each 5-minute bar's end
    record = closes.cummax()
    expected = [(t, m) for t, m in closes.items() if t == 300.0 or m > record[t - 300.0]]
    assert bars.highs == expected
    assert model.bar_high(300.0) == closes.max()
    assert closes.max() < model.day_high_points  # a spike between bar ends is not a bar close
    assert len(ticks.highs) > len(bars.highs)
