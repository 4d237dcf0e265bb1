"""Option open interest by (strike, expiry, call/put, holder class).

A *series* is one (strike, expiry day, call/put) triple; the book keeps one row per series and one
column per holder class (``"dealer"`` plus customer classes such as ``"hedger"``), each cell the
signed number of option contracts held (long > 0, short < 0; one SPX contract = $100 per index
point). Either side may be long or short puts and calls.

Units: strikes in index points; ``expiry_day`` in calendar days from the simulated day (0 = 0DTE,
expiring 16:00 ET today; see ``market.black76.tau_years``); quantities in integer contracts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from market.black76 import tau_years
from market.units import SPX_MULTIPLIER_USD

DEALER = "dealer"  #: default name of the dealer holder class


class OptionBook:
    """Open interest as arrays: ``strike[n]``, ``expiry_day[n]``, ``is_call[n]``, ``qty[n, h]``.

    Args:
        holders: names of the holder classes; one of them is the dealer.
        capacity: initial number of series to allocate (grows by doubling).
        dealer: which holder class is the dealer side of :meth:`trade`.
    """

    def __init__(
        self,
        holders: Sequence[str] = (DEALER, "customer"),
        capacity: int = 64,
        dealer: str = DEALER,
    ) -> None:
        holders = tuple(holders)
        if len(set(holders)) != len(holders) or not holders:
            raise ValueError(f"holders must be unique, non-empty names, got {holders!r}")
        if dealer not in holders:
            raise ValueError(f"dealer {dealer!r} is not one of the holders {holders!r}")
        self.holders = holders
        self.dealer = dealer
        self._col = {name: j for j, name in enumerate(holders)}
        cap = max(int(capacity), 1)
        self._strike = np.empty(cap)
        self._expiry = np.empty(cap, dtype=np.int64)
        self._is_call = np.empty(cap, dtype=np.bool_)
        self._qty = np.zeros((cap, len(holders)), dtype=np.int64)
        self._n = 0
        self._index: dict[tuple[float, int, bool], int] = {}

    # ---- views ----------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of series (rows), including ones where every holder is flat."""
        return self._n

    @property
    def strike(self) -> np.ndarray:
        """Strikes (index points), shape ``(n,)`` (read-only view)."""
        return self._view(self._strike[: self._n])

    @property
    def expiry_day(self) -> np.ndarray:
        """Expiry day offsets (calendar days, 0 = today), shape ``(n,)`` (read-only view)."""
        return self._view(self._expiry[: self._n])

    @property
    def is_call(self) -> np.ndarray:
        """True for calls, False for puts, shape ``(n,)`` (read-only view)."""
        return self._view(self._is_call[: self._n])

    @property
    def qty(self) -> np.ndarray:
        """Signed contracts per series and holder, shape ``(n, len(holders))`` (read-only view)."""
        return self._view(self._qty[: self._n])

    def holder_qty(self, holder: str) -> np.ndarray:
        """Signed contracts of one holder class per series, shape ``(n,)`` (read-only view)."""
        return self._view(self._qty[: self._n, self._column(holder)])

    def open_interest(self) -> np.ndarray:
        """Open interest per series: the sum of long positions over holders, in contracts."""
        return np.maximum(self.qty, 0).sum(axis=1)

    @staticmethod
    def _view(a: np.ndarray) -> np.ndarray:
        v = a.view()
        v.flags.writeable = False
        return v

    def _column(self, holder: str) -> int:
        try:
            return self._col[holder]
        except KeyError:
            raise ValueError(f"unknown holder {holder!r}; holders are {self.holders!r}") from None

    # ---- changes --------------------------------------------------------------------------

    def _row(self, strike: float, expiry_day: int, is_call: bool) -> int:
        strike_f = float(strike)
        if not (np.isfinite(strike_f) and strike_f > 0.0):
            raise ValueError(f"strike={strike!r}: must be a finite price > 0 (index points)")
        if int(expiry_day) != expiry_day or expiry_day < 0:
            raise ValueError(f"expiry_day={expiry_day!r}: must be an integer >= 0 (days)")
        key = (strike_f, int(expiry_day), bool(is_call > 0))
        row = self._index.get(key)
        if row is None:
            if self._n == self._strike.shape[0]:
                self._grow()
            row = self._n
            self._strike[row] = key[0]
            self._expiry[row] = key[1]
            self._is_call[row] = key[2]
            self._qty[row] = 0
            self._index[key] = row
            self._n += 1
        return row

    def _grow(self) -> None:
        cap = 2 * self._strike.shape[0]
        n = self._n
        for name in ("_strike", "_expiry", "_is_call", "_qty"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[:n] = old[:n]
            setattr(self, name, new)

    @staticmethod
    def _check_qty(qty: int) -> int:
        if int(qty) != qty:
            raise ValueError(f"qty={qty!r}: option quantities are whole contracts")
        return int(qty)

    def add(
        self,
        strike: float,
        expiry_day: int,
        is_call: bool,
        qty: int,
        holder: str,
        counterparty: str | None = None,
    ) -> int:
        """Add ``qty`` contracts (signed: < 0 adds a short) to one holder's position.

        Args:
            strike: strike (index points, > 0).
            expiry_day: calendar day offset of the expiry (0 = today).
            is_call: True (or ``+1``) for a call, False (or ``-1``/0) for a put.
            qty: signed whole contracts.
            holder: holder class receiving ``qty``.
            counterparty: if given, this class receives ``-qty`` (contracts are conserved).

        Returns:
            The series' row index.
        """
        q = self._check_qty(qty)
        col = self._column(holder)
        ccol = None if counterparty is None else self._column(counterparty)
        row = self._row(strike, expiry_day, is_call)
        self._qty[row, col] += q
        if ccol is not None:
            self._qty[row, ccol] -= q
        return row

    def add_many(
        self,
        strike: np.ndarray,
        expiry_day: np.ndarray,
        is_call: np.ndarray,
        qty: np.ndarray,
        holder: str,
        counterparty: str | None = None,
    ) -> None:
        """Vectorised :meth:`add` over equal-length arrays (building a scenario's open interest)."""
        strike, expiry_day, is_call, qty = np.broadcast_arrays(strike, expiry_day, is_call, qty)
        for k, d, c, q in zip(strike.ravel().tolist(), expiry_day.ravel().tolist(),
                              is_call.ravel().tolist(), qty.ravel().tolist(), strict=True):
            self.add(k, d, c, q, holder, counterparty)

    def trade(
        self,
        strike: float,
        expiry_day: int,
        is_call: bool,
        qty: int,
        customer: str,
    ) -> int:
        """A customer class trades with the dealers: ``qty > 0`` the customer buys, < 0 sells.

        The customer's position changes by ``+qty`` and the dealer's by ``-qty``.

        Returns:
            The series' row index.
        """
        if customer == self.dealer:
            raise ValueError(f"trade: customer {customer!r} is the dealer class itself")
        return self.add(strike, expiry_day, is_call, qty, customer, counterparty=self.dealer)

    def settle_expired(self, t_seconds: float, settlement_price: float) -> dict[str, float]:
        """Cash-settle every series expired at ``t_seconds`` and drop it from the book.

        Args:
            t_seconds: simulation clock, seconds from the simulated day's open; a series is
                expired when ``tau_years(t_seconds, expiry_day) <= 0`` (16:00 ET on its day).
            settlement_price: index level used for settlement (index points).

        Returns:
            Cash received per holder class in USD (``qty * intrinsic * $100``; negative for
            net short in-the-money positions).
        """
        n = self._n
        tau = tau_years(t_seconds, self._expiry[:n])
        expired = tau <= 0.0
        cash = {name: 0.0 for name in self.holders}
        if not expired.any():
            return cash
        w = np.where(self._is_call[:n], 1.0, -1.0)
        intrinsic = np.maximum(w * (settlement_price - self._strike[:n]), 0.0)
        payoff = (self._qty[:n] * (intrinsic * SPX_MULTIPLIER_USD)[:, None])[expired].sum(axis=0)
        for name, j in self._col.items():
            cash[name] = float(payoff[j])
        keep = np.flatnonzero(~expired)
        m = keep.shape[0]
        for name in ("_strike", "_expiry", "_is_call", "_qty"):
            arr = getattr(self, name)
            arr[:m] = arr[keep]
        self._qty[m:n] = 0
        self._n = m
        self._index = {
            (float(self._strike[i]), int(self._expiry[i]), bool(self._is_call[i])): i
            for i in range(m)
        }
        return cash
