"""Every shipped scenario loads, round-trips through TOML and runs a short day; bad values name their key.

Parametrized over ``experiments/scenarios/*.toml``, so a new scenario is covered as soon as it ships.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from experiments.config import SCENARIO_DIR, ScenarioConfig, load_scenario, scenario_toml, shipped_scenarios
from experiments.config_io import ConfigError
from experiments.model import FLOW_GROUPS
from experiments.runner import run_scenario

SCENARIOS = sorted(SCENARIO_DIR.glob("*.toml"))


def test_cascade_scenarios_lists_every_shipped_file_with_its_description(capsys):
    from experiments.cli import main

    assert main(["scenarios"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    listed = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in lines}
    files = sorted(e.name for e in os.scandir(SCENARIO_DIR) if e.is_file() and e.name.endswith(".toml"))
    assert {"calm", "nov20_2025"} <= set(listed)
    assert sorted(listed) == [f.removesuffix(".toml") for f in files] == shipped_scenarios()
    assert len(lines) == len(files)  # one line each
    for f in files:
        raw = tomllib.loads((SCENARIO_DIR / f).read_text(encoding="utf-8"))
        stem = f.removesuffix(".toml")
        assert raw["name"] == stem  # `cascade run NAME` runs the scenario called NAME
        assert listed[stem] == raw["description"] != ""


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_loads_and_round_trips(path: Path, tmp_path):
    config = load_scenario(path.stem)
    assert isinstance(config, ScenarioConfig)
    assert config == load_scenario(path)  # by name or by path: the same scenario
    assert config.name == path.stem and config.description
    text = scenario_toml(config)
    copy = tmp_path / "copy.toml"
    copy.write_text(text)
    again = load_scenario(copy)
    assert again == config
    assert scenario_toml(again) == text


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_runs_a_short_day(path: Path, no_stuck_clock):
    config = load_scenario(path.stem, ["market.session_end_s=600"])
    result = run_scenario(config, seed=42)
    ts = result.timeseries
    start = config.market.session_start_s
    assert ts["t"].iloc[0] == start and ts["t"].iloc[-1] == 600.0
    assert ts["mid"].notna().all() and (ts["mid"] > 0).all()
    assert abs(ts["mid"].iloc[-1] / config.prev_close_points - 1.0) < 0.10
    flows = ts[[f"flow_{g}" for g in FLOW_GROUPS]].to_numpy()
    np.testing.assert_array_equal(flows.sum(axis=1), 0.0)  # every account is in a flow class
    s = result.summary
    assert s["scenario"] == config.name and s["seed"] == 42
    assert s["n_messages"] > 1_000 and math.isfinite(s["close"])


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("overrides", "key", "text"),
    [
        (["flow.noise_market_rate_per_s=-2"], "flow.noise_market_rate_per_s", "must be >= 0"),
        (["flow.n_market_makers=1.5"], "flow.n_market_makers", "int"),
        (["market.tick_size_points=0"], "market.tick_size_points", "must be > 0"),
        (["dealers.n_agents=0"], "dealers.n_agents", "must be >= 1"),
        (["dip_buyers.min_drawdown_pct=5", "dip_buyers.max_drawdown_pct=2"], "dip_buyers.max_drawdown_pct",
         ">= dip_buyers.min_drawdown_pct"),
        (["dip_buyers.support_share=0.5"], "dip_buyers.support_share", "set [levels] supports"),
        (["dip_buyers.prior_close_share=0.6", "dip_buyers.support_share=0.5"], "dip_buyers.support_share",
         "prior_close_share + support_share must be <= 1"),
        (["market.session_end_s=-5"], "market.session_end_s", "must be > 0"),
        (["sample_interval_s=0"], "sample_interval_s", "must be >= 1"),
        (["options.positions[0].kind=straddle"], "options.positions[0].kind", "put"),
        (["flow.mm_size=3"], "flow.mm_size", "unknown key"),
        (["flow.news_activity_halflife_s=0"], "flow.news_activity_halflife_s", "must be > 0"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_key(overrides, key, text):
    with pytest.raises(ConfigError) as err:
        load_scenario("calm", overrides)
    assert err.value.key == key
    message = str(err.value)
    assert key in message.split(":")[0] and text in message  # the key leads the one-line message
    assert "\n" not in message


def test_a_negative_news_activity_boost_names_the_event_key():
    with pytest.raises(ConfigError) as err:
        load_scenario("nov20_2025_protected", ["events[0].activity_boost=-1"])
    assert err.value.key == "events[0].activity_boost" and "must be >= 0" in str(err.value)


def test_errors_in_a_scenario_file_name_the_key(tmp_path):
    bad_event = tmp_path / "bad_event.toml"
    bad_event.write_text(
        'name = "x"\n[[events]]\nname = "a"\nt_s = 10.0\n[[events]]\nname = "b"\nt_s = "noon"\n'
    )
    with pytest.raises(ConfigError, match=r"^events\[1\]\.t_s = 'noon': expected a number"):
        load_scenario(bad_event)
    unknown_premium = tmp_path / "unknown_premium.toml"
    unknown_premium.write_text('name = "x"\n[[events]]\nname = "cpi"\nresolves = ["cpi"]\n')
    with pytest.raises(ConfigError, match=r"^events\[0\]\.resolves = 'cpi': unknown premium"):
        load_scenario(unknown_premium)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_scenario(broken)
    with pytest.raises(ConfigError, match="no such file"):
        load_scenario(tmp_path / "missing.toml")


def test_flow_budget_bounds_the_exchanges_event_estimate():
    import dataclasses

    from experiments.config import MAX_FLOW_EVENTS
    from market.exchange import expected_events

    calm = load_scenario("calm")
    assert expected_events(calm.flow, calm.market) <= MAX_FLOW_EVENTS
    flow = dataclasses.replace(calm.flow, noise_limit_rate_per_s=500.0)
    events = expected_events(flow, calm.market)
    assert events > MAX_FLOW_EVENTS
    with pytest.raises(ConfigError) as err:
        load_scenario("calm", ["flow.noise_limit_rate_per_s=500"])
    assert err.value.key == "flow" and f"about {events:.3g} background events expected" in str(err.value)


@pytest.mark.parametrize("key", ["dip_buyers.high_bar_s", "stop_sellers.high_bar_s"])
def test_a_negative_bar_length_names_its_key(key):
    with pytest.raises(ConfigError) as err:
        load_scenario("nov20_2025_protected", [f"{key}=-60"])
    assert err.value.key == key and "must be >= 0" in str(err.value)
    assert load_scenario("nov20_2025_protected", [f"{key}=900"]) is not None
