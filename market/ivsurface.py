"""Implied-volatility surface for S&P 500 index options, as mutable state that agents read and move.

Shape (all vols annualised, ``m = ln(K / F)`` the log-moneyness, ``tau`` years ACT/365)::

    level(tau)   = atm + term_slope * (sqrt(tau) - sqrt(tau_ref)) + demand_premium
    m_eff        = m * (tau_ref / max(tau, skew_tau_min)) ** skew_tau_power
    base(K, tau) = clip(level(tau) + skew * m_eff + curvature * m_eff**2, floor, cap)
    sigma(K, tau)= sqrt(base**2 + sum(move_e**2 for unresolved events e before expiry) / tau)

``skew < 0`` makes OTM puts richer than OTM calls; the ``m_eff`` scaling steepens the smile at
short maturities (ATM skew decays like ``tau ** -power``). Scheduled events (payrolls, an earnings
release) add their expected squared log move ``move_std**2`` to the total implied variance of every
expiry after the event, so short expiries carry a large premium; :meth:`IVSurface.resolve_event`
removes it (the IV crush).

Dynamics, advanced by :meth:`IVSurface.update` over ``dt_seconds`` of simulation time:

* spot-vol beta: ``atm += spot_vol_beta * spot_log_return`` (IV rises when the index falls); with
  ``spot_vol_term_scaled`` the short expiries' ATM vol moves ``(tau_ref / tau) ** skew_tau_power``
  times as much (the same scaling as the skew: short-dated vol indices react more than the 30-day
  one), so a short-dated put's IV at a fixed strike rises as the index falls onto it instead of
  sliding down the steep short-dated smile;
* pull of ``atm`` toward ``realized_vol_ann + vol_risk_premium`` with a half-life;
* customer demand: net customer vega bought raises the premium dealers quote, which decays with
  its own half-life.

The smile evaluated at a new ``F`` with the state unchanged is "sticky moneyness"; holding each
strike's IV is "sticky strike" (see ``market.exposures``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from market.black76 import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.units import SESSION_SECONDS

_LN2 = math.log(2.0)
_NO_EVENTS = np.empty(0)  # writable (nothing to write): the kernels keep one array type


@dataclass(frozen=True, slots=True)
class IVSurfaceParams:
    """Coefficients of the IV surface (S&P 500 defaults, all vols annualised fractions).

    Attributes:
        atm_vol_ann: initial ATM implied vol at ``tau_ref_yrs`` (0.20 ~ VIX 20; the 2025-11-19
            VIX close was 23.66).
        tau_ref_yrs: maturity at which ``atm``, ``skew`` and ``curvature`` are quoted (30/365,
            the VIX horizon).
        skew: d(sigma)/d(ln K/F) at ``tau_ref`` (-0.5). With ``curvature`` it puts a 1-month 90%
            strike about 7 vol points over ATM and a 110% strike about 3.5 under it, the usual
            shape of the SPX smile in 2023-2025 (order of magnitude; calibrate per scenario).
        curvature: d2(sigma)/d(ln K/F)^2 / 2 at ``tau_ref`` (1.5): the call wing flattens.
        skew_tau_power: ATM skew scales like ``(tau_ref/tau) ** power`` (0.4; the SPX ATM skew
            term structure decays roughly like ``tau ** -0.4``, Gatheral, Jaisson & Rosenbaum,
            "Volatility is rough", 2018; Bergomi, *Stochastic Volatility Modeling*, 2016).
        skew_tau_min_yrs: maturity below which the skew scaling stops growing (1/365): keeps
            0DTE smiles finite (at most ``30 ** 0.4 = 3.9`` times the 1-month slope).
        term_slope_per_sqrt_yr: ATM term structure, vol per sqrt-year (0.05): 1-month 20% means
            1-year about 23.6%, the usual SPX contango in calm markets; set < 0 for inversion.
        sigma_floor_ann: floor of the smile before event variance (0.05).
        sigma_cap_ann: cap of the smile before event variance (5.0): numerical safety only.
        spot_vol_beta: d(atm) / d(ln F) (-1.0): ATM IV rises 1 vol point per 1% fall. Daily VIX
            changes regressed on S&P 500 returns give about -0.8 to -1.2 points per +1% at VIX
            15-25. Symmetric on purpose: an asymmetric beta applied to high-frequency returns
            would drift with their total variation.
        vol_risk_premium_ann: implied minus realized vol that the mean reversion aims at (0.03;
            SPX 1-month implied exceeds subsequent realized by about 3-4 vol points on average:
            Carr & Wu, RFS 2009; Bollerslev, Tauchen & Zhou, RFS 2009).
        rv_half_life_s: half-life, in simulation seconds, of the pull of ``atm`` toward
            ``realized + premium`` (117000 s = 5 trading sessions of 23400 s: VIX shocks decay
            over a couple of weeks; intraday the pull is weak next to the spot-vol beta).
        demand_impact_per_usd_vega: rise of the quoted vol per $ of net vega bought by
            customers, vega in $ per vol point (4e-11: $250M of net vega per vol point bought
            marks IV up 1 point; an order-of-magnitude judgement in the spirit of Garleanu,
            Pedersen & Poteshman, "Demand-based option pricing", RFS 2009; calibrate per
            scenario).
        spot_vol_term_scaled: short expiries' ATM vol moves with spot ``(tau_ref/tau) **
            skew_tau_power`` times as much as the 30-day one (False: the same for every expiry).
        demand_half_life_s: half-life of that demand premium in simulation seconds (7200 s:
            dealers recycle inventory within hours).
    """

    atm_vol_ann: float = 0.20
    tau_ref_yrs: float = 30.0 / 365.0
    skew: float = -0.5
    curvature: float = 1.5
    skew_tau_power: float = 0.4
    skew_tau_min_yrs: float = 1.0 / 365.0
    term_slope_per_sqrt_yr: float = 0.05
    sigma_floor_ann: float = 0.05
    sigma_cap_ann: float = 5.0
    spot_vol_beta: float = -1.0
    vol_risk_premium_ann: float = 0.03
    rv_half_life_s: float = 5 * SESSION_SECONDS
    demand_impact_per_usd_vega: float = 4e-11
    demand_half_life_s: float = 7200.0
    spot_vol_term_scaled: bool = False

    def __post_init__(self) -> None:
        """Validate: raise ``ValueError`` naming the field, the value and what is allowed."""
        positive = ("tau_ref_yrs", "skew_tau_min_yrs", "sigma_cap_ann", "rv_half_life_s",
                    "demand_half_life_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"IVSurfaceParams.{name}={value!r}: must be finite and > 0")
        for name in ("skew", "curvature", "skew_tau_power", "term_slope_per_sqrt_yr",
                     "spot_vol_beta", "vol_risk_premium_ann", "demand_impact_per_usd_vega"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"IVSurfaceParams.{name}={value!r}: must be finite")
        if not (0.0 <= self.sigma_floor_ann < self.sigma_cap_ann):
            raise ValueError(
                f"IVSurfaceParams.sigma_floor_ann={self.sigma_floor_ann!r}: must be >= 0 and "
                f"below sigma_cap_ann={self.sigma_cap_ann!r}"
            )
        if not (self.sigma_floor_ann <= self.atm_vol_ann <= self.sigma_cap_ann):
            raise ValueError(
                f"IVSurfaceParams.atm_vol_ann={self.atm_vol_ann!r}: must lie in "
                f"[sigma_floor_ann, sigma_cap_ann] = [{self.sigma_floor_ann}, {self.sigma_cap_ann}]"
            )
        if self.skew_tau_power < 0.0:
            raise ValueError(
                f"IVSurfaceParams.skew_tau_power={self.skew_tau_power!r}: must be >= 0"
            )


@dataclass(frozen=True, slots=True)
class EventPremium:
    """A scheduled event whose uncertainty is priced into every expiry after it.

    Attributes:
        name: unique label, e.g. ``"payrolls"`` or ``"earnings"``.
        event_day: calendar day offset of the event (0 = the simulated day), as for expiries.
        event_t_seconds: time of the event in seconds from that day's 09:30 ET open (negative
            before the open: 08:30 ET payrolls is -3600; 16:20 ET earnings is 24600).
        move_std: standard deviation of the index's log move at the event (0.01 = 1%); it adds
            ``move_std**2`` of total implied variance to each expiry after the event (at 20% vol
            a 1% move adds about 0.3 vol point to a 1-month expiry and 8 to a 1-day one).
    """

    name: str
    event_day: int
    event_t_seconds: float
    move_std: float

    def __post_init__(self) -> None:
        """Validate: a non-empty name and a finite, non-negative ``move_std``."""
        if not self.name:
            raise ValueError("EventPremium.name must be a non-empty string")
        if not (math.isfinite(self.move_std) and self.move_std >= 0.0):
            raise ValueError(f"EventPremium.move_std={self.move_std!r}: must be finite and >= 0")
        if not math.isfinite(self.event_t_seconds):
            raise ValueError(f"EventPremium.event_t_seconds={self.event_t_seconds!r}: not finite")

    @property
    def abs_seconds(self) -> float:
        """Event time in calendar seconds from the simulated day's open."""
        return self.event_day * SECONDS_PER_DAY + self.event_t_seconds


