"""benchmarks/nov20_acceptance.py: the knock-outs follow the ``--set`` overrides they run on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from experiments.config_errors import ConfigError

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "nov20_acceptance.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("nov20_acceptance", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dip_capital_x10_is_ten_times_the_overridden_capital(bench):
    shipped = bench.variants("nov20_2025_stops")["dip capital x10"]["dip_buyers.capital_usd"]
    assert shipped == pytest.approx(10 * 3.0e8)
    overridden = bench.variants("nov20_2025_stops", ("dip_buyers.capital_usd=1e9",))
    assert overridden["dip capital x10"]["dip_buyers.capital_usd"] == pytest.approx(1e10)
    assert overridden["as shipped"] == {}  # the overrides themselves go to run_sweep, not the points


def test_long_gamma_flips_the_scaled_book(bench):
    """The knock-out's scale replaces the overridden one, so it must keep its size: x1.5 -> x-1.5."""
    from experiments.config import load_scenario

    shipped = bench.variants("nov20_2025_protected")["dealers long gamma"]
    assert shipped == {"options.positions_scale": -1.0}
    scaled = bench.variants("nov20_2025_protected", ("options.positions_scale=1.5",))
    point = scaled["dealers long gamma"]
    assert point == {"options.positions_scale": -1.5}
    full = load_scenario("nov20_2025_protected", ["options.positions_scale=1.5"]).options.positions
    flipped = load_scenario("nov20_2025_protected", ["options.positions_scale=-1.5"]).options.positions
    assert [p.customer_qty for p in flipped] == [-p.customer_qty for p in full]


def test_a_bad_override_is_refused_with_the_key(bench, tmp_path):
    with pytest.raises(ConfigError, match="no_such_key"):
        bench.main(["--scenario", "nov20_2025_stops", "--seeds", "1", "--set", "dealers.no_such_key=1",
                    "--out", str(tmp_path / "acc")])
    assert not (tmp_path / "acc").exists()  # refused before any run


def test_a_variant_that_sets_an_overridden_key_runs_with_its_own_value(bench, tmp_path, capsys):
    overrides = ("dip_buyers.capital_usd=1e9", "dealers.max_participation=0.05")
    x10 = bench.variants("nov20_2025_stops", overrides)["dip capital x10"]
    assert bench.fixed_overrides(overrides, x10) == ("dealers.max_participation=0.05",)
    assert bench.fixed_overrides(overrides, {}) == overrides
    # end to end: the sweep used to refuse the x10 run ("both swept and fixed by an override")
    assert bench.main(["--scenario", "nov20_2025_stops", "--seeds", "1", "--workers", "1",
                       "--set", overrides[0], "--out", str(tmp_path / "acc")]) == 0
    printed = capsys.readouterr().out
    assert "dip capital x10" in printed and "expected lines met by a set of 1 seeds" in printed


def _runs(n: int, close: list[float]) -> dict:
    """Finished runs of every variant: the full model's closes as given, everything else passing."""
    import pandas as pd

    def frame(drawdown: float, closes: list[float]) -> pd.DataFrame:
        return pd.DataFrame({
            "seed": range(n), "status": "ok", "open_return_pct": 1.0, "high_time_s": 3600.0,
            "close_return_pct": closes, "range_pct": 3.5, "close_location": 0.1, "rebound_share": 0.1,
            "fall_duration_min": 240.0, "max_drawdown_pct": drawdown,
        })  # fmt: skip

    return {"as shipped": frame(4.0, close), "dip capital x10": frame(1.0, [0.0] * n),
            "spark alone": frame(1.0, [0.0] * n), "dealers long gamma": frame(1.0, [0.0] * n)}  # fmt: skip


