"""Figures of a calibration (history, importances, best moments vs targets) and of a sensitivity run.

Reads only the files that :mod:`experiments.calibration.calibrate` and
:mod:`experiments.calibration.sensitivity` write.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["plot_calibration", "plot_sensitivity"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_calibration(out_dir: str | Path) -> list[Path]:
    """Write ``plots/history.png``, ``plots/importances.png`` and ``plots/moments.png``; return the paths."""
    out = Path(out_dir)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    plt = _plt()
    trials = pd.read_parquet(out / "trials.parquet")
    spec = json.loads((out / "calibration.json").read_text())
    written = []

    ok = trials[trials["state"] == "COMPLETE"].sort_values("number")
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(ok):
        ax.scatter(ok["number"], ok["value"], s=14, alpha=0.6, label="trial")
        ax.step(ok["number"], ok["value"].cummin(), where="post", color="C3", label="best so far")
        if (ok["value"] > 0).all():
            ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("distance to targets (weighted mean z^2)")
    ax.set_title(f"calibration history ({len(ok)} complete trials)")
    ax.legend()
    fig.tight_layout()
    written.append(plots / "history.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    keys = [p.split("=", 1)[0] for p in spec["params"]]
    imp = _importances(out, keys)
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.5 * max(len(keys), 1)))
    if imp:
        names = list(imp)
        ax.barh(names[::-1], [imp[k] for k in names][::-1])
        ax.set_xlabel("importance (optuna fANOVA, sums to 1)")
    else:
        ax.text(0.5, 0.5, "too few trials for importances", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("parameter importances for the distance")
    fig.tight_layout()
    written.append(plots / "importances.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    best_path = out / "best.json"
    if best_path.exists():
        best = json.loads(best_path.read_text())
        moments = spec["targets"]["moments"]
        names = list(moments)
        runs = pd.read_parquet(out / best["sweep_dir"] / "runs.parquet")
        from experiments.calibration.targets import moment_values

        per_seed = pd.DataFrame(
            [moment_values(r, names) for r in runs[runs["status"] == "ok"].to_dict("records")]
        )
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.42 * len(names)))
        for i, name in enumerate(names):
            m = moments[name]
            z = (
                (per_seed[name].to_numpy(float) - m["target"]) / m["tolerance"]
                if len(per_seed)
                else np.array([])
            )
            ax.scatter(z, np.full(len(z), i), s=12, color="0.5", alpha=0.7, label="seeds" if i == 0 else None)
            med = best["median"].get(name)
            if med is not None:
                ax.scatter(
                    [(med - m["target"]) / m["tolerance"]],
                    [i],
                    marker="D",
                    color="C3",
                    label="median" if i == 0 else None,
                )
        ax.axvline(0, color="k", lw=0.8)
        ax.axvspan(-1, 1, color="C2", alpha=0.12, label="within one tolerance")
        ax.set_yticks(range(len(names)), [f"{n} ({moments[n]['target']:g})" for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("(moment - target) / tolerance")
        ax.set_title(f"best trial {best['trial']}: moments vs targets ({len(per_seed)} seeds)")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        written.append(plots / "moments.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _importances(out: Path, keys: list[str]) -> dict[str, float]:
    import optuna

    try:
        study = optuna.load_study(
            study_name="calibration", storage=f"sqlite:///{(out / 'study.db').resolve()}"
        )
        complete = [
            t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE
        ]
        if len(complete) < 4 or len(keys) < 2:
            return {k: 1.0 for k in keys} if len(complete) >= 4 else {}
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))
    except Exception:  # noqa: BLE001 - e.g. no variation in a parameter
        return {}


def plot_sensitivity(out_dir: str | Path) -> Path:
    """Write ``plots/indices.png``: one panel per metric, indices with their 95% intervals."""
    out = Path(out_dir)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    plt = _plt()
    info = json.loads((out / "sensitivity.json").read_text())
    table = pd.read_csv(out / "indices.csv")
    metrics = info["metrics"]
    params = [p.split("=", 1)[0] for p in info["params"]]
    ncol = min(2, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.5 * ncol, 0.8 + 0.55 * len(params) * nrow), squeeze=False)
    y = np.arange(len(params))
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        t = table[table["metric"] == metric].set_index("param").reindex(params)
        if info["method"] == "sobol":
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="first order S1", capsize=2)
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="total ST", capsize=2)
            ax.set_xlabel("Sobol index (95% interval)")
        else:
            ax.barh(y, t["mu_star"], 0.6, xerr=t["mu_star_conf"], label="mu*", capsize=2)
            ax.set_xlabel("Morris mu* (metric units, 95% interval)")
        ax.set_yticks(y, params)
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(metric)
        ax.legend(fontsize=8)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(
        f"{info['method']} sensitivity of {Path(info['scenario']).stem}: N={info['n']}, "
        f"{len(info['seeds'])} seed(s), {info['n_runs']} runs"
    )
    fig.tight_layout()
    path = plots / "indices.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
