"""The switchable cascade mechanisms of issue #12: each does what its doc says, and is off by default."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.cta import CTAParams, slice_contracts
from agents.hedger import HedgerConfig, build_crowd
from market import _flow_kernels as K
from market.flow import FlowParams, pack

CTA = CTAParams(
    capital_usd=1e8, vol_target_ann=0.1, lookbacks_days=(20,), weights=(1.0,), signal_width_vol=1.0,
    rebalance_interval_s=1800.0, slice_interval_s=60.0, max_slice_contracts=60, max_slippage_ticks=8,
)


@pytest.mark.parametrize("gap", [-500.0, -30.0, 1.0, 45.0, 500.0])
def test_cta_without_a_horizon_slices_at_most_max_slice(gap):
    assert slice_contracts(gap, CTA) == int(np.sign(gap) * min(abs(gap), 60))


def test_cta_with_a_horizon_works_the_gap_over_it():
    p = dataclasses.replace(CTA, execution_horizon_s=3600.0)
    assert slice_contracts(-1200.0, p) == -20  # 1200 * 60 / 3600
    assert slice_contracts(+30.0, p) == 1  # at least one contract
    assert slice_contracts(-100_000.0, p) == -60  # still capped by max_slice_contracts
    # the whole gap is worked in about horizon / slice_interval slices, against one without it
    gap, n = 1200.0, 0
    while gap >= 1.0:
        gap -= slice_contracts(gap, p)
        n += 1
    assert 60 <= n <= 400 and slice_contracts(1200.0, CTA) == 60


def _ff(value_inv: float) -> np.ndarray:
    ff = np.zeros(K.N_FF)
    ff[K.FF_VALUE_INV] = value_inv
    return ff


def test_value_capacity_off_by_default_leaves_the_full_pull():
    fp = pack(FlowParams())
    for inv in (-1e6, 0.0, 1e6):
        assert K._capacity_left(_ff(inv), fp, 1.0) == 1.0
        assert K._capacity_left(_ff(inv), fp, -1.0) == 1.0


def test_value_capacity_tapers_only_the_direction_already_held():
    fp = pack(FlowParams(value_capacity_qty=1000.0))
    assert K._capacity_left(_ff(0.0), fp, 1.0) == 1.0
    assert K._capacity_left(_ff(250.0), fp, 1.0) == pytest.approx(0.75)  # long 250: less dip-buying
    assert K._capacity_left(_ff(250.0), fp, -1.0) == 1.0  # but selling a rally is unaffected
    assert K._capacity_left(_ff(1500.0), fp, 1.0) == 0.0  # at capacity: no dip-buying at all
    assert K._capacity_left(_ff(-1000.0), fp, -1.0) == 0.0


def _thresholds(cfg: HedgerConfig, seed: int = 0) -> list[float]:
    from tests.agents.test_hedger import StubWorld  # the hedgers' stub World

    return [h.params.panic_drawdown_pct for h in build_crowd(StubWorld(seed=seed), cfg)]


def test_panic_thresholds_are_staggered_between_min_and_max_only_when_asked():
    same = _thresholds(HedgerConfig(n_agents=20, panic_drawdown_pct=1.0))
    assert same == [1.0] * 20
    spread = _thresholds(HedgerConfig(n_agents=20, panic_drawdown_pct=0.3, panic_drawdown_max_pct=3.0))
    assert all(0.3 <= x <= 3.0 for x in spread) and len(set(spread)) == 20
    assert max(spread) - min(spread) > 1.5


def test_market_orders_with_protection_stop_the_open_collapse_of_a_traced_day():
    """The sign of flow.noise_market_protection_ticks on a whole day (docs/nov20.md).

    ``nov20_2025_paced`` seed 4 is a runaway of the kind traced there: with plain market orders the
    offers run out after the open, the buy orders vanish and the sells walk the 1-lot bids down past
    20% by 09:41. The same day with 13-tick protection draws down like the others. (A behaviour change
    elsewhere may move this seed off the collapse: then pick a runaway seed from
    ``benchmarks/nov20_acceptance.py --scenario nov20_2025_paced``; the assertion on the plain day says so.)
    """
    from experiments.config import load_scenario
    from experiments.runner import run_scenario

    def drawdown(*overrides: str) -> float:
        return run_scenario(load_scenario("nov20_2025_paced", overrides), 4).summary["max_drawdown_pct"]

    plain = drawdown()
    assert plain > 15.0, f"seed 4 no longer collapses with plain orders ({plain:.1f}%): re-pick the seed"
    assert drawdown("flow.noise_market_protection_ticks=13") < 8.0
