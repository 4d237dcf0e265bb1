"""Option-layer speed: greeks for 10,000 positions and a 200-level x 10,000-position GEX profile.

Times are warm (compiled, numba cache loaded), best of several repeats, on one core. Targets:
greeks for 10,000 positions < 1 ms; GEX profile 200 x 10,000 < 50 ms. Also prints the dealer
exposures from an ``OptionBook`` (surface vols + greeks) and implied-vol solver throughput.
Run: ``python benchmarks/bench_options.py [--positions N] [--levels M] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from market import black76 as b76  # noqa: E402
from market.exposures import dealer_exposures, live_positions  # noqa: E402
from market.gex import gex_profile, gex_profile_of  # noqa: E402
from market.ivsurface import IVSurface  # noqa: E402
from market.positions import OptionBook  # noqa: E402

F = 6700.0
T_SECONDS = 3600.0  # 10:30 ET


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call, in seconds."""
    fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_book(n: int, seed: int = 42) -> OptionBook:
    """``n`` distinct live series: a 5-point strike grid x expiries 0..59 days x call/put."""
    rng = np.random.default_rng(seed)
    n_expiries = 10
    n_strikes = -(-n // (2 * n_expiries))
    strikes = 6700.0 + 5.0 * (np.arange(n_strikes) - n_strikes // 2)
    expiries = np.array([0, 1, 2, 3, 4, 7, 14, 21, 30, 59])[:n_expiries]
    K, d, c = np.meshgrid(strikes, expiries, [True, False], indexing="ij")
    K, d, c = K.ravel()[:n], d.ravel()[:n], c.ravel()[:n]
    qty = rng.integers(1, 2000, n) * np.where(rng.random(n) < 0.7, -1, 1)  # dealers mostly short
    book = OptionBook(("dealer", "customer"), capacity=n)
    book.add_many(K, d, c, qty, "dealer", counterparty="customer")
    return book


def main() -> None:
    """Run the benchmarks and print the figures against the targets."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=10_000)
    ap.add_argument("--levels", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()

    book = make_book(args.positions)
    surface = IVSurface()
    surface.add_event("payrolls", 1, -3600.0, 0.01)
    pos = live_positions(book, T_SECONDS)
    sigma = surface.sigma(pos.strike, pos.tau_yrs, F)
    n = pos.strike.shape[0]
    grid = np.linspace(0.9 * F, 1.1 * F, args.levels)

    t_greeks = best_time(lambda: b76.greeks(F, pos.strike, pos.tau_yrs, pos.is_call, sigma, 0.04),
                         args.repeats)
    t_totals = best_time(lambda: b76.portfolio_greeks(F, pos.strike, pos.tau_yrs, pos.is_call,
                                                      sigma, pos.qty, 0.04), args.repeats)
    t_gex = best_time(lambda: gex_profile_of(pos, surface, grid, T_SECONDS, 0.04),
                      max(args.repeats // 2, 5))
    t_gex_book = best_time(lambda: gex_profile(book, surface, grid, T_SECONDS, 0.04),
                           max(args.repeats // 2, 5))
    t_expo = best_time(lambda: dealer_exposures(book, surface, F, T_SECONDS, 0.04), args.repeats)
    prices = b76.greeks(F, pos.strike, pos.tau_yrs, pos.is_call, sigma, 0.04).price
    t_iv = best_time(lambda: b76.implied_vols(prices, F, pos.strike, pos.tau_yrs, pos.is_call,
                                              0.04), 3)

    def line(label: str, seconds: float, target_ms: float | None = None) -> None:
        verdict = ""
        if target_ms is not None:
            ok = "OK" if seconds * 1e3 < target_ms else "MISSED"
            verdict = f"  target < {target_ms:g} ms: {ok}"
        print(f"{label:<58s}{seconds * 1e3:9.3f} ms{verdict}")

    print(f"options benchmark: {n} live positions, {grid.shape[0]} spot levels, best of repeats")
    line(f"greeks, per position (8 x {n})", t_greeks, 1.0)
    line(f"greeks, quantity-weighted totals ({n})", t_totals, 1.0)
    line(f"GEX profile {grid.shape[0]} x {n} (from live arrays)", t_gex, 50.0)
    line(f"GEX profile {grid.shape[0]} x {n} (from the OptionBook)", t_gex_book, 50.0)
    line(f"dealer exposures from the OptionBook ({n}, surface vols)", t_expo)
    line(f"implied vols ({n})", t_iv)
    per_elem_ns = t_gex / (grid.shape[0] * n) * 1e9
    print(f"GEX cost per (level, position): {per_elem_ns:.2f} ns; "
          f"greeks per position: {t_greeks / n * 1e9:.1f} ns")


if __name__ == "__main__":
    main()