# ---- compiled smile (shared with the GEX kernel in market.gex) -------------------------------


@njit(cache=True)
def smile_total_vol(log_moneyness, tau_yrs, level, mscale, event_var, skew, curvature, floor, cap):
    """Total volatility ``sigma * sqrt(tau)`` of the surface at one strike (see module docstring).

    Args:
        log_moneyness: ``ln(K / F)``.
        tau_yrs: years to expiry (> 0).
        level: ``level(tau)``: ATM vol incl. term structure and demand premium.
        mscale: skew time scaling ``(tau_ref / max(tau, tau_min)) ** power``.
        event_var: sum of unresolved event variances ``move_std**2`` before this expiry.
        skew: smile slope at ``tau_ref``.
        curvature: smile curvature at ``tau_ref``.
        floor: floor of the base smile (annualised).
        cap: cap of the base smile (annualised).

    Returns:
        ``sqrt(base**2 * tau + event_var)``.
    """
    me = log_moneyness * mscale
    base = level + skew * me + curvature * me * me
    if base < floor:
        base = floor
    elif base > cap:
        base = cap
    return math.sqrt(base * base * tau_yrs + event_var)


@njit(cache=True)
def _sigma_fill(strike, tau_yrs, log_F, level, mscale, event_var, skew, curvature, floor, cap,
                out):
    for i in range(strike.shape[0]):
        tau = tau_yrs[i]
        if tau <= 0.0:
            out[i] = level[i] if level[i] > floor else floor
            continue
        v = smile_total_vol(math.log(strike[i]) - log_F, tau, level[i], mscale[i], event_var[i],
                            skew, curvature, floor, cap)
        out[i] = v / math.sqrt(tau)


