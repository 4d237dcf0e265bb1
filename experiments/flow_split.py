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

from typing import NamedTuple

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
        self._prev: _Snapshot | None = None

    def _snapshot(self, F: float, t_s: float) -> _Snapshot:
        """The dealers' live series now (book row order), their quantities and smile vols."""
        book = self.desk.book
        qty = book.holder_qty(book.dealer)
        tau = tau_years(t_s, book.expiry_day)
        live_mask = (qty != 0) & (tau > 0.0)
        rows = np.flatnonzero(live_mask)
        strike = book.strike[rows]
        tau_rows = tau[rows]
        sigma = self.desk.surface.sigma(strike, tau_rows, F, t_s) if rows.size else np.empty(0)
        return _Snapshot(F, t_s, rows, strike, book.expiry_day[rows], book.is_call[rows],
                         qty[rows].astype(np.float64), np.asarray(sigma, dtype=np.float64), live_mask,
                         tau_rows)

    def _now_of_prev(self, prev: _Snapshot, now: _Snapshot) -> tuple[np.ndarray, np.ndarray]:
        """(quantity now of each previous series, 0 if no longer live; the live rows that are new)."""
        book = self.desk.book
        n = len(book)
        rows0 = prev.rows
        same_rows = rows0.size == 0 or (
            int(rows0[-1]) < n
            and np.array_equal(book.strike[rows0], prev.strike)
            and np.array_equal(book.expiry_day[rows0], prev.expiry)
            and np.array_equal(book.is_call[rows0], prev.is_call)
        )  # fmt: skip
        if same_rows:  # the book keeps its rows during a day: match series by row
            qty1 = np.where(now.live_mask[rows0], book.holder_qty(book.dealer)[rows0], 0).astype(np.float64)
            known = np.zeros(n, dtype=np.bool_)
            known[rows0] = True
            return qty1, now.rows[~known[now.rows]]
        # rows were re-ordered (e.g. expired series settled): match by (strike, expiry, call)
        now_qty = {k: q for k, q in zip(_keys(now.strike, now.expiry, now.is_call), now.qty.tolist(),
                                        strict=True)}  # fmt: skip
        before = set(_keys(prev.strike, prev.expiry, prev.is_call))
        qty1 = np.array([now_qty.get(k, 0.0) for k in _keys(prev.strike, prev.expiry, prev.is_call)],
                        dtype=np.float64)  # fmt: skip
        new = [r for r, k in zip(now.rows.tolist(), _keys(now.strike, now.expiry, now.is_call), strict=True)
               if k not in before]  # fmt: skip
        return qty1, np.asarray(new, dtype=np.int64)

    def _same_series(self, prev: _Snapshot, now: _Snapshot) -> bool:
        """The same live rows now as at ``prev``, holding the same series (strike, expiry, call)."""
        if prev.rows.shape != now.rows.shape or not np.array_equal(prev.rows, now.rows):
            return False
        return (np.array_equal(prev.strike, now.strike) and np.array_equal(prev.expiry, now.expiry)
                and np.array_equal(prev.is_call, now.is_call))  # fmt: skip

    def sample(self, F: float, t_s: float) -> dict[str, float]:
        """Add the change since the previous call; return the cumulative columns.

        Call after the surface was advanced to ``t_s``. Columns ``dealer_flow_<part>`` and
        ``dealer_flow_target`` (their sum: the hedge target now minus at the first sample).
        """
        now = self._snapshot(F, t_s)
        prev = self._prev
        if prev is not None and self._same_series(prev, now):
            # the common case: the same live series as at the previous sample, so the union below is
            # the previous rows and its state-1 times, quantities and vols are the snapshot's (the
            # same values element by element: same bits, computed once)
            split = hedge_target_split(prev.F, F, prev.strike, prev.is_call, prev.tau, now.tau, prev.qty,
                                       now.qty, prev.sigma, now.sigma, self.desk.rate_cc)  # fmt: skip
            for part in DEALER_FLOW_PARTS:
                self.cum[part] += getattr(split, part)
        elif prev is not None:
            # the union of both books' series: the previous ones in their order, then the new ones
            qty1_prev, new_rows = self._now_of_prev(prev, now)
            book = self.desk.book
            strike = np.concatenate([prev.strike, book.strike[new_rows]]).astype(np.float64)
            expiry = np.concatenate([prev.expiry, book.expiry_day[new_rows]]).astype(np.int64)
            is_call = np.concatenate([prev.is_call, book.is_call[new_rows]]).astype(np.bool_)
            n_new = new_rows.shape[0]
            qty0 = np.concatenate([prev.qty, np.zeros(n_new)])
            sigma0 = np.concatenate([prev.sigma, np.full(n_new, np.nan)])
            qty1 = np.concatenate([qty1_prev, book.holder_qty(book.dealer)[new_rows].astype(np.float64)])
            tau0 = tau_years(prev.t_s, expiry)
            tau1 = tau_years(t_s, expiry)
            sigma1 = self.desk.surface.sigma(strike, tau1, F, t_s) if strike.size else np.empty(0)
            split = hedge_target_split(prev.F, F, strike, is_call, tau0, tau1, qty0, qty1, sigma0, sigma1,
                                       self.desk.rate_cc)  # fmt: skip
            for part in DEALER_FLOW_PARTS:
                self.cum[part] += getattr(split, part)
        self._prev = now
        out = {f"dealer_flow_{part}": self.cum[part] for part in DEALER_FLOW_PARTS}
        out["dealer_flow_target"] = sum(self.cum.values())
        return out


class _Snapshot(NamedTuple):
    F: float
    t_s: float
    rows: np.ndarray  # book rows of the live series (row order)
    strike: np.ndarray
    expiry: np.ndarray
    is_call: np.ndarray
    qty: np.ndarray  # dealer contracts (float64)
    sigma: np.ndarray  # smile vols at (F, t_s)
    live_mask: np.ndarray  # over every book row
    tau: np.ndarray  # years to expiry at t_s of the live series


def _keys(strike: np.ndarray, expiry: np.ndarray, is_call: np.ndarray) -> list[tuple[float, int, bool]]:
    return list(zip(strike.tolist(), expiry.tolist(), is_call.tolist(), strict=True))
