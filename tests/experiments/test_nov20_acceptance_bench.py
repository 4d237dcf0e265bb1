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
    assert "dip capital x10" in capsys.readouterr().out