@njit(cache=True)
def _sigma_direct(strike, tau_yrs, log_F, mscale, base_level, slope, sqrt_tau_ref, spot_shift, term_scaled,
                  ev_tau, ev_var, skew, curvature, floor, cap, out):
    """:meth:`IVSurface.terms` (but ``mscale``) and :func:`_sigma_fill` in one pass, the same arithmetic."""
    for i in range(strike.shape[0]):
        tau = tau_yrs[i]
        level = base_level + slope * (math.sqrt(tau if tau > 0.0 else 0.0) - sqrt_tau_ref)
        if term_scaled:
            level = level + (mscale[i] - 1.0) * spot_shift
        if tau <= 0.0:
            out[i] = level if level > floor else floor
            continue
        ev = 0.0
        for e in range(ev_tau.shape[0]):
            ev += ev_var[e] if tau > ev_tau[e] else 0.0
        v = smile_total_vol(math.log(strike[i]) - log_F, tau, level, mscale[i], ev, skew, curvature, floor,
                            cap)  # fmt: skip
        out[i] = v / math.sqrt(tau)


def skew_time_scale(p: IVSurfaceParams, tau_yrs: np.ndarray) -> np.ndarray:
    """The smile's time scaling ``(tau_ref / max(tau, tau_min)) ** power`` (dimensionless).

    In numpy on purpose: its ``**`` is not the C library's ``pow`` bit for bit, and the compiled
    exposure pass must get the same bits as :meth:`IVSurface.terms`.
    """
    return (p.tau_ref_yrs / np.maximum(tau_yrs, p.skew_tau_min_yrs)) ** p.skew_tau_power


