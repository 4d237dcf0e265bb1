"""Experiment designs for sweeps: grids, uniform random points, Latin hypercubes, and run seeds.

A design is a list of *points*; a point is a dict mapping a dotted scenario key (the same keys as
``--set dotted.key=value``) to a value. Every point is run with the same list of seeds, so two points
can be compared seed by seed (paired comparisons: common random numbers).

Specs, as typed on the command line:

* grid ``key=v1,v2,...``: values are TOML literals (``1``, ``2.5e9``, ``true``, ``"text"``,
  ``[1, 2]``); a bare word (``fast``) is taken as a string. Commas inside quotes or brackets do not
  split. Several grid specs make a cartesian product (first spec varies slowest).
* range ``key=lo:hi``: a uniform range of floats in ``[lo, hi)`` for random and Latin-hypercube
  designs; ``key=lo:hi:int`` draws integers in ``[lo, hi]`` (both ends included). Duplicate points,
  which integer ranges can produce, are dropped by :func:`build_points`.

Randomness: nothing here touches global random state. Design draws come from a generator built from
``numpy.random.SeedSequence(root_seed).spawn(1)[0]``; run seeds come from
``SeedSequence(root_seed).generate_state(n)``, so the two never share a stream.

Example::

    points = grid(["dip_buyers.capital_usd=5e8,1e9,2e9", "cta.enabled=true,false"])  # 6 points
    points = latin_hypercube(["surface.atm_vol=0.12:0.30"], n=20, root_seed=7)
    seeds = seeds_for(root_seed=7, n=10)  # the same 10 seeds for every point
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.config_io import parse_value as parse_override_value

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

# A dotted key as accepted by ``experiments.config_io.apply_overrides``: names separated by dots,
# each optionally indexed, e.g. ``events[1].time_s`` or ``dealers.enabled``.
DOTTED_KEY = re.compile(r"[^.\[\]=\s,:]+(\[\d+\])*(\.[^.\[\]=\s,:]+(\[\d+\])*)*")
_MAX_POINTS = 1_000_000


@dataclass(frozen=True, slots=True)
class Range:
    """A parameter range ``key=lo:hi`` for random and Latin-hypercube designs.

    Attributes:
        key: Dotted scenario key.
        lo: Lower bound (included).
        hi: Upper bound (excluded for floats, included for integers); ``hi > lo``.
        integer: Draw integers (spec ``key=lo:hi:int``; both bounds must be integers).
    """

    key: str
    lo: float
    hi: float
    integer: bool = False

    def scale(self, u: np.ndarray) -> list[Any]:
        """Map uniform numbers in ``[0, 1)`` onto this range.

        Args:
            u: Uniform numbers in ``[0, 1)``, any shape.

        Returns:
            Plain Python values (``int`` or ``float``), one per element of ``u`` (flattened).
        """
        u = np.asarray(u, dtype=float).ravel()
        if self.integer:
            lo, hi = int(self.lo), int(self.hi)
            vals = np.minimum(lo + np.floor(u * (hi - lo + 1)), hi).astype(np.int64)
            return [int(v) for v in vals]
        return [float(v) for v in self.lo + u * (self.hi - self.lo)]


def parse_value(raw: str) -> Any:
    """Parse one value as a TOML literal; a bare word that is not valid TOML stays a string.

    The same parser as ``--set`` (``experiments.config_io``), after stripping blanks and refusing an
    empty value.

    Args:
        raw: Text such as ``2.5``, ``1e9``, ``true``, ``"quoted"``, ``[1, 2]`` or ``fast``.

    Returns:
        The parsed value (int, float, bool, str, list or dict).

    Raises:
        ValueError: If ``raw`` is empty.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty value")
    return parse_override_value(text)  # the --set parser: a sweep point means what --set means


def format_value(value: Any) -> str:
    """Format a value as a TOML literal that :func:`parse_value` reads back unchanged.

    Args:
        value: bool, int, float, str, or a list/tuple of those (numpy scalars are accepted).

    Returns:
        The TOML text, e.g. ``true``, ``5``, ``0.25``, ``"fast"``, ``[1, 2]``.

    Raises:
        ValueError: For a type that has no TOML literal (e.g. ``None``).
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # 'inf', '-inf', '1e+20' and shortest round-trip digits are valid TOML
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    raise ValueError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")


def point_overrides(point: dict[str, Any]) -> tuple[str, ...]:
    """Turn a point into ``dotted.key=value`` override strings, sorted by key.

    Args:
        point: Mapping of dotted key to value.

    Returns:
        A tuple of override strings, sorted by key (the canonical order used for run ids).
    """
    return tuple(f"{key}={format_value(point[key])}" for key in sorted(point))


def _split_key(spec: str, what: str, example: str) -> tuple[str, str]:
    key, sep, rest = spec.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"malformed {what} {spec!r}: expected {example}")
    if not DOTTED_KEY.fullmatch(key):
        raise ValueError(f"malformed {what} {spec!r}: {key!r} is not a dotted key like dealers.enabled")
    return key, rest


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside quotes, brackets or braces."""
    parts: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def parse_grid_spec(spec: str) -> tuple[str, list[Any]]:
    """Parse a grid spec ``key=v1,v2,...``.

    Args:
        spec: The spec text, e.g. ``dip_buyers.capital_usd=5e8,1e9,2e9``.

    Returns:
        ``(key, values)`` with the values parsed by :func:`parse_value`; repeated values (equal
        numbers such as ``100`` and ``100.0``, or identical text) are merged, the first kept.

    Raises:
        ValueError: For a missing ``=``, a bad key, an empty value list or an empty value.
    """
    example = "key=v1,v2,... e.g. dip_buyers.capital_usd=5e8,1e9"
    key, rest = _split_key(spec, "grid spec", example)
    if not rest.strip():
        raise ValueError(f"empty grid {spec!r}: give at least one value, e.g. {key}=1,2")
    values = []
    seen = set()
    for part in _split_top_level(rest):
        if not part.strip():
            raise ValueError(f"malformed grid spec {spec!r}: empty value between commas")
        value = parse_value(part)
        if (identity := _value_identity(value)) not in seen:  # 100 and 100.0 are one point
            seen.add(identity)
            values.append(value)
    return key, values


