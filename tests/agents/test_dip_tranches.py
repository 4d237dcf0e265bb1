"""Dip buyers trade whole contracts: tranches of at least one contract, a crowd sized to the capital."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.dip_buyer import DipBuyer, DipBuyerParams
from agents.factory import DIP_CONTRACT_HEADROOM, dip_crowd_size
from experiments.config import load_scenario
from experiments.model import CascadeModel
from experiments.runner import run_scenario

PREV_CLOSE = 6642.16
CONTRACT_USD = DIP_CONTRACT_HEADROOM * PREV_CLOSE * 50.0

FALL = f"""
name = "dip_fall"
description = "a quiet morning, then bad news: the price falls through the dip buyers' levels"
prev_close_points = {PREV_CLOSE}
sample_interval_s = 30.0

[market]
session_end_s = 3600.0

[[events]]
name = "bad news"
t_s = 600.0
sentiment_shift = -0.5
value_shift_pct = -2.0

[dip_buyers]
enabled = true
n_agents = 250
capital_usd = 3.0e7
min_drawdown_pct = 0.1
max_drawdown_pct = 0.4
tranches = 3
tranche_step_pct = 0.1
aggressive_share = 0.5
"""


@pytest.fixture(autouse=True)
def _every_test_guards_the_clock(no_stuck_clock):
    """Model runs fail instead of hanging if the clock stops advancing (see conftest)."""


def test_crowd_size_is_what_the_capital_affords():
    assert dip_crowd_size(3.0e7, 250, CONTRACT_USD) == 86  # $30m / $349k
    assert dip_crowd_size(3.0e9, 250, CONTRACT_USD) == 250
    assert dip_crowd_size(1.0e5, 250, CONTRACT_USD) == 0


def test_every_buyer_can_afford_one_contract_and_the_budgets_add_up():
    config = load_scenario("nov20_2025", ["market.session_end_s=60", "dip_buyers.capital_usd=3e7"])
    model = CascadeModel(config, seed=5)
    buyers = model.agent_groups["dip_buyers"]
    budgets = np.array([b.params.capital_usd for b in buyers])
    assert len(buyers) == 86 < config.dip_buyers.n_agents
    assert budgets.min() >= CONTRACT_USD * (1 - 1e-12)
    assert budgets.sum() == pytest.approx(3.0e7)
    # with ten times the capital the crowd is full and heterogeneous above the one-contract floor
    big = CascadeModel(load_scenario("nov20_2025", ["market.session_end_s=60"]), seed=5)
    budgets = np.array([b.params.capital_usd for b in big.agent_groups["dip_buyers"]])
    assert len(budgets) == 250 and budgets.min() >= CONTRACT_USD * (1 - 1e-12)
    assert budgets.max() > 5 * budgets.min() and budgets.sum() == pytest.approx(3.0e8)


def test_no_capital_means_no_buyers():
    config = load_scenario("nov20_2025", ["market.session_end_s=60", "dip_buyers.capital_usd=0"])
    assert CascadeModel(config, seed=5).agent_groups["dip_buyers"] == []


def test_tranches_are_whole_contracts_and_the_last_spends_the_rest():
    model = CascadeModel(load_scenario("calm", ["market.session_end_s=60"]), seed=1)
    price_ticks = round(PREV_CLOSE / model.exchange.tick)
    unit = price_ticks * model.exchange.tick * 50.0

    def buyer(contracts: float, tranche: int = 0) -> DipBuyer:
        b = DipBuyer(model, f"b{contracts}_{tranche}", DipBuyerParams(contracts * unit, 1.0, 3, 0.5, True))
        b.tranche = tranche
        return b

    assert buyer(2.5)._tranche_qty(price_ticks) == 1  # 0.83 contracts a tranche: rounded up to one
    assert buyer(2.5, tranche=2)._tranche_qty(price_ticks) == 2  # the last tranche takes the rest
    assert buyer(9.9)._tranche_qty(price_ticks) == 3
    assert buyer(0.9)._tranche_qty(price_ticks) == 0  # the budget buys no contract


def test_small_capital_is_deployed_when_the_price_falls_through_the_levels(tmp_path):
    path = tmp_path / "dip_fall.toml"
    path.write_text(FALL)
    result = run_scenario(load_scenario(str(path)), seed=1)
    s = result.summary
    assert s["max_drawdown_pct"] > 0.4 + 0.2 + 0.3  # the fall went through every buyer's last level
    assert s["dip_capital_deployed_share"] > 0.8
    assert s["dip_capital_deployed_share"] == pytest.approx(s["dip_capital_deployed_usd"] / 3.0e7)
    assert s["dip_capital_deployed_share"] <= 1.0 + 1e-9
    assert not math.isnan(s["fall_flow_dip_buyers"]) and s["fall_flow_dip_buyers"] >= 70  # contracts
