"""Calibrated (or varied) parameters: ``KEY=LO:HI[:log][:int]`` specs, their checks, point folder names.

Shared by :mod:`experiments.calibration.calibrate` (optuna) and :mod:`experiments.calibration.sensitivity`
(SALib).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.sweep.designs import DOTTED_KEY, format_value
from experiments.sweep.spec import DEFAULT_RUNNER, SweepConfigError

__all__ = ["ParamSpec", "check_params", "parse_param", "point_dir_name", "validate_params"]


@dataclasses.dataclass(frozen=True, slots=True)
class ParamSpec:
    """A calibrated (or varied) parameter: dotted scenario key and its range.

    Attributes:
        key: Dotted scenario key, as in ``--set``.
        lo: Lower bound (included).
        hi: Upper bound (included); ``hi > lo``.
        log: Search on a log scale (needs ``lo > 0``).
        integer: Integer values.
    """

    key: str
    lo: float
    hi: float
    log: bool = False
    integer: bool = False

    def spec(self) -> str:
        """Back to the command-line form ``KEY=LO:HI[:log][:int]``."""
        return (
            f"{self.key}={self.lo:g}:{self.hi:g}"
            + (":log" if self.log else "")
            + (":int" if self.integer else "")
        )

    def to_unit(self, value: float) -> float:
        """Position of ``value`` in the range, 0..1 (on the log scale for log parameters)."""
        if self.log:
            return (math.log(value) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (value - self.lo) / (self.hi - self.lo)


def parse_param(text: str) -> ParamSpec:
    """Parse ``KEY=LO:HI[:log][:int]`` (e.g. ``dip_buyers.capital_usd=1e8:3e9:log``).

    Raises:
        ValueError: One line naming the spec and what is wrong.
    """
    key, sep, rng = str(text).partition("=")
    key = key.strip()
    if not sep or not DOTTED_KEY.fullmatch(key):
        raise ValueError(f"--param {text!r}: expected KEY=LO:HI[:log][:int]")
    parts = [p.strip() for p in rng.split(":")]
    flags = set(parts[2:])
    if len(parts) < 2 or not flags <= {"log", "int"} or len(flags) != len(parts) - 2:
        raise ValueError(f"--param {text!r}: expected KEY=LO:HI[:log][:int]")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"--param {text!r}: LO and HI must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"--param {text!r}: needs finite LO < HI")
    if "log" in flags and lo <= 0:
        raise ValueError(f"--param {text!r}: a log range needs LO > 0")
    if "int" in flags and (lo != int(lo) or hi != int(hi)):
        raise ValueError(f"--param {text!r}: an integer range needs integer bounds")
    return ParamSpec(key, lo, hi, "log" in flags, "int" in flags)


def check_params(params: Sequence[ParamSpec]) -> list[ParamSpec]:
    """The parameters as a list; :class:`SweepConfigError` if there are none or a key repeats."""
    params = list(params)
    if not params:
        raise SweepConfigError("give at least one --param KEY=LO:HI")
    keys = [p.key for p in params]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SweepConfigError(f"parameter {sorted(dup)[0]!r} given twice")
    return params


def validate_params(
    scenario: str, params: Sequence[ParamSpec], overrides: Sequence[str], runner: str
) -> None:
    """With the model's runner, load the scenario at both ends of every range (bad keys fail here)."""
    if runner != DEFAULT_RUNNER:
        return
    from experiments.config import load_scenario

    for end in ("lo", "hi"):
        point = [
            f"{p.key}={format_value(int(getattr(p, end)) if p.integer else getattr(p, end))}" for p in params
        ]
        try:
            load_scenario(scenario, (*overrides, *point))
        except Exception as exc:  # noqa: BLE001 - any failure to load is bad input
            raise SweepConfigError(f"{exc}") from None


def point_dir_name(point: Mapping[str, Any]) -> str:
    """Directory name of a parameter point: 16 hex digits of sha256 over its sorted ``key=value`` text."""
    text = "\n".join(f"{k}={format_value(v)}" for k, v in sorted(point.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
