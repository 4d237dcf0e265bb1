"""Acceptance statistics of the Nov-20 scenario (issue #5) over many seeds, with its counterfactuals.

Runs ``nov20_2025`` as shipped, with ten times the dip-buying capital, and with the dealers not
hedging, on the same seeds (a resumable ``run_sweep`` under ``--out``), then prints per variant the
medians of open, high (and its time), close, range and drawdown (% of the prior close), how many
seeds close below the prior close and how many cascade (drawdown > 6%), the quartiles of the
drawdown, the path shape (ET times of the high and low, close location, rebound share, fall duration
in minutes, steepest 30-minute share of the fall), and the dealers', CTAs' and dip buyers' net flow
from the high to the close (contracts) with the dealers' mean dollar gamma there. The acceptance
checks are printed as measured/target.

Run: ``python benchmarks/nov20_acceptance.py [--seeds 20] [--workers 2] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))

from experiments.metrics import et_clock  # noqa: E402
from experiments.sweep import run_sweep  # noqa: E402

VARIANTS = {
    "as shipped": {},
    "dip capital x10": {"dip_buyers.capital_usd": 3.0e9},
    "dealers not hedging": {"dealers.hedging": False},
}
CASCADE_DRAWDOWN_PCT = 6.0


def variant_of(row: pd.Series) -> str:
    """Name of the variant a run belongs to (from its swept columns)."""
    if row.get("dealers.hedging") is False or row.get("dealers.hedging") == "false":
        return "dealers not hedging"
    capital = row.get("dip_buyers.capital_usd")
    if capital is not None and not pd.isna(capital) and float(capital) == 3.0e9:
        return "dip capital x10"
    return "as shipped"


def _median(g: pd.DataFrame, col: str) -> float:
    """Median of a summary column over the finite values (NaN if the column is missing)."""
    return float(pd.to_numeric(g[col], errors="coerce").median()) if col in g else np.nan


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: medians, counts and quartiles."""
    runs = runs[runs["status"] == "ok"].copy()
    runs["variant"] = runs.apply(variant_of, axis=1)
    rows = []
    for name in VARIANTS:
        g = runs[runs["variant"] == name]
        if g.empty:
            continue
        dd = g["max_drawdown_pct"]
        rows.append({
            "variant": name,
            "seeds": len(g),
            "open %": g["open_return_pct"].median(),
            "high %": g["high_return_pct"].median(),
            "high min after open": g["high_time_s"].median() / 60,
            "high time ET": et_clock(g["high_time_s"].median()),
            "low time ET": et_clock(g["low_time_s"].median()),
            "close %": g["close_return_pct"].median(),
            "closes below prior": int((g["close_return_pct"] < 0).sum()),
            "range %": g["range_pct"].median(),
            "drawdown %": dd.median(),
            "dd q25": dd.quantile(0.25),
            "dd q75": dd.quantile(0.75),
            f"cascades (dd>{CASCADE_DRAWDOWN_PCT:g}%)": int((dd > CASCADE_DRAWDOWN_PCT).sum()),
            "close location": _median(g, "close_location"),
            "rebound share": _median(g, "rebound_share"),
            "fall duration min": _median(g, "fall_duration_min"),
            "steepest 30min share": _median(g, "steepest_30min_share"),
            "fall flow dealers": g["fall_flow_dealers"].median(),
            "fall flow cta": g["fall_flow_cta"].median(),
            "fall flow dip": g["fall_flow_dip_buyers"].median(),
            "fall dealer gamma $/1%": g["fall_dealer_gamma_mean"].median(),
            "messages": g["n_messages"].median() if "n_messages" in g else np.nan,
            "runtime s": g["runtime_s"].median(),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("variant")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(ROOT / "runs" / "nov20_acceptance"))
    args = ap.parse_args(argv)
    runs = run_sweep("nov20_2025", list(VARIANTS.values()), list(range(1, args.seeds + 1)), args.out,
                     workers=args.workers)  # fmt: skip
    table = summarize(runs)
    fmt = "{:,.2f}".format
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", fmt):
        print(table.T.to_string())
    base, dip, off = (table.loc[v] for v in VARIANTS)
    print("\nacceptance (medians):")
    print(f"  open >= +1%: {base['open %']:+.2f}%   "
          f"high in the first 90 min: {base['high min after open']:.0f} min")
    print(f"  close below the prior close: {base['close %']:+.2f}%   range >= 3%: {base['range %']:.2f}%")
    print(f"  shape: high at {base['high time ET']} ET (target 10:00-10:45), close location "
          f"{base['close location']:.2f} (target 0.00-0.05), rebound share {base['rebound share']:.2f}, "
          f"fall {base['fall duration min']:.0f} min (target ~300), steepest 30 min "
          f"{base['steepest 30min share']:.2f} of the fall")
    print(f"  dip capital x10 halves the drawdown: {dip['drawdown %']:.2f}% vs {base['drawdown %']:.2f}% "
          f"(ratio {dip['drawdown %'] / base['drawdown %']:.2f}, target <= 0.50)")
    print(f"  dealers not hedging: {off['drawdown %']:.2f}% vs {base['drawdown %']:.2f}% "
          f"(ratio {off['drawdown %'] / base['drawdown %']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
