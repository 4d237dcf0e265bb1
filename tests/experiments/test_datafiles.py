"""Scenario inputs from data files: option positions and CTA daily closes from CSV, one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.config import SCENARIO_DIR, load_scenario, scenario_toml
from experiments.config_io import ConfigError

DATA = SCENARIO_DIR / "data"


def _scenario(tmp_path: Path, extra: str) -> Path:
    """A small scenario with CTAs, plus ``extra`` ("options lines||cta lines"), next to copies of the data."""
    opt, _, cta = extra.partition("||")
    body = (
        'name = "files"\nprev_close_points = 6642.16\n[market]\nsession_end_s = 60.0\n'
        f"[options]\n{opt}"
        f"[cta]\nenabled = true\nlookbacks_days = [20, 60, 120]\n{cta}"
    )
    (tmp_path / "data").mkdir(exist_ok=True)
    for f in DATA.glob("*.csv"):
        shutil.copy(f, tmp_path / "data" / f.name)
    path = tmp_path / "scen.toml"
    path.write_text(body)
    return path


FILES = (
    'positions_file = "data/nov20_positions.csv"\npositions_as_of = "2025-11-20"\n'
    '||daily_closes_file = "data/nov20_daily_closes.csv"\n'
)


NOV20_BOOK = [  # nov20_2025's [[options.positions]] when the sample file was written
    (97.5, 1, "put", 1300), (99.0, 1, "put", 1040), (100.5, 1, "put", 650),
    (95.5, 29, "put", 1950), (101.5, 1, "call", 97), (102.5, 1, "call", 97),
]  # fmt: skip


def test_shipped_sample_files_load(tmp_path):
    cfg = load_scenario(_scenario(tmp_path, FILES))
    got = [(round(p.strike_pct, 9), p.expiry_day, p.kind, p.customer_qty) for p in cfg.options.positions]
    assert got == NOV20_BOOK
    closes = cfg.cta.daily_closes
    assert len(closes) == 130 and closes[0] == 6025.63 and closes[-1] == 6642.16
    # the resolved scenario holds plain values (no file keys) and re-loads to the same config
    text = scenario_toml(cfg)
    assert "positions_file" not in text and "daily_closes_file" not in text
    (tmp_path / "resolved.toml").write_text(text)
    assert load_scenario(tmp_path / "resolved.toml") == cfg


def test_positions_scale_applies_to_inline_and_file_positions(tmp_path):
    base = load_scenario("nov20_2025")
    assert base.options.positions
    half = load_scenario("nov20_2025", ["options.positions_scale=0.5"])
    assert [p.customer_qty for p in half.options.positions] == [
        round(p.customer_qty * 0.5) for p in base.options.positions
    ]
    path = _scenario(tmp_path, FILES.replace("||", "positions_scale = 2.0\n||"))
    assert [p.customer_qty for p in load_scenario(path).options.positions] == [2 * b[3] for b in NOV20_BOOK]


def test_strike_pct_and_expiry_day_columns(tmp_path):
    (tmp_path / "oi.csv").write_text(
        "strike_pct,expiry_day,put_call,customer_qty,ignored\n97,1,put,10,x\n103,0,c,-5,y\n"
    )
    path = _scenario(
        tmp_path, 'positions_file = "oi.csv"\n||daily_closes_file = "data/nov20_daily_closes.csv"\n'
    )
    pos = load_scenario(path).options.positions
    assert [(p.strike_pct, p.expiry_day, p.kind, p.customer_qty) for p in pos] == [
        (97.0, 1, "put", 10),
        (103.0, 0, "call", -5),
    ]


@pytest.mark.parametrize(
    "csv, extra, needle",
    [
        (None, 'positions_file = "missing.csv"\n', "no such file"),
        ("strike,expiry_day,put_call\n6500,1,P\n", "", "customer_qty"),
        (
            "strike,expiry_day,put_call,customer_qty\n6500,1,X,10\n",
            "",
            "row 2 put_call: must be P, C, put or call",
        ),
        (
            "strike,expiry_day,put_call,customer_qty\nabc,1,P,10\n",
            "",
            "row 2 strike: must be a finite number",
        ),
        ("strike,expiry,put_call,customer_qty\n6500,2025-11-21,P,10\n", "", "positions_as_of"),
        (
            "strike,expiry,put_call,customer_qty\n6500,2025-11-19,P,10\n",
            'positions_as_of = "2025-11-20"\n',
            "before",
        ),
        ("strike,expiry_day,put_call,customer_qty\n6500,1.5,P,10\n", "", "whole number of days"),
        ("expiry_day,put_call,customer_qty\n1,P,10\n", "", "'strike'"),
    ],
)
def test_bad_positions_files_one_line_errors(tmp_path, csv, extra, needle):
    if csv is not None:
        (tmp_path / "oi.csv").write_text(csv)
    line = extra if csv is None else 'positions_file = "oi.csv"\n' + extra
    path = _scenario(tmp_path, line + '||daily_closes_file = "data/nov20_daily_closes.csv"\n')
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = str(err.value)
    assert text.startswith("options.positions_file") or text.startswith("options.positions_as_of"), text
    assert needle in text and "\n" not in text


@pytest.mark.parametrize(
    "csv, needle",
    [
        ("date,close\n2025-01-02,6000\n2025-01-02,6001\n", "appears twice"),
        ("date,price\n2025-01-02,6000\n", "needs columns 'date' and 'close'"),
        ("date,close\n2025-13-02,6000\n", "must be a date"),
        ("date,close\n2025-01-02,-1\n", "must be > 0"),
    ],
)
def test_bad_closes_files(tmp_path, csv, needle):
    (tmp_path / "c.csv").write_text(csv)
    path = _scenario(tmp_path, '||daily_closes_file = "c.csv"\n')
    with pytest.raises(ConfigError, match="cta.daily_closes_file") as err:
        load_scenario(path)
    assert needle in str(err.value)


def test_closes_are_sorted_by_date_and_too_few_is_the_usual_error(tmp_path):
    (tmp_path / "c.csv").write_text("date,close\n2025-01-03,6001\n2025-01-02,6000\n")
    path = _scenario(tmp_path, '||daily_closes_file = "c.csv"\n')
    with pytest.raises(ConfigError, match=r"cta.daily_closes: needs at least max\(cta.lookbacks_days\)"):
        load_scenario(path)
    cfg = load_scenario(path, ["cta.lookbacks_days=[2]"])
    assert cfg.cta.daily_closes == (6000.0, 6001.0)


def test_both_inline_and_file_closes_is_an_error_and_cli_says_one_line(tmp_path, capsys):
    path = _scenario(tmp_path, '||daily_closes_file = "data/nov20_daily_closes.csv"\ndaily_closes = [1.0]\n')
    assert main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cascade: error: cta.daily_closes_file") and "not both" in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_positions_scale_minus_one_flips_the_dealers_to_long_gamma():
    from market.options_desk import OptionsDesk

    def gamma(overrides):
        cfg = load_scenario("nov20_2025", overrides)
        desk = OptionsDesk.from_params(cfg.options.desk_params(), cfg.prev_close_points, 0.0)
        return desk.exposures(cfg.prev_close_points, 0.0).gamma_usd_per_pct

    short, flipped = gamma([]), gamma(["options.positions_scale=-1"])
    assert short < 0 < flipped
    assert flipped == pytest.approx(-short, rel=1e-9)