def _value_identity(value: Any) -> tuple[str, Any]:
    """What makes two grid values the same point: equal numbers (not bools), else type and repr."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            return ("number", int(value))
        return ("number", value)
    return (type(value).__name__, repr(value))


def parse_range_spec(spec: str) -> Range:
    """Parse a range spec ``key=lo:hi`` (floats) or ``key=lo:hi:int`` (integers).

    Args:
        spec: The spec text, e.g. ``surface.atm_vol=0.12:0.30`` or ``cta.lookback_days=10:60:int``.

    Returns:
        The :class:`Range`.

    Raises:
        ValueError: For a malformed spec, non-numeric or non-finite bounds, or ``lo >= hi``.
    """
    example = "key=lo:hi or key=lo:hi:int, e.g. surface.atm_vol=0.12:0.30"
    key, rest = _split_key(spec, "range spec", example)
    parts = rest.split(":")
    integer = len(parts) == 3 and parts[2].strip() == "int"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not integer) or not all(p.strip() for p in parts):
        raise ValueError(f"malformed range spec {spec!r}: expected {example}")
    lo_text, hi_text = parts[0], parts[1]
    bounds = []
    for text in (lo_text, hi_text):
        value = parse_value(text)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"malformed range spec {spec!r}: {text.strip()!r} is not a finite number")
        bounds.append(value)
    lo, hi = bounds
    if integer and not all(isinstance(b, int) for b in bounds):
        raise ValueError(f"bad range spec {spec!r}: an :int range needs integer bounds")
    if lo >= hi:
        raise ValueError(f"bad range spec {spec!r}: lo must be < hi (got {lo} >= {hi})")
    return Range(key, float(lo), float(hi), integer)


def _check_unique(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"parameter {key!r} appears in more than one spec")
        seen.add(key)


def grid(specs: Sequence[str]) -> list[dict[str, Any]]:
    """Cartesian product of grid specs (the first spec varies slowest).

    Args:
        specs: Grid specs ``key=v1,v2,...``; no key may repeat.

    Returns:
        The points; ``[{}]`` (one point: the scenario as is) when ``specs`` is empty.

    Raises:
        ValueError: For a malformed spec, a repeated key, or a design of more than 1e6 points.
    """
    parsed = [parse_grid_spec(s) for s in specs]
    _check_unique([k for k, _ in parsed])
    size = math.prod(len(v) for _, v in parsed)
    if size > _MAX_POINTS:
        raise ValueError(f"grid of {size} points is too large (at most {_MAX_POINTS})")
    keys = [k for k, _ in parsed]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in parsed))]


def _design_rng(root_seed: int) -> np.random.Generator:
    """Generator for design draws: child 0 of ``SeedSequence(root_seed)`` (distinct from run seeds)."""
    return np.random.default_rng(np.random.SeedSequence(_check_seed(root_seed)).spawn(1)[0])


def _check_seed(root_seed: int) -> int:
    if isinstance(root_seed, bool) or not isinstance(root_seed, int | np.integer) or root_seed < 0:
        raise ValueError(f"root seed must be a non-negative integer, got {root_seed!r}")
    return int(root_seed)


def _check_n(n: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    if n > _MAX_POINTS:
        raise ValueError(f"{what} = {n} is too large (at most {_MAX_POINTS})")
    return int(n)


def _ranges(specs: Sequence[str]) -> list[Range]:
    if not specs:
        raise ValueError("a random or Latin-hypercube design needs at least one range key=lo:hi")
    ranges = [parse_range_spec(s) for s in specs]
    _check_unique([r.key for r in ranges])
    return ranges


def _to_points(ranges: list[Range], u: np.ndarray) -> list[dict[str, Any]]:
    columns = [r.scale(u[:, j]) for j, r in enumerate(ranges)]
    return [{r.key: col[i] for r, col in zip(ranges, columns, strict=True)} for i in range(u.shape[0])]


def uniform_random(specs: Sequence[str], n: int, root_seed: int = 0) -> list[dict[str, Any]]:
    """``n`` points drawn independently and uniformly over the ``key=lo:hi`` ranges.

    Args:
        specs: Range specs ``key=lo:hi``.
        n: Number of points (>= 1).
        root_seed: Root of the ``SeedSequence``; the same root gives the same points.

    Returns:
        The points (plain Python ints/floats).

    Raises:
        ValueError: For no or malformed specs, ``lo >= hi``, or a bad ``n`` / ``root_seed``.
    """
    ranges = _ranges(specs)
    n = _check_n(n, "number of random points")
    u = _design_rng(root_seed).random((n, len(ranges)))
    return _to_points(ranges, u)


def latin_hypercube(specs: Sequence[str], n: int, root_seed: int = 0) -> list[dict[str, Any]]:
    """``n`` points of a Latin hypercube over the ``key=lo:hi`` ranges.

    Each range is cut into ``n`` equal strata and every stratum holds exactly one point (for integer
    ranges this holds up to rounding onto the integers). Uses ``scipy.stats.qmc.LatinHypercube``
    seeded from the design generator.

    Args:
        specs: Range specs ``key=lo:hi``.
        n: Number of points (>= 1).
        root_seed: Root of the ``SeedSequence``; the same root gives the same points.

    Returns:
        The points (plain Python ints/floats).

    Raises:
        ValueError: For no or malformed specs, ``lo >= hi``, or a bad ``n`` / ``root_seed``.
    """
    from scipy.stats import qmc

    ranges = _ranges(specs)
    n = _check_n(n, "number of Latin-hypercube points")
    sampler = qmc.LatinHypercube(d=len(ranges), rng=_design_rng(root_seed))
    return _to_points(ranges, sampler.random(n))


def build_points(
    grid_specs: Sequence[str] = (),
    range_specs: Sequence[str] = (),
    *,
    lhs: int | None = None,
    n: int | None = None,
    root_seed: int = 0,
) -> list[dict[str, Any]]:
    """Build the points of a sweep from command-line style specs.

    Grid points and sampled points combine as a product: every sampled point is run at every grid
    point (grid varies slowest). Ranges need exactly one of ``lhs`` (Latin hypercube) or ``n``
    (independent uniform draws). Repeated points (integer ranges can draw the same values twice) are
    dropped, keeping the first.

    Args:
        grid_specs: Grid specs ``key=v1,v2,...``.
        range_specs: Range specs ``key=lo:hi``.
        lhs: Number of Latin-hypercube points over the ranges.
        n: Number of uniform random points over the ranges.
        root_seed: Root of the ``SeedSequence`` for the sampled points.

    Returns:
        The points; ``[{}]`` when there are no specs at all (the scenario as is).

    Raises:
        ValueError: For malformed specs, a key in both grid and ranges, ranges without ``lhs``/``n``
            (or both given), or ``lhs``/``n`` without ranges.
    """
    if lhs is not None and n is not None:
        raise ValueError("give either --lhs N or --n N, not both")
    count = lhs if lhs is not None else n
    if range_specs and count is None:
        raise ValueError("random ranges need a number of points: add --lhs N or --n N")
    if count is not None and not range_specs:
        raise ValueError("--lhs/--n need at least one range: add --random key=lo:hi")
    grid_points = grid(grid_specs)
    if not range_specs:
        return grid_points
    assert count is not None
    sampled = (latin_hypercube if lhs is not None else uniform_random)(range_specs, count, root_seed)
    clash = set(grid_points[0]) & set(sampled[0])
    if clash:
        raise ValueError(f"parameter {sorted(clash)[0]!r} is both in a grid and in a range")
    if len(grid_points) * len(sampled) > _MAX_POINTS:
        raise ValueError(f"design of {len(grid_points) * len(sampled)} points is too large")
    points = [{**g, **s} for g in grid_points for s in sampled]
    unique = {point_overrides(p): p for p in reversed(points)}
    return list(reversed(unique.values()))


def seeds_for(root_seed: int, n: int) -> list[int]:
    """The run seeds of a sweep: ``SeedSequence(root_seed).generate_state(n)`` as Python ints.

    Every point of a sweep uses this same list, so results pair up seed by seed across points.

    Args:
        root_seed: Non-negative integer root.
        n: Number of seeds (>= 1).

    Returns:
        ``n`` distinct 32-bit seeds (a collision, which is astronomically rare, is resolved by
        drawing further state).

    Raises:
        ValueError: For a negative root or ``n < 1``.
    """
    root_seed = _check_seed(root_seed)
    n = _check_n(n, "number of seeds")
    ss = np.random.SeedSequence(root_seed)
    want = n
    while True:
        state = [int(s) for s in ss.generate_state(want, dtype=np.uint32)]
        unique = list(dict.fromkeys(state))
        if len(unique) >= n:
            return unique[:n]
        want += n - len(unique)
