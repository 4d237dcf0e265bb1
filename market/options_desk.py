"""The options desk: customers trade SPX-style options with the dealers at the dealers' quotes.

Dealers quote implied vol from the surface plus an inventory markup (the more options the dealers
are already short, the more they charge); every customer trade updates the open interest and the
net customer vega that moves the surface's demand term at its next update. Prices in index points,
options in SPX contracts ($100 per point), vols annualized, times in seconds from the 09:30 open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from market import black76
from market.exposures import DealerExposures, dealer_exposures, dealer_hedge_need
from market.ivsurface import EventPremium, IVSurface, IVSurfaceParams
from market.positions import OptionBook
from market.units import SPX_MULTIPLIER_USD

STRIKE_GRID_POINTS = 5.0
HOLDERS = ("dealer", "customer", "hedgers")


@dataclass(frozen=True)
class OptionTrade:
    """One customer trade: + qty = the customer bought from the dealers."""

    t_s: float
    customer: str
    strike: float
    expiry_day: int
    is_call: bool
    qty: int
    iv: float
    price_points: float


@dataclass(frozen=True, slots=True)
class OpenInterest:
    """Open interest in one option series at the start, held by customers against the dealers.

    Attributes:
        strike_pct: strike in % of the prior close (snapped to the 5-point grid).
        expiry_day: expiry, calendar days after the simulated day (0 = 0DTE).
        is_call: call (True) or put (False).
        customer_qty: SPX contracts customers hold (+ long: the dealers are short).
    """

    strike_pct: float
    expiry_day: int
    is_call: bool
    customer_qty: int


@dataclass(frozen=True, slots=True)
class OptionsDeskParams:
    """Everything :meth:`OptionsDesk.from_params` needs: surface, rates, premia and open interest.

    Attributes:
        surface: the IV surface's coefficients.
        rate_cc: discount rate per year (continuously compounded).
        inventory_vol_per_contract: quote markup per SPX contract of dealer net short options.
        event_premia: events priced into IV at the start.
        positions: open interest at the start.
    """

    surface: IVSurfaceParams
    rate_cc: float
    inventory_vol_per_contract: float
    event_premia: tuple[EventPremium, ...] = ()
    positions: tuple[OpenInterest, ...] = ()


class OptionsDesk:
    """Open interest, the implied-vol surface and the dealers' quotes.

    Args:
        book: open interest by series and holder class (``"dealer"`` is the dealer side).
        surface: the implied-vol surface state.
        rate_cc: discount rate per year (continuously compounded).
        inventory_vol_per_contract: quote markup per SPX contract of dealer net short options.
    """

    def __init__(
        self, book: OptionBook, surface: IVSurface, rate_cc: float, inventory_vol_per_contract: float
    ):
        self.book = book
        self.surface = surface
        self.rate_cc = rate_cc
        self.inventory_vol_per_contract = inventory_vol_per_contract
        self.trades: list[OptionTrade] = []
        self._net_vega_usd = 0.0
        self._last_update_s = surface.t_seconds

    @classmethod
    def from_params(cls, params: OptionsDeskParams, prev_close_points: float, start_s: float) -> OptionsDesk:
        """Build the desk at ``start_s`` (strikes on a 5-point grid around the prior close)."""
        surface = IVSurface(params.surface, t_seconds=start_s)
        for p in params.event_premia:
            surface.add_event(p.name, p.event_day, p.event_t_seconds, p.move_std)
        book = OptionBook(holders=HOLDERS)
        for block in params.positions:
            strike = snap_strike(prev_close_points * block.strike_pct / 100.0)
            book.add(strike, block.expiry_day, block.is_call, block.customer_qty, "customer", "dealer")
        return cls(book, surface, params.rate_cc, params.inventory_vol_per_contract)

    # ------------------------------------------------------------------ quotes and trades
    def dealer_short_contracts(self) -> int:
        """Options the dealers are net short (contracts, all series)."""
        return int(-self.book.holder_qty(self.book.dealer).sum())

    def quote_iv(self, strike: float, expiry_day: int, F: float, t_s: float, customer_buys: bool) -> float:
        """The dealers' implied vol for a customer buy (or sell): surface plus inventory markup."""
        tau = black76.tau_years(t_s, expiry_day)
        sigma = float(self.surface.sigma(strike, tau, F, t_s))
        return max(sigma + self._markup(customer_buys), 0.01)

    def quote_ivs(
        self, strike: np.ndarray, expiry_day: np.ndarray, F: float, t_s: float, customer_buys: bool
    ) -> np.ndarray:
        """:meth:`quote_iv` for many series in one surface call (same bits, element by element)."""
        return self.quote_ivs_from(self.surface_ivs(strike, expiry_day, F, t_s), customer_buys)

    def surface_ivs(self, strike: np.ndarray, expiry_day: np.ndarray, F: float, t_s: float) -> np.ndarray:
        """The surface's vols of many series, before the dealers' markup.

        The part of :meth:`quote_ivs` that a customer trade does not change (a trade changes only the
        dealers' inventory, so the markup).
        """
        tau = black76.tau_years(t_s, np.asarray(expiry_day, dtype=np.int64))
        return self.surface.sigma(np.asarray(strike, dtype=np.float64), tau, F, t_s)

    def quote_ivs_from(self, surface_ivs: np.ndarray, customer_buys: bool) -> np.ndarray:
        """:meth:`quote_ivs` from :meth:`surface_ivs` (the markup as the inventory is now)."""
        return np.maximum(surface_ivs + self._markup(customer_buys), 0.01)

    def _markup(self, customer_buys: bool) -> float:
        """The dealers' inventory markup (vol): + on a customer buy, - on a sale."""
        markup = self.inventory_vol_per_contract * max(self.dealer_short_contracts(), 0)
        return markup if customer_buys else -markup

    def price(self, strike: float, expiry_day: int, is_call: bool, F: float, t_s: float, iv: float) -> float:
        """Black-76 price in index points."""
        tau = black76.tau_years(t_s, expiry_day)
        return float(black76.price(F, strike, tau, iv, self.rate_cc, is_call))

    def trade(
        self, customer: str, strike: float, expiry_day: int, is_call: bool, qty: int, F: float, t_s: float
    ) -> OptionTrade:
        """A customer buys (qty > 0) or sells (qty < 0) ``|qty|`` contracts from/to the dealers."""
        if qty == 0:
            raise ValueError("trade: qty must be non-zero")
        iv = self.quote_iv(strike, expiry_day, F, t_s, customer_buys=qty > 0)
        px = self.price(strike, expiry_day, is_call, F, t_s, iv)
        self.book.add(strike, expiry_day, is_call, qty, customer, self.book.dealer)
        tau = black76.tau_years(t_s, expiry_day)
        vega_usd = float(black76.vega(F, strike, tau, iv, self.rate_cc, is_call)) * SPX_MULTIPLIER_USD
        self._net_vega_usd += qty * vega_usd
        trade = OptionTrade(t_s, customer, strike, expiry_day, is_call, int(qty), iv, px)
        self.trades.append(trade)
        return trade

    def resolve_event(self, name: str) -> None:
        """Remove an event's premium from every expiry (IV crush)."""
        self.surface.resolve_event(name)

    def update_surface(self, t_s: float, F: float, F_prev: float, realized_vol_ann: float) -> None:
        """Advance the surface to ``t_s``: spot-vol beta, pull to realized vol, customer demand."""
        dt = max(t_s - self.surface.t_seconds, 0.0)
        ret = math.log(F / F_prev) if F > 0 and F_prev > 0 else 0.0
        rv = realized_vol_ann if realized_vol_ann > 0 else None
        self.surface.update(dt, ret, rv, self._net_vega_usd)
        self._net_vega_usd = 0.0

    # ------------------------------------------------------------------ exposures
    def exposures(self, F: float, t_s: float) -> DealerExposures:
        """The dealers' aggregate exposures now (futures contracts; see ``market.exposures``)."""
        return dealer_exposures(self.book, self.surface, F, t_s, self.rate_cc)

    def hedge_need(self, F: float, t_s: float) -> tuple[float, float]:
        """``(hedge_target_es, gamma_es_per_point)`` of :meth:`exposures` for a hedging dealer (same bits)."""
        return dealer_hedge_need(self.book, self.surface, F, t_s, self.rate_cc)

    def atm_iv(self, F: float, t_s: float, expiry_day: int = 30) -> float:
        """ATM implied vol at ``expiry_day`` (30 days ~ the VIX horizon)."""
        tau = black76.tau_years(t_s, expiry_day)
        return float(self.surface.sigma(F, tau, F, t_s))

    def state(self, F: float, t_s: float) -> dict[str, float]:
        """Time-series columns: ATM IV and the dealers' delta, gamma, vanna and charm."""
        if len(self.book) == 0:
            return {"iv_atm": self.atm_iv(F, t_s), "dealer_delta": 0.0, "dealer_gamma": 0.0,
                    "dealer_vanna": 0.0, "dealer_charm": 0.0}  # fmt: skip
        x = self.exposures(F, t_s)
        return {
            "iv_atm": self.atm_iv(F, t_s),
            "dealer_delta": x.delta_es,
            "dealer_gamma": x.gamma_usd_per_pct,
            "dealer_vanna": x.vanna_es_per_volpt,
            "dealer_charm": x.charm_es_per_hour,
        }

    def trades_frame(self) -> pd.DataFrame:
        """Every customer option trade."""
        return pd.DataFrame([t.__dict__ for t in self.trades])


def snap_strike(points: float) -> float:
    """Nearest strike on the SPX 5-point grid."""
    return float(np.round(points / STRIKE_GRID_POINTS) * STRIKE_GRID_POINTS)
