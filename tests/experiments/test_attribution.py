"""Counterfactual attribution with a fake runner whose outcome is a known sum of class effects."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sweep_fakes import CLASSES, class_effect, read_calls

from experiments.attribution import attribution_table, paired_contribution, run_attribution
from experiments.designs import seeds_for
from experiments.sweep import SweepConfigError
from experiments.sweep_cli import main

RUNNER = "sweep_fakes:attribution_run"
SEEDS = seeds_for(99, 6)


@pytest.fixture
def calls(tmp_path, monkeypatch):
    d = tmp_path / "calls"
    d.mkdir()
    monkeypatch.setenv("FAKE_CALL_DIR", str(d))
    return d


def test_contributions_recover_the_class_effects(tmp_path, calls):
    out = tmp_path / "attr"
    table = run_attribution("nov20", SEEDS, out, workers=2, runner=RUNNER, progress=False)
    assert list(table["class"].unique()) == list(CLASSES)
    assert len(table) == 2 * len(CLASSES) and (table["n"] == len(SEEDS)).all()
    assert (table["n_missing"] == 0).all()
    tcrit = stats.t.ppf(0.975, len(SEEDS) - 1)
    for cls in CLASSES:
        d = np.array([class_effect(cls, s) for s in SEEDS])  # what the fake adds, seed by seed
        for metric, scale in (("max_drawdown_pct", 1.0), ("close_return_pct", -0.6)):
            row = table[(table["class"] == cls) & (table["metric"] == metric)].iloc[0]
            diffs = scale * d
            half = tcrit * diffs.std(ddof=1) / math.sqrt(len(SEEDS))
            assert row["mean"] == pytest.approx(diffs.mean(), abs=1e-12)
            assert row["ci_low"] == pytest.approx(diffs.mean() - half, abs=1e-12)
            assert row["ci_high"] == pytest.approx(diffs.mean() + half, abs=1e-12)
            assert row["ci_low"] < row["mean"] < row["ci_high"]
    # sign: dealers deepen the drawdown, dip buyers soften it
    dd = table[table["metric"] == "max_drawdown_pct"].set_index("class")["mean"]
    assert dd["dealers"] > dd["cta"] > dd["hedgers"] > 0 > dd["dip_buyers"]
    # files
    pd.testing.assert_frame_equal(pd.read_parquet(out / "attribution.parquet"), table, check_like=True)
    assert pd.read_csv(out / "attribution.csv").shape == table.shape
    marker = json.loads((out / "attribution.json").read_text())
    assert marker["kind"] == "attribution" and marker["classes"] == list(CLASSES) and marker["seeds"] == SEEDS
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == (1 + len(CLASSES)) * len(SEEDS) and (runs["status"] == "ok").all()
    # each knockout run switched exactly one class off, the baseline none
    knocked = [sorted(o for o in c["overrides"] if o.endswith("=false")) for c in read_calls(calls)]
    assert sorted(map(len, knocked)) == [0] * len(SEEDS) + [1] * len(CLASSES) * len(SEEDS)


def test_attribution_is_resumable(tmp_path, calls):
    out = tmp_path / "attr"
    first = run_attribution(
        "nov20", SEEDS[:3], out, classes=("dealers", "cta"), workers=1, runner=RUNNER, progress=False
    )
    n = len(read_calls(calls))
    assert n == 9
    again = run_attribution(
        "nov20", SEEDS[:3], out, classes=("dealers", "cta"), workers=1, runner=RUNNER, progress=False
    )
    assert len(read_calls(calls)) == n
    pd.testing.assert_frame_equal(again, first)


def test_failed_knockouts_lose_their_pairs(tmp_path):
    table = run_attribution(
        "nov20",
        SEEDS[:3],
        tmp_path / "a",
        classes=("dealers", "nosuchclass"),
        workers=1,
        runner=RUNNER,
        progress=False,
    )
    bad = table[table["class"] == "nosuchclass"]
    assert (bad["n"] == 0).all() and (bad["n_missing"] == 3).all() and bad["mean"].isna().all()
    good = table[table["class"] == "dealers"]
    assert (good["n"] == 3).all() and good["mean"].notna().all()


def test_one_seed_gives_a_mean_without_interval():
    out = paired_contribution(np.array([3.0]), np.array([1.0]))
    assert out["mean"] == 2.0 and out["n"] == 1 and math.isnan(out["ci_low"]) and math.isnan(out["ci_high"])
    empty = paired_contribution(np.array([]), np.array([]))
    assert empty["n"] == 0 and math.isnan(empty["mean"])
    skip_nan = paired_contribution(np.array([1.0, np.nan, 3.0]), np.array([0.0, 1.0, 1.0]))
    assert skip_nan["n"] == 2 and skip_nan["mean"] == 1.5


def test_table_pairs_by_seed_not_by_row_order():
    runs = pd.DataFrame(
        {
            "seed": [1, 2, 2, 1],
            "status": ["ok"] * 4,
            "dealers.enabled": [None, None, False, False],
            "max_drawdown_pct": [5.0, 7.0, 6.0, 1.0],
        }
    )
    table = attribution_table(runs, classes=("dealers",), metrics=("max_drawdown_pct",))
    row = table.iloc[0]
    assert row["n"] == 2 and row["mean"] == pytest.approx(((5 - 1) + (7 - 6)) / 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"classes": ()}, "no agent classes"),
        ({"classes": ("a b",)}, "not a scenario table name"),
        ({"classes": ("cta", "cta")}, "repeat"),
        ({"confidence": 1.5}, "confidence"),
        ({"overrides": ["cta.enabled=false"]}, "both swept and fixed"),
    ],
)
def test_bad_attribution_arguments(tmp_path, kwargs, message):
    out = tmp_path / "never"
    with pytest.raises(SweepConfigError, match=message):
        run_attribution("nov20", SEEDS, out, workers=1, runner=RUNNER, progress=False, **kwargs)
    assert not out.exists()


def test_cli_attribute(tmp_path, capsys):
    out = tmp_path / "a"
    code = main(
        [
            "attribute",
            "nov20",
            "--seeds",
            "4",
            "--classes",
            "dealers,dip_buyers",
            "--workers",
            "1",
            "--runner",
            RUNNER,
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    stdout = capsys.readouterr().out
    assert code == 0
    assert "12 runs (12 ok, 0 error" in stdout and "dealers" in stdout and "dip_buyers" in stdout
    assert (out / "attribution.parquet").is_file() and (out / "attribution.json").is_file()
