"""The attribution waterfall: what each agent class adds to drawdown and close return."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from experiments.plots.style import CLASS_COLORS, CLASS_NAMES, _finite, _new_figure
from experiments.plots.sweep_figures import _METRICS


def _contribution_column(attr: pd.DataFrame) -> str:
    for name in ("mean", "contribution", "mean_contribution", "mean contribution"):
        if name in attr.columns:
            return name
    raise ValueError(f"attribution frame needs a 'mean' contribution column; has {list(attr.columns)}")


def _waterfall_panel(ax: Axes, rows: pd.DataFrame, metric: str, level: str) -> None:
    """Bars chained end to start (one per class), CI whiskers at each bar's end, then a hatched sum bar."""
    start, names = 0.0, []
    for i, row in enumerate(rows.itertuples(index=False)):
        cls, known = str(row.cls), bool(np.isfinite(row.mean))
        mean = float(row.mean) if known else 0.0
        ax.bar(i, mean, bottom=start, color=CLASS_COLORS.get(cls, "#1f77b4"), alpha=0.8, width=0.62,
               edgecolor="0.2", lw=0.6)
        end = start + mean
        if np.isfinite(row.lo) and np.isfinite(row.hi):
            ax.errorbar(i, end, yerr=[[max(mean - row.lo, 0)], [max(row.hi - mean, 0)]], color="black",
                        capsize=4, lw=1.1)
        ax.plot([i + 0.31, i + 0.69], [end, end], color="0.45", lw=0.8, ls=":")
        ci = f"\n[{row.lo:+.2f}, {row.hi:+.2f}]" if np.isfinite(row.lo) and np.isfinite(row.hi) else ""
        name = CLASS_NAMES.get(cls, cls).replace(" ", "\n", 1)
        names.append(f"{name}\n{mean:+.2f}{ci}" if known else f"{name}\nn/a")
        start = end
    ax.bar(len(rows), start, facecolor="white", width=0.62, edgecolor="0.15", lw=1.0, hatch="///")
    names.append(f"sum of means\n{start:+.2f}")
    ax.axhline(0.0, color="0.2", lw=0.8)
    ax.set_xticks(range(len(names)), names, fontsize=8)
    what = {"max_drawdown_pct": "max drawdown", "close_return_pct": "close return"}.get(metric, metric)
    ax.set_ylabel(f"contribution to {what} (pp)")
    n = rows["n"].dropna()
    n_text = "" if n.empty else f"  ·  n = {int(n.min())}" if n.min() == n.max() else \
        f"  ·  n = {int(n.min())}-{int(n.max())}"
    ax.set_title(f"{what}: mean contribution, whiskers {level} CI{n_text}", fontsize=9.5, loc="left")
    ax.grid(axis="y", alpha=0.25)
    ax.margins(x=0.03, y=0.08)


def waterfall(attr: pd.DataFrame, title: str | None = None) -> Figure:
    """Per-class contributions to max drawdown and close return, stacked as a waterfall.

    Args:
        attr: ``attribution.parquet``: one row per (class, metric) with ``mean`` contribution and
            ``ci_low``/``ci_high`` (percentage points of the previous close) and ``n`` runs.
        title: figure title; a default is used when absent.

    Returns:
        Figure with one panel per metric (drawdown first): each class's bar starts where the previous
        one ended, whiskers show its confidence interval (level from a ``confidence`` column, else
        95%), and a hatched bar gives the sum of the means. A class without a mean shows "n/a".
    """
    mean_col = _contribution_column(attr)
    if attr.empty:
        raise ValueError("attribution frame is empty")
    cls_col = "class" if "class" in attr.columns else "cls"
    df = pd.DataFrame({
        "cls": attr[cls_col].astype(str),
        "metric": attr["metric"].astype(str) if "metric" in attr.columns else "max_drawdown_pct",
        "mean": pd.to_numeric(attr[mean_col], errors="coerce"),
        "lo": pd.to_numeric(attr.get("ci_low", np.nan), errors="coerce"),
        "hi": pd.to_numeric(attr.get("ci_high", np.nan), errors="coerce"),
        "n": pd.to_numeric(attr.get("n", np.nan), errors="coerce"),
    })
    present = set(df["metric"])
    metrics = [m for m in _METRICS[::-1] if m in present] + sorted(present - set(_METRICS))
    first = df[df["metric"] == metrics[0]].sort_values("mean", key=np.abs, ascending=False)
    order = list(dict.fromkeys(list(first["cls"]) + list(df["cls"])))
    conf = _finite(attr["confidence"]) if "confidence" in attr.columns else np.array([])
    level = f"{conf[0]:.0%}" if conf.size and np.all(conf == conf[0]) else "95%"
    fig = _new_figure(5.2)
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics, strict=True):
        rows = df[df["metric"] == metric].sort_values("cls", key=lambda c: c.map(order.index))
        _waterfall_panel(ax, rows, metric, level)
    fig.suptitle(title or "Flow attribution: what each agent class adds (percentage points of prev close)",
                 fontsize=12, fontweight="bold")
    return fig