def test_resampled_shares_count_the_seed_sets_that_meet_each_line(bench):
    runs = _runs(20, [-2.0] * 20)
    checks = bench.acceptance_checks(runs)
    assert all(line.met for line in checks)
    assert (bench.resampled_shares(runs, 50, 20) == 1.0).all()
    # half the days close at -2%, half at 0%: the median close is -1%, met in about half the resamples
    half = _runs(20, [-2.0] * 10 + [0.0] * 10)
    labels = [line.label for line in bench.acceptance_checks(half)]
    shares = bench.resampled_shares(half, 400, 20)
    close = shares[labels.index("close <= -1.0%")]
    assert 0.35 < close < 0.65
    assert shares[labels.index("range 2.5-5%")] == 1.0
    assert (bench.resampled_shares(half, 400, 20) == shares).all()  # a fixed stream: reproducible


def test_the_interval_of_a_line_brackets_its_value_and_straddles_a_bound_it_does_not_decide(bench):
    import numpy as np

    half = _runs(40, [-2.0] * 20 + [0.0] * 20)  # median close -1.0: on the bound
    labels = [line.label for line in bench.acceptance_checks(half)]
    lo, hi = np.quantile(bench.resampled_values(half, 400), [0.025, 0.975], axis=0)
    i = labels.index("close <= -1.0%")
    assert lo[i] < -1.0 < hi[i]
    clear = _runs(40, [-2.0] * 40)
    lo, hi = np.quantile(bench.resampled_values(clear, 400), [0.025, 0.975], axis=0)
    assert lo[i] == hi[i] == -2.0  # every seed closes at -2%: nothing to resample


def test_the_runaway_line_allows_a_tenth_of_the_seeds(bench):
    runs = _runs(40, [-2.0] * 40)
    runs["as shipped"].loc[:3, "max_drawdown_pct"] = 9.0  # 4 of 40 beyond 8%: allowed
    line = bench.acceptance_checks(runs)[-1]
    assert line.met and line.shown == "4" and "4 of 40" in line.label
    runs["as shipped"].loc[4, "max_drawdown_pct"] = 9.0  # 5 of 40: not
    assert not bench.acceptance_checks(runs)[-1].met


def test_the_typical_day_is_the_seed_closest_to_the_medians_in_iqr_units(bench):
    import numpy as np
    import pandas as pd

    cols = ("open_return_pct", "close_return_pct", "fall_duration_min")
    runs = pd.DataFrame({
        "seed": [10, 11, 12, 13, 14],
        "open_return_pct": [0.5, 1.0, 1.5, 2.0, 1.0],
        "close_return_pct": [-3.0, -2.0, -1.5, -1.0, -0.5],
        "fall_duration_min": [100.0, 200.0, 240.0, 300.0, 200.0],
    })  # fmt: skip
    # medians 1.0 / -1.5 / 200, IQRs 0.5 / 1.0 / 40: seed 11 is 0 + 0.5 + 0 = 0.5 away, seed 14
    # 0 + 1.0 + 0 = 1.0, seed 12 1.0 + 0 + 1.0 = 2.0
    assert bench.typical_seed(runs, cols) == 11
    # seed 11 closes far down: close IQR 2.0, seed 11 is 1.0 away, seed 14 0.5
    runs.loc[runs["seed"] == 11, "close_return_pct"] = -3.5
    assert bench.typical_seed(runs, cols) == 14
    runs["open_return_pct"] = 1.0  # no spread: the column is left out, the answer stands
    assert bench.typical_seed(runs, cols) == 14
    runs.loc[runs["seed"] == 14, "fall_duration_min"] = np.nan  # a missing value: the run is skipped
    assert bench.typical_seed(runs, cols) != 14
    with pytest.raises(ValueError, match="no run has every one"):
        bench.typical_seed(runs.iloc[:0], cols)


