"""The scenario schema: typed, validated, loaded from TOML (``experiments/scenarios/*.toml``).

Every section is a frozen, slotted dataclass; :func:`load_scenario` reads a shipped name or a path,
applies ``--set dotted.key=value`` overrides and validates, raising
:class:`~experiments.config_io.ConfigError` with the key, the bad value and what is allowed.
Units are in the field names: ``_points`` index points, ``_s`` seconds from the 09:30 ET open,
``_usd`` dollars, ``_qty``/``_contracts`` contracts, ``_pct`` percent, ``_ann`` annualized.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from experiments.config_io import ConfigError, apply_overrides, from_dict, to_toml
from market.exchange import MarketParams
from market.flow import FlowParams

SCENARIO_DIR = Path(__file__).parent / "scenarios"


def _f(default, doc: str, **rules):
    return field(default=default, metadata={"doc": doc, **rules})


@dataclass(frozen=True, slots=True)
class EventConfig:
    """A scheduled macro event: news changes beliefs (IV premia, sentiment), never a price."""

    name: str = _f("event", "label on plots")
    t_s: float = _f(0.0, "time, seconds from 09:30 ET (negative: pre-market)")
    resolves: tuple[str, ...] = _f((), "IV event premia removed at this time (the IV crush)")
    sentiment_shift: float = _f(0.0, "shift of noise-trader sentiment, P(buy) = (1+s)/2", ge=-2, le=2)
    value_shift_pct: float = _f(0.0, "shift of the value traders' belief (%)", ge=-50, le=50)


@dataclass(frozen=True, slots=True)
class EventPremiumConfig:
    """An event priced into implied vol until it resolves."""

    name: str = _f("event", "matches an event's ``resolves``")
    event_day: int = _f(0, "calendar day of the event (0 = the simulated day)", ge=0)
    t_s: float = _f(0.0, "time of the event, seconds from that day's open")
    move_std: float = _f(0.01, "std of the index's log move at the event (0.01 = 1%)", ge=0, le=0.5)


@dataclass(frozen=True, slots=True)
class PositionBlock:
    """Open interest in one option series, held by customers against the dealers."""

    strike_pct: float = _f(100.0, "strike in % of the prior close", gt=10, lt=300)
    expiry_day: int = _f(1, "expiry, calendar days after the simulated day (0 = 0DTE at 16:00)", ge=0)
    kind: Literal["put", "call"] = _f("put", "option type")
    customer_qty: int = _f(0, "SPX contracts customers hold (+ long: the dealers are short)")


@dataclass(frozen=True, slots=True)
class OptionsConfig:
    """The option market: implied-vol surface, event premia and positioning."""

    atm_vol_ann: float = _f(0.20, "ATM implied vol at the 30-day horizon", gt=0.01, lt=3)
    skew: float = _f(-0.5, "d(sigma)/d(ln K/F) at 30 days (puts richer when < 0)", ge=-5, le=5)
    curvature: float = _f(1.5, "smile curvature at 30 days", ge=-5, le=20)
    spot_vol_beta: float = _f(-1.0, "d(ATM vol)/d(ln F): -1 = +1 vol point per 1% fall", ge=-10, le=10)
    demand_impact_per_usd_vega: float = _f(4e-11, "IV rise per $ of net customer vega bought", ge=0)
    demand_half_life_s: float = _f(7200.0, "half-life of the customer-demand premium (s)", gt=0)
    rate_cc: float = _f(0.04, "continuously-compounded discount rate per year", ge=-0.1, le=0.5)
    dealer_inventory_vol_per_contract: float = _f(
        2e-7, "dealers' quote markup per SPX contract of net short inventory (vol, annualized)", ge=0
    )
    event_premia: tuple[EventPremiumConfig, ...] = _f((), "events priced into IV at the start")
    positions: tuple[PositionBlock, ...] = _f((), "open interest at the start")


@dataclass(frozen=True, slots=True)
class DealerConfig:
    """Option dealers that delta-hedge with futures."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    hedging: bool = _f(True, "False: dealers hold their options but never hedge")
    n_agents: int = _f(4, "dealers sharing the dealer book", ge=1, le=100)
    hedge_interval_s: float = _f(120.0, "mean time between re-hedges (each dealer, exponential)", gt=0)
    band_contracts: float = _f(50.0, "no trade while |target - position| is below this", ge=0)
    max_clip_contracts: int = _f(150, "largest single futures order", ge=1)
    hedge_fraction: float = _f(1.0, "fraction of the gap closed per re-hedge", gt=0, le=1)
    watch_move_pct: float = _f(0.25, "also re-hedge after a move of this size between wake-ups (%)", gt=0)
    max_slippage_ticks: int = _f(8, "a hedge order trades at most this many ticks through the touch", ge=0)
    max_participation: float = _f(
        0.25, "a hedge order is at most this fraction of the market volume since the last (inf: no cap)",
        gt=0,
    )


