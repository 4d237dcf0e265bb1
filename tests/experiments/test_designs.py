"""Experiment designs: grids, random and Latin-hypercube points, seeds, spec errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.designs import (
    build_points,
    format_value,
    grid,
    latin_hypercube,
    parse_grid_spec,
    parse_range_spec,
    parse_value,
    point_overrides,
    seeds_for,
    uniform_random,
)


def test_grid_is_cartesian_product_first_spec_slowest():
    points = grid(["a.x=1,2,3", "b=true,false"])
    assert points == [
        {"a.x": 1, "b": True},
        {"a.x": 1, "b": False},
        {"a.x": 2, "b": True},
        {"a.x": 2, "b": False},
        {"a.x": 3, "b": True},
        {"a.x": 3, "b": False},
    ]


def test_grid_values_are_toml_literals_or_bare_words():
    key, values = parse_grid_spec('k=1, 2.5, 1e9, true, fast, "a,b", [1, 2], -3')
    assert key == "k"
    assert values == [1, 2.5, 1e9, True, "fast", "a,b", [1, 2], -3]
    assert [type(v) for v in values[:4]] == [int, float, float, bool]


def test_empty_grid_means_one_point():
    assert grid([]) == [{}]
    assert build_points() == [{}]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x=", "empty grid"),
        ("x=   ", "empty grid"),
        ("x", "malformed grid spec"),
        ("=1,2", "malformed grid spec"),
        ("x=1,,2", "empty value"),
        ("a b=1", "not a dotted key"),
        ("a..b=1", "not a dotted key"),
    ],
)
def test_bad_grid_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        grid([spec])


def test_repeated_grid_key_rejected():
    with pytest.raises(ValueError, match="more than one spec"):
        grid(["x=1,2", "x=3"])


def test_range_specs():
    r = parse_range_spec("surface.atm_vol=0.12:0.3")
    assert (r.key, r.lo, r.hi, r.integer) == ("surface.atm_vol", 0.12, 0.3, False)
    r = parse_range_spec("cta.lookback_days=10:60:int")
    assert (r.lo, r.hi, r.integer) == (10, 60, True)
    assert not parse_range_spec("x=0:1").integer  # integer-looking bounds still mean floats


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x=2:1", "lo must be < hi"),
        ("x=1:1", "lo must be < hi"),
        ("x=1", "malformed range spec"),
        ("x=1:2:3", "malformed range spec"),
        ("x=:2", "malformed range spec"),
        ("x=a:b", "not a finite number"),
        ("x=true:2", "not a finite number"),
        ("x=-inf:2", "not a finite number"),
        ("x=0.5:2:int", "integer bounds"),
        ("1x y=0:1", "not a dotted key"),
    ],
)
def test_bad_range_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_range_spec(spec)


def test_lhs_has_one_point_per_stratum_in_every_dimension():
    n = 25
    specs = ["a=0:1", "b=-5:5", "c=100:200"]
    points = latin_hypercube(specs, n, root_seed=11)
    assert len(points) == n
    for key, lo, hi in [("a", 0, 1), ("b", -5, 5), ("c", 100, 200)]:
        vals = np.array([p[key] for p in points])
        assert np.all((vals >= lo) & (vals < hi))
        strata = np.floor((vals - lo) / (hi - lo) * n).astype(int)
        assert sorted(strata) == list(range(n)), key


def test_lhs_integer_range_hits_every_integer_once():
    points = latin_hypercube(["k=0:9:int"], 10, root_seed=3)
    assert sorted(p["k"] for p in points) == list(range(10))
    assert all(type(p["k"]) is int for p in points)


def test_independent_uniform_draws_are_not_stratified_but_in_range():
    points = uniform_random(["a=0:1"], 200, root_seed=5)
    vals = np.array([p["a"] for p in points])
    assert vals.min() >= 0 and vals.max() < 1
    strata = np.floor(vals * 200).astype(int)
    assert len(set(strata)) < 200  # a plain random sample leaves strata empty (an LHS would not)
    assert all(type(v) is float for v in vals.tolist())


def test_sampled_designs_are_reproducible_per_root_seed():
    for design in (latin_hypercube, uniform_random):
        a = design(["x=0:1", "y=0:10"], 8, root_seed=42)
        assert a == design(["x=0:1", "y=0:10"], 8, root_seed=42)
        assert a != design(["x=0:1", "y=0:10"], 8, root_seed=43)


def test_seeds_for_uses_seed_sequence_and_is_independent_of_points():
    seeds = seeds_for(7, 6)
    assert seeds == [int(s) for s in np.random.SeedSequence(7).generate_state(6)]
    assert len(set(seeds)) == 6 and all(type(s) is int for s in seeds)
    assert seeds_for(7, 3) == seeds[:3]
    assert seeds_for(8, 6) != seeds


@pytest.mark.parametrize(("root", "n"), [(-1, 3), (0, 0), (1.5, 2), (True, 2)])
def test_seeds_for_rejects_bad_input(root, n):
    with pytest.raises(ValueError):
        seeds_for(root, n)


def test_build_points_grid_times_lhs():
    points = build_points(["g=1,2"], ["a=0:1", "b=0:1"], lhs=4, root_seed=1)
    assert len(points) == 8
    assert [p["g"] for p in points] == [1, 1, 1, 1, 2, 2, 2, 2]
    first, second = points[:4], points[4:]
    assert [(p["a"], p["b"]) for p in first] == [(p["a"], p["b"]) for p in second]


def test_build_points_drops_repeated_integer_draws():
    points = build_points([], ["k=0:2:int"], n=50, root_seed=0)
    assert sorted(p["k"] for p in points) == [0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"range_specs": ["a=0:1"]}, "--lhs N or --n N"),
        ({"range_specs": ["a=0:1"], "lhs": 3, "n": 3}, "not both"),
        ({"lhs": 3}, "at least one range"),
        ({"grid_specs": ["a=1,2"], "range_specs": ["a=0:1"], "n": 2}, "both in a grid and in a range"),
        ({"range_specs": ["a=0:1"], "n": 0}, "positive integer"),
    ],
)
def test_build_points_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_points(**kwargs)


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        0,
        -7,
        2**40,
        0.1,
        1e-300,
        1e20,
        -2.5,
        math.inf,
        -math.inf,
        "fast",
        'quo"te\\',
        "a,b",
        "line\nbreak",
        [1, 2.5, "x"],
        np.float64(0.3),
        np.int64(3),
    ],
)
def test_format_value_round_trips_through_parse_value(value):
    back = parse_value(format_value(value))
    expected = value.item() if isinstance(value, np.generic) else value
    assert back == expected and type(back) is type(expected)


def test_nan_and_none():
    assert math.isnan(parse_value(format_value(math.nan)))
    with pytest.raises(ValueError):
        format_value(None)


def test_point_overrides_sorted_and_canonical():
    assert point_overrides({"b": 1.0, "a.c": "x", "a.b": False}) == ("a.b=false", 'a.c="x"', "b=1.0")
