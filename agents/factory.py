"""Build the scenario's agents, each class switchable with ``<class>.enabled = false``.

The crowd is heterogeneous: each agent's parameters are drawn from the model's generator around
the scenario's values (shares from a Dirichlet, intervals and sizes log-normal, entry levels
uniform), so no two agents of a class act at the same time or level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.cta import CTAParams, CTATrendFollower
from agents.dealer import DealerParams, OptionDealer
from agents.dip_buyer import DipBuyer, DipBuyerParams
from agents.hedger import HedgerParams, PutBuyingHedger

if TYPE_CHECKING:
    from agents.base import TraderAgent
    from experiments.model import CascadeModel


def _lognormal_around(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    """``n`` log-normal draws whose mean is ``mean``."""
    return mean * np.exp(rng.normal(-0.5 * sigma**2, sigma, size=n))


def build_agents(model: CascadeModel) -> dict[str, list[TraderAgent]]:
    """Create the enabled agent classes; return them by flow group."""
    cfg = model.config
    rng = model.rng
    groups: dict[str, list[TraderAgent]] = {}
    if cfg.dealers.enabled:
        groups["dealers"] = _dealers(model, rng)
    if cfg.hedgers.enabled:
        groups["hedgers"] = _hedgers(model, rng)
    if cfg.cta.enabled:
        groups["cta"] = _ctas(model, rng)
    if cfg.dip_buyers.enabled:
        groups["dip_buyers"] = _dip_buyers(model, rng)
    return groups


def _dealers(model: CascadeModel, rng: np.random.Generator) -> list[TraderAgent]:
    c = model.config.dealers
    shares = rng.dirichlet(np.full(c.n_agents, 5.0))
    intervals = _lognormal_around(rng, c.hedge_interval_s, 0.3, c.n_agents)
    bands = c.band_contracts * rng.uniform(0.7, 1.3, size=c.n_agents)
    x = model.options.exposures(model.config.prev_close_points, model.options.surface.t_seconds)
    out = []
    for i in range(c.n_agents):
        params = DealerParams(
            share=float(shares[i]),
            hedge_interval_s=float(intervals[i]),
            band_contracts=float(bands[i]),
            max_clip_contracts=c.max_clip_contracts,
            hedge_fraction=c.hedge_fraction,
            hedging=c.hedging,
            watch_move_pct=c.watch_move_pct,
            max_slippage_ticks=c.max_slippage_ticks,
            max_participation=c.max_participation,
        )
        dealer = OptionDealer(model, f"dealer_{i}", params)
        if c.hedging:  # dealers start the day hedged
            start = int(round(shares[i] * x.hedge_target_es))
            model.exchange.set_initial_position(dealer.owner, start, model.config.prev_close_points)
        out.append(dealer)
    return out


def _hedgers(model: CascadeModel, rng: np.random.Generator) -> list[TraderAgent]:
    c = model.config.hedgers
    intervals = _lognormal_around(rng, c.decision_interval_s, 0.4, c.n_agents)
    panic = np.full(c.n_agents, c.panic_drawdown_pct)
    if c.panic_drawdown_max_pct > c.panic_drawdown_pct:  # staggered thresholds (drawn only if asked)
        panic = rng.uniform(c.panic_drawdown_pct, c.panic_drawdown_max_pct, size=c.n_agents)
    return [
        PutBuyingHedger(
            model,
            f"hedger_{i}",
            HedgerParams(
                float(intervals[i]),
                c.pre_event_qty,
                c.post_event_qty,
                float(panic[i]),
                c.panic_qty,
                c.monetize_gain_pct,
                c.strike_pct,
                c.expiry_day,
            ),  # fmt: skip
        )
        for i in range(c.n_agents)
    ]


def _ctas(model: CascadeModel, rng: np.random.Generator) -> list[TraderAgent]:
    c = model.config.cta
    capital = rng.dirichlet(np.full(c.n_agents, 4.0)) * c.capital_usd
    closes = np.asarray(c.daily_closes, dtype=np.float64)
    out = []
    for i in range(c.n_agents):
        lookbacks = tuple(
            int(np.clip(round(lb * rng.uniform(0.8, 1.25)), 2, len(closes))) for lb in c.lookbacks_days
        )
        weights = tuple(float(w) for w in rng.dirichlet(np.full(len(lookbacks), 2.0)))
        params = CTAParams(
            capital_usd=float(capital[i]),
            vol_target_ann=c.vol_target_ann,
            lookbacks_days=lookbacks,
            weights=weights,
            signal_width_vol=float(c.signal_width_vol * rng.uniform(0.7, 1.3)),
            rebalance_interval_s=float(_lognormal_around(rng, c.rebalance_interval_s, 0.3, 1)[0]),
            slice_interval_s=float(_lognormal_around(rng, c.slice_interval_s, 0.3, 1)[0]),
            max_slice_contracts=c.max_slice_contracts,
            max_slippage_ticks=c.max_slippage_ticks,
            execution_horizon_s=c.execution_horizon_s,
        )
        out.append(CTATrendFollower(model, f"cta_{i}", params, closes))
    return out


def _dip_buyers(model: CascadeModel, rng: np.random.Generator) -> list[TraderAgent]:
    c = model.config.dip_buyers
    weights = np.exp(rng.normal(0.0, 1.0, size=c.n_agents))
    capital = c.capital_usd * weights / weights.sum()
    entries = rng.uniform(c.min_drawdown_pct, c.max_drawdown_pct, size=c.n_agents)
    aggressive = rng.random(c.n_agents) < c.aggressive_share
    return [
        DipBuyer(
            model,
            f"dip_buyer_{i}",
            DipBuyerParams(
                float(capital[i]),
                float(entries[i]),
                c.tranches,
                c.tranche_step_pct,
                bool(aggressive[i]),
                c.max_slippage_ticks,
            ),  # fmt: skip
        )
        for i in range(c.n_agents)
    ]