@dataclass(frozen=True, slots=True)
class HedgerConfig:
    """Customers who buy index puts as hedges (and may monetize them)."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(10, "put buyers", ge=1, le=1000)
    decision_interval_s: float = _f(600.0, "mean time between decisions (exponential)", gt=0)
    pre_event_qty: int = _f(0, "SPX puts bought per decision while an event is unresolved", ge=0)
    post_event_qty: int = _f(0, "SPX puts bought per decision after the events", ge=0)
    panic_drawdown_pct: float = _f(1.5, "buy more puts below this drawdown from the high (%)", gt=0)
    panic_drawdown_max_pct: float = _f(
        0.0, "if above panic_drawdown_pct, each hedger's panic threshold is drawn uniformly between the"
        " two (%): customers add puts one after another as the sell-off deepens", ge=0,
    )
    panic_qty: int = _f(0, "SPX puts bought per decision in a panic", ge=0)
    monetize_gain_pct: float = _f(200.0, "sell puts back once worth this % more than paid", gt=0)
    strike_pct: float = _f(95.0, "moneyness of new puts (% of spot)", gt=50, lt=120)
    expiry_day: int = _f(1, "expiry of new puts (days after the simulated day)", ge=0)


@dataclass(frozen=True, slots=True)
class CTAConfig:
    """Trend followers: moving-average signals on daily closes plus the live price, vol-targeted."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(8, "CTAs (heterogeneous lookbacks and speeds)", ge=1, le=1000)
    capital_usd: float = _f(2.0e10, "total risk capital of the CTAs ($)", ge=0)
    vol_target_ann: float = _f(0.10, "annualized vol target of each CTA's futures book", gt=0, le=2)
    lookbacks_days: tuple[int, ...] = _f((20, 50, 120), "moving-average lookbacks (days)")
    signal_width_vol: float = _f(0.5, "signal saturates this many daily vols from the MA", gt=0)
    rebalance_interval_s: float = _f(1800.0, "mean time between target updates (s)", gt=0)
    slice_interval_s: float = _f(60.0, "time between child orders while executing (s)", gt=0)
    max_slice_contracts: int = _f(200, "largest child order", ge=1)
    max_slippage_ticks: int = _f(8, "a child order trades at most this many ticks through the touch", ge=0)
    execution_horizon_s: float = _f(
        0.0, "0: work a gap in max-size slices; > 0: each slice is gap * slice_interval / horizon"
        " (at least 1 contract), so a new target is worked over about this many seconds", ge=0,
    )
    daily_closes: tuple[float, ...] = _f((), "daily-close history, oldest first (index points)")


@dataclass(frozen=True, slots=True)
class DipBuyerConfig:
    """Investors with a dollar budget who buy drawdowns."""

    enabled: bool = _f(True, "switch the class off for counterfactuals")
    n_agents: int = _f(20, "dip buyers", ge=1, le=10_000)
    capital_usd: float = _f(3.0e8, "total dip-buying capital ($)", ge=0)
    min_drawdown_pct: float = _f(0.8, "smallest entry drawdown from the day's high (%)", gt=0)
    max_drawdown_pct: float = _f(3.0, "largest entry drawdown from the day's high (%)", gt=0)
    tranches: int = _f(3, "budget split into this many buys", ge=1, le=100)
    tranche_step_pct: float = _f(0.5, "extra drawdown between tranches (%)", ge=0)
    aggressive_share: float = _f(0.5, "fraction of buyers who lift offers (the others rest bids)", ge=0, le=1)
    max_slippage_ticks: int = _f(8, "an aggressive buy trades at most this many ticks above the ask", ge=0)