@dataclass(frozen=True, slots=True)
class SurfaceTerms:
    """Per-expiry terms of the smile for an array of maturities (inputs of the compiled smile).

    Attributes:
        level: ATM vol with term structure and demand premium, per maturity.
        mscale: skew time scaling, per maturity.
        event_var: total event variance before each expiry (``sum move_std**2``), per maturity.
    """

    level: np.ndarray
    mscale: np.ndarray
    event_var: np.ndarray


@dataclass
class IVSurface:
    """The implied-vol surface's mutable state: ATM level, demand premium, events and clock.

    Attributes:
        params: the frozen coefficients.
        atm_vol_ann: current ATM vol at ``params.tau_ref_yrs`` (before the demand premium).
        demand_premium_ann: current customer-demand premium, added to every vol.
        t_seconds: the surface's clock, seconds from the simulated day's open.
        spot_shift_ann: the spot-vol moves so far (sum of ``spot_vol_beta * return``); with
            ``params.spot_vol_term_scaled`` short expiries add ``(mscale - 1)`` times it.
    """

    params: IVSurfaceParams = field(default_factory=IVSurfaceParams)
    atm_vol_ann: float = math.nan
    demand_premium_ann: float = 0.0
    t_seconds: float = 0.0
    spot_shift_ann: float = 0.0
    _events: dict[str, EventPremium] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        """Start ``atm_vol_ann`` at ``params.atm_vol_ann`` unless given."""
        if math.isnan(self.atm_vol_ann):
            self.atm_vol_ann = self.params.atm_vol_ann

    # ---- events ---------------------------------------------------------------------------

    def add_event(self, name: str, event_day: int, event_t_seconds: float, move_std: float) -> None:
        """Price a scheduled event into every expiry after it (see :class:`EventPremium`).

        Raises:
            ValueError: an event with this name is already priced, or invalid values.
        """
        if name in self._events:
            raise ValueError(f"event {name!r} is already priced; resolve it first")
        self._events[name] = EventPremium(name, int(event_day), float(event_t_seconds),
                                          float(move_std))

    def resolve_event(self, name: str) -> EventPremium:
        """Remove an event's premium (the IV crush once the uncertainty is resolved).

        Returns:
            The removed :class:`EventPremium`.

        Raises:
            KeyError: no unresolved event has this name (the message lists the known ones).
        """
        try:
            return self._events.pop(name)
        except KeyError:
            raise KeyError(
                f"no unresolved event {name!r}; unresolved: {sorted(self._events)}"
            ) from None

    @property
    def events(self) -> tuple[EventPremium, ...]:
        """The unresolved events, in the order they were added."""
        return tuple(self._events.values())

    # ---- dynamics -------------------------------------------------------------------------

    def update(
        self,
        dt_seconds: float,
        spot_return: float,
        realized_vol_ann: float | None = None,
        net_customer_demand_vega: float = 0.0,
    ) -> None:
        """Advance the state by ``dt_seconds`` of simulation time.

        Args:
            dt_seconds: elapsed simulation seconds (>= 0); advances :attr:`t_seconds`.
            spot_return: log return of the forward ``ln(F_new / F_old)`` over the interval.
            realized_vol_ann: recent realized vol (annualised) that ``atm`` is pulled toward
                (plus the vol risk premium); ``None`` or nan skips the pull.
            net_customer_demand_vega: vega customers bought net over the interval, $ per vol
                point (> 0 buying raises the quoted IV, < 0 selling lowers it).
        """
        if not dt_seconds >= 0.0:
            raise ValueError(f"update: dt_seconds={dt_seconds!r} must be >= 0")
        p = self.params
        atm = self.atm_vol_ann + p.spot_vol_beta * spot_return
        if p.spot_vol_term_scaled:
            self.spot_shift_ann += p.spot_vol_beta * spot_return
        if realized_vol_ann is not None and math.isfinite(realized_vol_ann):
            pull = 1.0 - math.exp(-_LN2 * dt_seconds / p.rv_half_life_s)
            atm += pull * (realized_vol_ann + p.vol_risk_premium_ann - atm)
        self.atm_vol_ann = min(max(atm, p.sigma_floor_ann), p.sigma_cap_ann)
        decay = math.exp(-_LN2 * dt_seconds / p.demand_half_life_s)
        self.demand_premium_ann = (self.demand_premium_ann * decay
                                   + p.demand_impact_per_usd_vega * net_customer_demand_vega)
        self.t_seconds += dt_seconds

    # ---- evaluation -----------------------------------------------------------------------

    def terms(self, tau_yrs: np.ndarray, t_seconds: float | None = None) -> SurfaceTerms:
        """Per-maturity smile terms (for :func:`smile_total_vol` and the GEX kernel).

        Args:
            tau_yrs: years to expiry, shape ``(n,)``.
            t_seconds: clock at which ``tau_yrs`` is measured (default: the surface's clock);
                decides which events fall before each expiry.

        Returns:
            :class:`SurfaceTerms` of arrays of shape ``(n,)``.
        """
        p = self.params
        tau = np.ascontiguousarray(tau_yrs, dtype=np.float64)
        now = self.t_seconds if t_seconds is None else t_seconds
        level = (self.atm_vol_ann + self.demand_premium_ann
                 + p.term_slope_per_sqrt_yr * (np.sqrt(np.maximum(tau, 0.0))
                                               - math.sqrt(p.tau_ref_yrs)))
        mscale = skew_time_scale(p, tau)
        if p.spot_vol_term_scaled:  # short expiries' ATM vol moves mscale x the 30-day one with spot
            level = level + (mscale - 1.0) * self.spot_shift_ann
        event_var = np.zeros_like(tau)
        ev_tau, ev_var = self.event_terms(now)
        for tau_event, var in zip(ev_tau.tolist(), ev_var.tolist(), strict=True):
            event_var += np.where(tau > tau_event, var, 0.0)
        return SurfaceTerms(level, mscale, event_var)

    def event_terms(self, t_seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The unresolved events as arrays: ``(tau_event_yrs, move_std**2)``, in the order added.

        An expiry with ``tau > tau_event`` (years, measured at ``t_seconds``, default the surface's
        clock) carries that event's variance (see :meth:`terms`).
        """
        if not self._events:  # after the events resolved (most of a day): no per-call arrays
            return _NO_EVENTS, _NO_EVENTS
        now = self.t_seconds if t_seconds is None else t_seconds
        evs = self._events.values()
        return (np.array([(ev.abs_seconds - now) / SECONDS_PER_YEAR for ev in evs], dtype=np.float64),
                np.array([ev.move_std * ev.move_std for ev in evs], dtype=np.float64))

    def sigma(
        self,
        strike: np.ndarray | float,
        tau_yrs: np.ndarray | float,
        F: float,
        t_seconds: float | None = None,
    ) -> np.ndarray:
        """Implied vols (annualised) at strikes and maturities for forward ``F``.

        Args:
            strike: strikes (index points); broadcast against ``tau_yrs``.
            tau_yrs: years to expiry (ACT/365); for ``tau <= 0`` the ATM level (floored) is
                returned (such options are expired and their greeks are 0 anyway).
            F: forward/futures price around which the smile is centred (index points).
            t_seconds: clock at which ``tau_yrs`` is measured (default: the surface's clock).

        Returns:
            Array of the broadcast shape.
        """
        k = np.asarray(strike, dtype=np.float64)
        tau = np.asarray(tau_yrs, dtype=np.float64)
        if k.shape != tau.shape:  # broadcast only when needed: it costs ~15 us a call (hot path)
            k, tau = np.broadcast_arrays(k, tau)
        shape = k.shape
        k = np.ascontiguousarray(k.ravel())
        tau = np.ascontiguousarray(tau.ravel())
        p = self.params
        ev_tau, ev_var = self.event_terms(t_seconds)
        out = np.empty(k.shape[0])
        # = terms() + _sigma_fill in one compiled pass (same bits; the power stays in numpy)
        base_level = self.atm_vol_ann + self.demand_premium_ann
        _sigma_direct(k, tau, math.log(F), skew_time_scale(p, tau), base_level, p.term_slope_per_sqrt_yr,
                      math.sqrt(p.tau_ref_yrs), self.spot_shift_ann,
                      p.spot_vol_term_scaled, ev_tau, ev_var, p.skew, p.curvature, p.sigma_floor_ann,
                      p.sigma_cap_ann, out)  # fmt: skip
        return out.reshape(shape)

    def atm_vol(self, tau_yrs: np.ndarray | float) -> np.ndarray:
        """ATM (``K = F``) implied vol at maturities ``tau_yrs``, events included."""
        return self.sigma(1.0, tau_yrs, 1.0)
