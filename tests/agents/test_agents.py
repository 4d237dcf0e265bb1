"""Each agent's rule in isolation against a scripted book (no background flow), plus the full crowd."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.config import load_scenario
from experiments.model import CascadeModel
from market.types import BUY, CANCEL, LIMIT, SELL

QUIET = [
    "flow.n_market_makers=0",
    "flow.noise_limit_rate_per_s=0",
    "flow.noise_market_rate_per_s=0",
    "market.session_start_s=0",
    "market.session_end_s=3600",
    "events=[]",
    "hedgers.enabled=false",
    "cta.enabled=false",
    "dip_buyers.enabled=false",
]


class Script:
    """A liquidity provider that puts deep quotes one tick around a price (index points)."""

    def __init__(self, model: CascadeModel):
        self.ex = model.exchange
        self.owner = self.ex.register_owner("script", "background")
        self.oids: list[int] = []

    def quote(self, price_points: float, size: int = 100_000) -> None:
        for oid in self.oids:
            if self.ex.book.order(oid) is not None:
                self.ex.submit(self.owner, CANCEL, 0, 0, oid=oid)
        mid = int(round(price_points / self.ex.tick))
        self.oids = [
            self.ex.submit(self.owner, LIMIT, BUY, size, price_ticks=mid - 1).oid,
            self.ex.submit(self.owner, LIMIT, SELL, size, price_ticks=mid + 1).oid,
        ]


def dealer_model(extra=()) -> tuple[CascadeModel, object, Script]:
    config = load_scenario(
        "nov20_2025",
        QUIET + ["dealers.n_agents=1", "dealers.band_contracts=0", "dealers.hedge_fraction=1",
                 "dealers.max_clip_contracts=100000", "dealers.max_participation=inf", *extra],
    )  # fmt: skip
    model = CascadeModel(config, seed=1)
    script = Script(model)
    script.quote(config.prev_close_points)
    (dealer,) = model.agent_groups["dealers"]
    return model, dealer, script


def test_dealer_short_puts_sells_futures_when_spot_drops():
    model, dealer, script = dealer_model()
    dealer.hedge()  # hedged at the prior close
    before = dealer.position
    script.quote(model.config.prev_close_points * 0.99)
    dealer.hedge()
    assert dealer.position < before - 10  # short puts gain delta as spot falls: sell futures


def test_dealer_short_puts_buys_futures_when_iv_is_crushed():
    model, dealer, script = dealer_model(["options.positions=[{strike_pct=97.0, expiry_day=1, "
                                          "kind='put', customer_qty=3000}]"])  # fmt: skip
    dealer.hedge()
    before = dealer.position
    model.options.surface.atm_vol_ann -= 0.05  # IV crush (5 vol points), spot unchanged
    dealer.hedge()
    assert dealer.position > before + 5  # short OTM puts lose delta as IV falls: buy futures


def script_ask(model: CascadeModel) -> int:
    return model.exchange.book.best_ask


def test_dealer_clip_respects_its_participation_cap():
    model, dealer, script = dealer_model(["dealers.max_participation=0.1"])
    other = model.exchange.register_owner("other", "background")
    model.exchange.submit(other, LIMIT, BUY, 1000, price_ticks=script_ask(model))  # 1,000 traded
    script.quote(model.config.prev_close_points * 0.97)  # a 3% fall: a gap of thousands of contracts
    before = dealer.position
    dealer.hedge()
    assert before - 100 <= dealer.position < before  # sells, but at most 10% of the 1,000


def test_protected_order_never_trades_beyond_its_slippage_cap():
    model, dealer, script = dealer_model()
    ex = model.exchange
    ask = script_ask(model)
    ex.submit(script.owner, CANCEL, 0, 0, oid=script.oids[1])
    ex.submit(script.owner, LIMIT, SELL, 5, price_ticks=ask)
    far = ex.submit(script.owner, LIMIT, SELL, 100, price_ticks=ask + 20)
    assert dealer.trade_market(50, max_slippage_ticks=8) == 5  # only what lies within 8 ticks
    assert ex.book.order(far.oid)["qty"] == 100  # the deeper offer is untouched
    assert dealer.trade_market(50) == 50  # a plain market order walks the book


def test_dealer_that_does_not_hedge_never_trades():
    model, dealer, script = dealer_model(["dealers.hedging=false"])
    script.quote(model.config.prev_close_points * 0.98)
    model.run()
    assert dealer.position == 0


def test_cta_signal_flips_sign_at_its_trigger_levels():
    config = load_scenario(
        "nov20_2025", QUIET + ["dealers.enabled=false", "cta.enabled=true", "cta.n_agents=1"]
    )
    model = CascadeModel(config, seed=2)
    (cta,) = model.agent_groups["cta"]
    closes = np.asarray(config.cta.daily_closes)
    for lookback, level in zip(cta.params.lookbacks_days, cta.trigger_levels(), strict=True):
        assert level == pytest.approx(closes[-(lookback - 1) :].mean())
        # at the level, that lookback's moving average equals the price: its term is zero
        assert cta.moving_average(lookback, level) == pytest.approx(level)
    lo, hi = min(cta.trigger_levels()), max(cta.trigger_levels())
    assert cta.signal(hi * 1.01) > 0 > cta.signal(lo * 0.99)


def test_cta_target_shrinks_when_volatility_rises():
    config = load_scenario(
        "nov20_2025", QUIET + ["dealers.enabled=false", "cta.enabled=true", "cta.n_agents=1"]
    )
    model = CascadeModel(config, seed=2)
    (cta,) = model.agent_groups["cta"]
    price = max(cta.trigger_levels()) * 1.02
    assert abs(cta.target_at(price, 0.30)) < abs(cta.target_at(price, 0.10))


def test_dip_buyers_never_spend_beyond_their_budget():
    config = load_scenario(
        "nov20_2025",
        ["market.session_end_s=7200", "dip_buyers.min_drawdown_pct=0.1", "dip_buyers.max_drawdown_pct=0.3",
         "dip_buyers.n_agents=40", "dip_buyers.capital_usd=5e7", "dip_buyers.aggressive_share=0.5"],
    )  # fmt: skip
    model = CascadeModel(config, seed=3)
    model.run()
    buyers = model.agent_groups["dip_buyers"]
    spent = np.array([b._spent_from_account() for b in buyers])
    budgets = np.array([b.params.capital_usd for b in buyers])
    assert spent.sum() > 0  # the test is meaningless if nobody bought
    styles = {b.params.aggressive for b in buyers if b.spent_usd > 0}
    assert styles == {True, False}  # both the resting bids and the aggressive buyers bought
    assert np.all(spent <= budgets * 1.001 + 1.0)
    assert spent.sum() <= config.dip_buyers.capital_usd * 1.001


def test_full_crowd_is_deterministic_on_a_short_day():
    config = load_scenario("nov20_2025", ["market.session_end_s=900"])
    a = CascadeModel(config, seed=11)
    a.run()
    b = CascadeModel(config, seed=11)
    b.run()
    assert len(a.agents) >= 300
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    assert a.exchange.n_messages == b.exchange.n_messages
    assert not math.isnan(a.timeseries()["dealer_gamma"].iloc[-1])