def _store(bench, out: Path, scenario: str, seeds: list[int], overrides: tuple[str, ...] = ()) -> None:
    """Write each variant's sweep folder as ``run_sweep`` leaves it (sweep.json, runs.parquet)."""
    import json

    import pandas as pd

    from experiments.sweep import DEFAULT_RUNNER
    from experiments.sweep.spec import build_spec

    for name, point in bench.variants(scenario, overrides).items():
        folder = bench.variant_dir(out, name)
        folder.mkdir(parents=True)
        fixed = bench.fixed_overrides(overrides, point)
        spec = build_spec(scenario, [point], seeds, fixed, DEFAULT_RUNNER, None)
        (folder / "sweep.json").write_text(json.dumps(spec))
        n = len(seeds)
        pd.DataFrame({
            "seed": seeds, "status": "ok", "open_return_pct": 1.0, "high_return_pct": 2.0,
            "high_time_s": 3600.0, "low_time_s": 20000.0, "close_return_pct": [-2.0] * n, "range_pct": 3.5,
            "close_location": 0.1, "rebound_share": 0.1, "fall_duration_min": 240.0,
            "steepest_30min_share": 0.5, "max_drawdown_pct": 4.0 if name == "as shipped" else 1.0,
            "runtime_s": 1.0,
        }).to_parquet(folder / "runs.parquet")  # fmt: skip


def test_stored_reports_on_a_seed_range_of_an_earlier_run_and_refuses_what_it_lacks(bench, tmp_path, capsys):
    out = tmp_path / "acc"
    _store(bench, out, "nov20_2025_stops", list(range(10)))
    args = ["--scenario", "nov20_2025_stops", "--stored", "--out", str(out), "--resamples", "20"]
    assert bench.main([*args, "--first-seed", "4", "--seeds", "6"]) == 0
    printed = capsys.readouterr().out
    assert "seeds 4-9" in printed and "met      [100%]  close <= -1.0%: -2.00%" in printed
    with pytest.raises(SystemExit):
        bench.main([*args, "--first-seed", "8", "--seeds", "4"])  # seeds 10 and 11 never ran
    assert "lacks 2 of the seeds asked (first 10)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main([*args, "--seeds", "4", "--set", "dip_buyers.capital_usd=1e9"])  # other overrides
    assert "holds runs with another overrides" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        bench.variant_dir(out, n).name for n in bench.variants("nov20_2025_stops"))  # nothing new ran


def test_no_spark_silences_the_news_after_the_open_and_only_that(bench):
    from experiments.config import load_scenario

    point = bench.variants("nov20_2025_protected")["no spark"]
    quiet = load_scenario("nov20_2025_protected", [f"{k}={v}" for k, v in point.items()])
    shipped = load_scenario("nov20_2025_protected")
    for before, after in zip(shipped.events, quiet.events, strict=True):
        if before.t_s > 0:
            assert (after.value_shift_pct, after.sentiment_shift, after.activity_boost) == (0, 0, 0)
            assert after.resolves == before.resolves
        else:  # the morning news and the cash open are untouched
            assert after == before
    assert any(e.t_s > 0 and e.value_shift_pct < 0 for e in shipped.events)  # there was a spark to silence
    assert "no spark" not in bench.variants("calm")  # no news after the open: no variant


def test_the_spark_part_compares_the_medians_without_the_spark(bench):
    import pandas as pd

    runs = _runs(20, [-2.0] * 20)
    assert bench.spark_part(runs) is None  # not run: nothing printed
    runs["no spark"] = pd.DataFrame({"seed": range(20), "max_drawdown_pct": [3.0] * 20,
                                     "close_return_pct": [-0.5] * 20, "fall_duration_min": [100.0] * 20})
    text = bench.spark_part(runs)
    assert "drawdown 3.00% (0.75 of the full model's 4.00%)" in text
    assert "close -0.50% (-2.00%)" in text and "fall 100 min (240)" in text
    assert "days drawing down > 2.5%: 20 of 20 (20 of 20 with it)" in text
    runs["no spark"].loc[:14, "max_drawdown_pct"] = 1.0  # 15 quiet days without the spark
    assert "> 2.5%: 5 of 20 (20 of 20 with it)" in bench.spark_part(runs)
