"""Old import path of :mod:`experiments.sweep.designs` (grids, random and Latin-hypercube points, seeds)."""

from experiments.sweep.designs import (
    DOTTED_KEY,
    Range,
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

__all__ = [
    "DOTTED_KEY",
    "Range",
    "build_points",
    "format_value",
    "grid",
    "latin_hypercube",
    "parse_grid_spec",
    "parse_range_spec",
    "parse_value",
    "point_overrides",
    "seeds_for",
    "uniform_random",
]