@dataclass(frozen=True, slots=True)
class LevelsConfig:
    """Reference levels drawn on plots (index points)."""

    supports: tuple[float, ...] = _f((), "support levels commentators watched")


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """One trading day: the market, the background flow, the news and the agents."""

    name: str = _f("scenario", "short name")
    description: str = _f("", "one line for `cascade scenarios`")
    prev_close_points: float = _f(6642.16, "prior day's close (index points)", gt=0)
    sample_interval_s: float = _f(30.0, "time-series sampling interval (s)", gt=0, le=3600)
    market: MarketParams = _f(MarketParams(), "instrument and session")
    flow: FlowParams = _f(FlowParams(), "background market makers and noise traders")
    events: tuple[EventConfig, ...] = _f((), "scheduled news")
    options: OptionsConfig = _f(OptionsConfig(), "option market")
    dealers: DealerConfig = _f(DealerConfig(enabled=False), "option dealers")
    hedgers: HedgerConfig = _f(HedgerConfig(enabled=False), "put buyers")
    cta: CTAConfig = _f(CTAConfig(enabled=False), "trend followers")
    dip_buyers: DipBuyerConfig = _f(DipBuyerConfig(enabled=False), "dip buyers")
    levels: LevelsConfig = _f(LevelsConfig(), "plot levels")

    def validate(self) -> None:
        """Cross-field rules."""
        m = self.market
        if m.session_end_s <= m.session_start_s:
            raise ConfigError("market.session_end_s", f"must be > session_start_s ({m.session_start_s})",
                              value=m.session_end_s)  # fmt: skip
        if self.dip_buyers.max_drawdown_pct < self.dip_buyers.min_drawdown_pct:
            raise ConfigError("dip_buyers.max_drawdown_pct", "must be >= dip_buyers.min_drawdown_pct",
                              value=self.dip_buyers.max_drawdown_pct)  # fmt: skip
        if self.cta.enabled and len(self.cta.daily_closes) < max(self.cta.lookbacks_days, default=0):
            raise ConfigError(
                "cta.daily_closes",
                f"needs at least max(cta.lookbacks_days) = {max(self.cta.lookbacks_days)} closes, "
                f"got {len(self.cta.daily_closes)}",
            )
        premia = {p.name for p in self.options.event_premia}
        for i, ev in enumerate(self.events):
            for name in ev.resolves:
                if name not in premia:
                    raise ConfigError(f"events[{i}].resolves", f"unknown premium; known: {sorted(premia)}",
                                      value=name)  # fmt: skip


def scenario_path(name_or_path: str | Path) -> Path:
    """A shipped scenario's file (by name) or the given path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise ConfigError("scenario", "no such file", value=str(p))
        return p
    shipped = SCENARIO_DIR / f"{name_or_path}.toml"
    if not shipped.exists():
        raise ConfigError("scenario", f"unknown scenario; shipped: {', '.join(shipped_scenarios())}",
                          value=str(name_or_path))  # fmt: skip
    return shipped


def shipped_scenarios() -> list[str]:
    """Names of the scenarios in ``experiments/scenarios``."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> ScenarioConfig:
    """Read, override and validate a scenario."""
    path = scenario_path(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("scenario", f"{path}: invalid TOML: {exc}") from None
    from experiments.datafiles import resolve_data_files  # options.positions_file, cta.daily_closes_file

    data = resolve_data_files(apply_overrides(data, list(overrides)), path.resolve().parent)
    return from_dict(ScenarioConfig, data)


def scenario_toml(config: ScenarioConfig) -> str:
    """The resolved scenario as TOML (round-trips through :func:`load_scenario`)."""
    return to_toml(config)
