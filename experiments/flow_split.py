"""Bookkeeping of the dealers' hedge need by greek between samples (used by the model).

At each sample :class:`DealerFlowSplit` compares the dealer option book and market state with the
previous sample's and splits the change of the book's futures hedge target (``-delta_es``, ES
contracts, the whole dealer book: the dealer agents hedge shares of it that sum to 1) with
:func:`market.exposures.hedge_target_split` into gamma (spot), vanna (implied vols), charm (time),
open interest (customer option trades) and other (expiries, rounding), and accumulates them.

These are the book's hedge **need**: hedging dealers trade toward it with a lag (a band, scheduled
and price-triggered re-hedges, clip and participation caps), and not at all with
``dealers.hedging = false``; their executed futures flow is the ``flow_dealers`` column.
"""

from __future__ import annotations

import numpy as np

from market.black76 import tau_years
from market.exposures import hedge_target_split
from market.options_desk import OptionsDesk

DEALER_FLOW_PARTS = ("gamma", "vanna", "charm", "oi", "other")
"""Parts of the split; time-series columns ``dealer_flow_<part>`` (+ ``dealer_flow_target``)."""


class DealerFlowSplit:
    """Cumulative dealer hedge need by greek since the first sample (ES contracts, + = buy).

    Args:
        desk: the options desk whose dealer book and surface are split (read, never changed).
    """

    def __init__(self, desk: OptionsDesk):
        self.desk = desk
        self.cum = dict.fromkeys(DEALER_FLOW_PARTS, 0.0)
        self._prev: tuple | None = None  # (F, t, {series key: (qty, sigma)})

    def _snapshot(self, F: float, t_s: float) -> dict[tuple[float, int, bool], tuple[float, float]]:
        book = self.desk.book
        qty = book.holder_qty(book.dealer)
        tau = tau_years(t_s, book.expiry_day)
        live = np.flatnonzero((qty != 0) & (tau > 0.0))
        sigma = self.desk.surface.sigma(book.strike[live], tau[live], F, t_s) if live.size else []
        keys = zip(book.strike[live].tolist(), book.expiry_day[live].tolist(), book.is_call[live].tolist(),
                   strict=True)
        return {(float(k), int(d), bool(c)): (float(q), float(s))
                for (k, d, c), q, s in zip(keys, qty[live].tolist(), np.asarray(sigma).tolist(), strict=True)}

    def sample(self, F: float, t_s: float) -> dict[str, float]:
        """Add the change since the previous call; return the cumulative columns.

        Call after the surface was advanced to ``t_s``. Columns ``dealer_flow_<part>`` and
        ``dealer_flow_target`` (their sum: the hedge target now minus at the first sample).
        """
        now = self._snapshot(F, t_s)
        if self._prev is not None:
            F0, t0, before = self._prev
            keys = list(dict.fromkeys([*before, *now]))
            strike = np.array([k[0] for k in keys], dtype=np.float64)
            expiry = np.array([k[1] for k in keys], dtype=np.int64)
            is_call = np.array([k[2] for k in keys], dtype=np.bool_)
            qty0 = np.array([before.get(k, (0.0, np.nan))[0] for k in keys])
            sigma0 = np.array([before.get(k, (0.0, np.nan))[1] for k in keys])
            qty1 = np.array([now.get(k, (0.0, np.nan))[0] for k in keys])
            tau0 = tau_years(t0, expiry)
            tau1 = tau_years(t_s, expiry)
            sigma1 = self.desk.surface.sigma(strike, tau1, F, t_s) if keys else np.empty(0)
            split = hedge_target_split(F0, F, strike, is_call, tau0, tau1, qty0, qty1, sigma0, sigma1,
                                       self.desk.rate_cc)  # fmt: skip
            for part in DEALER_FLOW_PARTS:
                self.cum[part] += getattr(split, part)
        self._prev = (F, t_s, now)
        out = {f"dealer_flow_{part}": self.cum[part] for part in DEALER_FLOW_PARTS}
        out["dealer_flow_target"] = sum(self.cum.values())
        return out
