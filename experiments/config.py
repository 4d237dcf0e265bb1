"""The scenario schema: typed, validated, loaded from TOML (``experiments/scenarios/*.toml``).

Every section is a frozen, slotted dataclass; :func:`load_scenario` reads a shipped name or a path,
applies ``--set dotted.key=value`` overrides and validates, raising
:class:`~experiments.config_io.ConfigError` with the key, the bad value and what is allowed.
Units are in the field names: ``_points`` index points, ``_s`` seconds from the 09:30 ET open,
``_usd`` dollars, ``_qty``/``_contracts`` contracts, ``_pct`` percent, ``_ann`` annualized.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Literal

from agents.cta import CTAConfig
from agents.dealer import DealerConfig
from agents.dip_buyer import DipBuyerConfig
from agents.hedger import HedgerConfig
from agents.letf import LeveragedETFConfig
from agents.stop_seller import StopSellerConfig
from experiments.config_io import ConfigError, apply_overrides, from_dict, to_toml
from market.exchange import MarketParams, expected_events
from market.flow import FlowParams
from market.ivsurface import EventPremium, IVSurfaceParams
from market.options_desk import OpenInterest, OptionsDeskParams
from market.units import SESSION_SECONDS

# The agents' sections live with their agents (each agent module owns its config) and are re-exported
# here under their old names: ``from experiments.config import DealerConfig`` keeps working.

SCENARIO_DIR = Path(__file__).parent / "scenarios"
MAX_SCENARIO_BYTES = 1_000_000  #: largest scenario file read (bytes)


def _f(default, doc: str, **rules):
    return field(default=default, metadata={"doc": doc, **rules})


# ---- resource bounds --------------------------------------------------------------------------
# Bounds on the market and the background flow, whose parameter classes live in market/ (they take
# any positive value when built in code). A scenario must stay inside them, so that no accepted
# scenario can crash the compiled code or exhaust memory. Worst case they allow: a 16-hour session
# (00:00-16:00 ET, 57,600 s), a book band of at most 2 x 10^6 price levels (about 190 MB),
# MAX_SAMPLES samples (a row and 40 depth levels each, as Python objects until the end),
# MAX_SNAPSHOTS snapshots and
# MAX_FLOW_EVENTS expected background events (see ``_check_flow_budget``); the largest quote is
# 10^4 x 2^16 contracts, below the book's 2^31 - 1.
MIN_SESSION_START_S = -34_200.0  #: 00:00 ET
#: 16:00 ET, the close: the background flow's closing boost grows as exp((t - 16:00) / close_decay_s),
#: so a session past the close floods the book (e^16 times the rate at 24:00 with the defaults).
MAX_SESSION_END_S = SESSION_SECONDS
MAX_SESSION_S = MAX_SESSION_END_S - MIN_SESSION_START_S  #: longest session (s): 57,600
MIN_REF_TICKS, MAX_REF_TICKS = 100, 1_000_000  #: prior close / tick size (ticks)
MAX_SAMPLES = 10_000  #: samples of one session (16 h at 5.76 s; the shipped days: 780-960)
MAX_SNAPSHOTS = 250_000  #: background snapshots of one session (16 h at 0.23 s; 8 h at 0.116 s)
#: expected background events of one session (estimates: calm 2.1 M, nov20 3.4 M); the old estimate
#: times exp(activity_vol^2 / 2) at 5e6 measured 770-879 MB peak RSS at the limits
MAX_FLOW_EVENTS = 4.5e6
_MARKET_FLOW_BOUNDS: dict[str, tuple[float, float]] = {
    "market.tick_size_points": (1e-4, 1e4),
    "market.point_value_usd": (1e-4, 1e6),
    "market.session_start_s": (MIN_SESSION_START_S, MAX_SESSION_END_S),
    "market.session_end_s": (MIN_SESSION_START_S, MAX_SESSION_END_S),
    "flow.mm_requote_rate_per_s": (0.0, 100.0),
    "flow.mm_level_step_ticks": (1, 1000),
    "flow.mm_size_qty": (0.0, 10_000.0),
    "flow.mm_size_decay": (0.0, 2.0),
    "flow.mm_half_spread_ticks": (0.5, 1000.0),
    "flow.mm_skew_ticks_per_qty": (0.0, 100.0),
    "flow.mm_max_inventory_qty": (0.0, 1e9),
    "flow.mm_soft_inventory_qty": (0.0, 1e9),
    "flow.mm_calm_vol_ann": (0.0, 10.0),
    "flow.mm_withdraw_vol": (0.0, 1e6),
    "flow.mm_withdraw_imbalance": (0.0, 1e6),
    "flow.mm_widen_ticks": (0.0, 1000.0),
    "flow.mm_max_half_spread_ticks": (0.5, 1000.0),
    "flow.mm_min_size_qty": (0.0, 10_000.0),
    "flow.mm_refill_latency_s": (0.001, 60.0),
    "flow.vol_halflife_s": (0.01, 1e6),
    "flow.imbalance_halflife_s": (0.01, 1e6),
    "flow.noise_limit_rate_per_s": (0.0, 1000.0),
    "flow.noise_market_rate_per_s": (0.0, 1000.0),
    "flow.noise_cancel_hazard_per_s": (0.0, 100.0),
    "flow.noise_market_min_qty": (0.0, 10_000.0),
    "flow.noise_market_alpha": (1.0, 100.0),
    "flow.noise_market_max_qty": (0.0, 10_000.0),
    "flow.noise_market_protection_ticks": (0.0, 100_000.0),
    "flow.open_boost": (0.0, 20.0),
    "flow.open_decay_s": (1.0, 1e6),
    "flow.close_boost": (0.0, 20.0),
    "flow.close_decay_s": (1.0, 1e6),
    "flow.preopen_activity": (0.0, 20.0),
    "flow.activity_vol": (0.0, 1.5),
    "flow.activity_halflife_s": (1.0, 1e6),
    "flow.activity_min_halflife_s": (1.0, 1e6),
    "flow.value_capacity_qty": (0.0, 1e9),
    "flow.value_gain": (0.0, 1e4),
    "flow.value_halflife_s": (1.0, 1e8),
    "flow.value_rate_gain": (0.0, 10.0),
    "flow.sentiment_halflife_s": (1.0, 1e8),
    "flow.snapshot_interval_s": (0.1, 3600.0),
    "flow.depth_window_ticks": (1, 1000),
}
#: Longest arrays of a scenario (a hostile file cannot ask for millions of agents' worth of setup).
_MAX_ITEMS = {
    "events": 1000,
    "options.event_premia": 1000,
    "options.positions": 10_000,
    "cta.lookbacks_days": 20,
    "cta.daily_closes": 10_000,
    "levels.supports": 1000,
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


def _get(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _check_numbers(obj: object, path: str = "") -> None:
    """Every float of the tree finite (``inf`` only where a field says ``allow_inf``), every int exact."""
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        items = list(enumerate(value)) if isinstance(value, tuple) else [(None, value)]
        for i, item in items:
            k = key if i is None else f"{key}[{i}]"
            if is_dataclass(item):
                _check_numbers(item, k)
            elif isinstance(item, float) and not math.isfinite(item):
                if math.isnan(item) or not f.metadata.get("allow_inf", False):
                    allowed = "a number or inf" if f.metadata.get("allow_inf", False) else "a finite number"
                    raise ConfigError(k, f"must be {allowed}", value=item)
            elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**53:
                raise ConfigError(k, "must be an integer of magnitude <= 2^53", value=item)


@dataclass(frozen=True, slots=True)
class EventConfig:
    """A scheduled macro event: news changes beliefs (IV premia, sentiment), never a price."""

    name: str = _f("event", "label on plots")
    t_s: float = _f(0.0, "time, seconds from 09:30 ET (negative: pre-market)", ge=-86_400, le=86_400)
    resolves: tuple[str, ...] = _f((), "IV event premia removed at this time (the IV crush)")
    sentiment_shift: float = _f(0.0, "shift of noise-trader sentiment, P(buy) = (1+s)/2", ge=-2, le=2)
    value_shift_pct: float = _f(0.0, "shift of the value traders' belief (%)", ge=-50, le=50)
    activity_boost: float = _f(
        0.0, "burst of background trading after the news, x the usual activity (1: twice as busy),"
        " fading with flow.news_activity_halflife_s", ge=0, le=50,
    )


@dataclass(frozen=True, slots=True)
class EventPremiumConfig:
    """An event priced into implied vol until it resolves."""

    name: str = _f("event", "matches an event's ``resolves``")
    event_day: int = _f(0, "calendar day of the event (0 = the simulated day)", ge=0, le=3650)
    t_s: float = _f(0.0, "time of the event, seconds from that day's open", ge=-86_400, le=86_400)
    move_std: float = _f(0.01, "std of the index's log move at the event (0.01 = 1%)", ge=0, le=0.5)


@dataclass(frozen=True, slots=True)
class PositionBlock:
    """Open interest in one option series, held by customers against the dealers."""

    strike_pct: float = _f(100.0, "strike in % of the prior close", gt=10, lt=300)
    expiry_day: int = _f(1, "expiry, calendar days after the simulated day (0 = 0DTE at 16:00)", ge=0,
                         le=3650)  # fmt: skip
    kind: Literal["put", "call"] = _f("put", "option type")
    customer_qty: int = _f(0, "SPX contracts customers hold (+ long: the dealers are short)",
                           ge=-10_000_000, le=10_000_000)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OptionsConfig:
    """The option market: implied-vol surface, event premia and positioning."""

    atm_vol_ann: float = _f(0.20, "ATM implied vol at the 30-day horizon", gt=0.01, lt=3)
    skew: float = _f(-0.5, "d(sigma)/d(ln K/F) at 30 days (puts richer when < 0)", ge=-5, le=5)
    curvature: float = _f(1.5, "smile curvature at 30 days", ge=-5, le=20)
    spot_vol_beta: float = _f(-1.0, "d(ATM vol)/d(ln F): -1 = +1 vol point per 1% fall", ge=-10, le=10)
    spot_vol_term_scaled: bool = _f(
        False, "short expiries' ATM vol moves with spot as much more as their skew is steeper"
    )
    demand_impact_per_usd_vega: float = _f(4e-11, "IV rise per $ of net customer vega bought", ge=0, le=1e-3)
    demand_half_life_s: float = _f(7200.0, "half-life of the customer-demand premium (s)", ge=1, le=1e7)
    rate_cc: float = _f(0.04, "continuously-compounded discount rate per year", ge=-0.1, le=0.5)
    dealer_inventory_vol_per_contract: float = _f(
        2e-7, "dealers' quote markup per SPX contract of net short inventory (vol, annualized)", ge=0, le=1
    )
    event_premia: tuple[EventPremiumConfig, ...] = _f((), "events priced into IV at the start")
    positions: tuple[PositionBlock, ...] = _f((), "open interest at the start")

    def desk_params(self) -> OptionsDeskParams:
        """The market-level parameters of :meth:`market.options_desk.OptionsDesk.from_params`."""
        surface = IVSurfaceParams(
            atm_vol_ann=self.atm_vol_ann,
            skew=self.skew,
            curvature=self.curvature,
            spot_vol_beta=self.spot_vol_beta,
            spot_vol_term_scaled=self.spot_vol_term_scaled,
            demand_impact_per_usd_vega=self.demand_impact_per_usd_vega,
            demand_half_life_s=self.demand_half_life_s,
        )
        return OptionsDeskParams(
            surface=surface,
            rate_cc=self.rate_cc,
            inventory_vol_per_contract=self.dealer_inventory_vol_per_contract,
            event_premia=tuple(
                EventPremium(p.name, p.event_day, p.t_s, p.move_std) for p in self.event_premia
            ),
            positions=tuple(
                OpenInterest(b.strike_pct, b.expiry_day, b.kind == "call", b.customer_qty)
                for b in self.positions
            ),
        )


@dataclass(frozen=True, slots=True)
class LevelsConfig:
    """Reference levels drawn on plots (index points); ``dip_buyers.support_share`` bids at the supports."""

    supports: tuple[float, ...] = _f((), "support levels commentators watched", gt=0, le=1e7)


@dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """One trading day: the market, the background flow, the news and the agents."""

    name: str = _f("scenario", "short name")
    description: str = _f("", "one line for `cascade scenarios`")
    prev_close_points: float = _f(6642.16, "prior day's close (index points)", gt=0, le=1e7)
    sample_interval_s: float = _f(30.0, "time-series sampling interval (s)", ge=1, le=3600)
    market: MarketParams = _f(MarketParams(), "instrument and session")
    flow: FlowParams = _f(FlowParams(), "background market makers and noise traders")
    events: tuple[EventConfig, ...] = _f((), "scheduled news")
    options: OptionsConfig = _f(OptionsConfig(), "option market")
    dealers: DealerConfig = _f(DealerConfig(enabled=False), "option dealers")
    hedgers: HedgerConfig = _f(HedgerConfig(enabled=False), "put buyers")
    cta: CTAConfig = _f(CTAConfig(enabled=False), "trend followers")
    dip_buyers: DipBuyerConfig = _f(DipBuyerConfig(enabled=False), "dip buyers")
    stop_sellers: StopSellerConfig = _f(StopSellerConfig(enabled=False), "stop-loss sellers")
    letf: LeveragedETFConfig = _f(LeveragedETFConfig(enabled=False), "leveraged-ETF rebalancers")
    levels: LevelsConfig = _f(LevelsConfig(), "plot levels")

    def validate(self) -> None:
        """Cross-field rules, finite numbers and the resource bounds (see ``_MARKET_FLOW_BOUNDS``)."""
        if not _NAME.fullmatch(self.name):
            raise ConfigError("name", "must be 1-64 letters, digits or _.+- (a letter or digit first)",
                              value=self.name)  # fmt: skip
        _check_numbers(self)
        for key, (lo, hi) in _MARKET_FLOW_BOUNDS.items():
            value = _get(self, key)
            if not lo <= value <= hi:
                raise ConfigError(key, f"must be >= {lo:g} and <= {hi:g}", value=value)
        for key, most in _MAX_ITEMS.items():
            if len(_get(self, key)) > most:  # type: ignore[arg-type]
                raise ConfigError(key, f"at most {most} items, got {len(_get(self, key))}")  # type: ignore[arg-type]
        m = self.market
        if m.session_end_s <= m.session_start_s:
            raise ConfigError("market.session_end_s", f"must be > session_start_s ({m.session_start_s})",
                              value=m.session_end_s)  # fmt: skip
        if m.session_end_s - m.session_start_s > MAX_SESSION_S:
            raise ConfigError("market.session_end_s", f"session longer than {MAX_SESSION_S:g} s "
                              f"(starts at {m.session_start_s:g})", value=m.session_end_s)  # fmt: skip
        length = m.session_end_s - m.session_start_s
        if length / self.sample_interval_s > MAX_SAMPLES:
            raise ConfigError("sample_interval_s", f"{length / self.sample_interval_s:,.0f} samples in the "
                              f"{length:g} s session; at most {MAX_SAMPLES:,} (each keeps a row and 40 depth "
                              "levels in memory)", value=self.sample_interval_s)  # fmt: skip
        if length / self.flow.snapshot_interval_s > MAX_SNAPSHOTS:
            raise ConfigError("flow.snapshot_interval_s", f"{length / self.flow.snapshot_interval_s:,.0f} "
                              f"snapshots in the session; at most {MAX_SNAPSHOTS:,}",
                              value=self.flow.snapshot_interval_s)  # fmt: skip
        ref_ticks = self.prev_close_points / m.tick_size_points
        if not MIN_REF_TICKS <= ref_ticks <= MAX_REF_TICKS:
            raise ConfigError("market.tick_size_points", f"prev_close_points / tick_size_points must be "
                              f"between {MIN_REF_TICKS} and {MAX_REF_TICKS:,} ticks, got {ref_ticks:.4g}",
                              value=m.tick_size_points)  # fmt: skip
        self._check_flow_budget()
        if self.stop_sellers.max_stop_pct < self.stop_sellers.min_stop_pct:
            raise ConfigError("stop_sellers.max_stop_pct", "must be >= stop_sellers.min_stop_pct",
                              value=self.stop_sellers.max_stop_pct)  # fmt: skip
        if self.dip_buyers.max_drawdown_pct < self.dip_buyers.min_drawdown_pct:
            raise ConfigError("dip_buyers.max_drawdown_pct", "must be >= dip_buyers.min_drawdown_pct",
                              value=self.dip_buyers.max_drawdown_pct)  # fmt: skip
        d = self.dip_buyers
        if d.prior_close_share + d.support_share > 1:
            raise ConfigError("dip_buyers.support_share", "prior_close_share + support_share must be <= 1 "
                              f"(prior_close_share is {d.prior_close_share:g})",
                              value=d.support_share)  # fmt: skip
        if d.support_share > 0 and not self.levels.supports:
            raise ConfigError("dip_buyers.support_share", "needs support levels: set [levels] supports",
                              value=d.support_share)  # fmt: skip
        ss = self.stop_sellers
        if ss.support_share > 0 and not any(x < self.prev_close_points for x in self.levels.supports):
            raise ConfigError("stop_sellers.support_share", "needs a support below prev_close_points: set "
                              "[levels] supports", value=ss.support_share)  # fmt: skip
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


    def _check_flow_budget(self) -> None:
        """Expected background events of the session at most ``MAX_FLOW_EVENTS``.

        The estimate is :func:`market.exchange.expected_events` (rates at activity 1, times the peak
        intraday activity, times the session length), the figure the exchange sizes its trade tape by.
        """
        events = expected_events(self.flow, self.market)
        if events > MAX_FLOW_EVENTS:
            raise ConfigError("flow", f"about {events:.3g} background events expected in the session "
                              f"(rates x activity x length); at most {MAX_FLOW_EVENTS:.3g} allowed: "
                              "lower the rates or shorten the session")  # fmt: skip


def scenario_path(name_or_path: str | Path) -> Path:
    """A shipped scenario's file (by name) or the given path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise ConfigError("scenario", "no such file", value=str(p))
        if not p.is_file():
            raise ConfigError("scenario", "not a file (a shipped name or a .toml file)", value=str(p))
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
    from experiments.datafiles import resolve_data_files  # options.positions_file, cta.daily_closes_file

    data = scenario_data(name_or_path, overrides)
    return from_dict(ScenarioConfig, resolve_data_files(data, scenario_path(name_or_path).resolve().parent))


def scenario_data(name_or_path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> dict:
    """The scenario's TOML table with the ``--set`` overrides applied, not yet validated.

    Its data files are not read yet, so pre-load keys such as ``options.positions_scale`` are still
    there (:func:`load_scenario` resolves and validates it).
    """
    path = scenario_path(name_or_path)
    try:
        if path.stat().st_size > MAX_SCENARIO_BYTES:
            raise ConfigError("scenario", f"file larger than {MAX_SCENARIO_BYTES:,} bytes", value=str(path))
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("scenario", "not a text file (UTF-8 TOML expected)", value=str(path)) from None
    except OSError as exc:
        raise ConfigError("scenario", f"cannot read: {exc.strerror or exc}", value=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("scenario", f"{path}: invalid TOML: {exc}") from None
    if "name" not in data:
        what = "empty file" if not data else "no top-level `name`"
        raise ConfigError("name", f"missing in {path} ({what}): a scenario needs name = \"...\"")
    return apply_overrides(data, list(overrides))


def scenario_toml(config: ScenarioConfig) -> str:
    """The resolved scenario as TOML (round-trips through :func:`load_scenario`)."""
    return to_toml(config)
