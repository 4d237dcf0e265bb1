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
