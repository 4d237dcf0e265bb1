"""Calibration targets: named moments of a simulated day, each with a target and a tolerance.

A targets file is TOML::

    name = "nov20_2025"
    description = "the 2025-11-20 session"

    [moments.close_return_pct]
    target = -1.56        # in the moment's units (here % of the prior close)
    tolerance = 0.3       # a miss of one tolerance costs `weight` (default tolerance 1, weight 1)
    weight = 1.0
    source = "exchange closing data (DOMAIN.md)"

    [moments.fall_flow_cta]
    target = 0.0
    bound = "upper"       # one-sided: only a median above the target costs (the CTAs must sell)
    tolerance = 200.0

A moment is a numeric key of a run summary (``summary.json`` / ``runs.parquet``) such as
``close_return_pct`` or ``net_flow_dealers``, or one of the *derived* moments that
:func:`moment_values` computes from the summary when the run did not report them
(``close_location``, ``fall_duration_min``, ``rebound_share``). Targets for clock times
(``*_time_s``) may be written as ``"HH:MM"`` Eastern time; they are stored as seconds from 09:30 ET.

The distance of a set of moment values ``m`` to the targets is the weighted mean of squared
z-scores, ``sum_i w_i z_i**2 / sum_i w_i`` with ``z_i = (m_i - target_i) / tolerance_i`` (for a
one-sided bound, only the wrong side counts). A missing or non-finite moment counts as
``z = MISSING_Z``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from market.units import OPEN_ET_S

__all__ = [
    "DERIVED",
    "KNOWN_MOMENTS",
    "MISSING_Z",
    "Moment",
    "Targets",
    "TargetsError",
    "derive_moments",
    "distance",
    "known_moment",
    "load_targets",
    "moment_values",
    "shipped_targets",
]

TARGETS_DIR = Path(__file__).parent.parent / "targets"
MISSING_Z = 10.0
"""z-score charged for a moment that a run did not produce (NaN, missing)."""

# Numeric summary keys a run reports (experiments/runner.py, experiments/metrics.py, and the
# path-shape keys of the cascade issue), plus the patterns of the per-class flows.
KNOWN_MOMENTS: tuple[str, ...] = (
    "open",
    "high",
    "low",
    "close",
    "prev_close",
    "open_return_pct",
    "high_return_pct",
    "close_return_pct",
    "range_pct",
    "max_drawdown_pct",
    "high_time_s",
    "low_time_s",
    "drawdown_low_time_s",
    "close_location",
    "rebound_share",
    "fall_duration_min",
    "steepest_30min_share",
    "fall_low",
    "fall_low_time_s",
    "realized_vol",
    "ret_1m_kurtosis",
    "ret_1m_ac1",
    "abs_ret_1m_ac1",
    "abs_ret_1m_ac5",
    "spread_1tick_share",
    "depth_mean",
    "depth_cv",
    "fall_dealer_gamma_mean",
    "n_messages",
    "n_trades",
    "volume",
    "n_option_trades",
    "dip_capital_deployed_usd",
)
_PATTERNS = (re.compile(r"net_flow_\w+"), re.compile(r"fall_flow_\w+"), re.compile(r"fall_dealer_flow_\w+"))
DERIVED: tuple[str, ...] = ("close_location", "fall_duration_min", "rebound_share")


class TargetsError(ValueError):
    """A targets file that cannot be used (one line: file, key, what is wrong)."""


@dataclass(frozen=True, slots=True)
class Moment:
    """One calibration target.

    Attributes:
        name: Summary key (or derived moment), e.g. ``close_return_pct``.
        target: Target value in the moment's units.
        tolerance: Scale of a miss (same units); z = (value - target) / tolerance.
        weight: Relative weight in the distance (>= 0).
        bound: ``"both"`` (two-sided), ``"upper"`` (only values above the target cost) or ``"lower"``.
        source: Where the target comes from (free text).
    """

    name: str
    target: float
    tolerance: float = 1.0
    weight: float = 1.0
    bound: Literal["both", "upper", "lower"] = "both"
    source: str = ""

    def z(self, value: float | None) -> float:
        """Signed z-score of ``value`` (0 on the allowed side of a one-sided bound)."""
        if value is None or not math.isfinite(float(value)):
            return MISSING_Z
        z = (float(value) - self.target) / self.tolerance
        if self.bound == "upper":
            return max(z, 0.0)
        if self.bound == "lower":
            return min(z, 0.0)
        return z


@dataclass(frozen=True, slots=True)
class Targets:
    """A named set of moments (see the module docstring)."""

    name: str
    moments: tuple[Moment, ...]
    description: str = ""
    path: str = ""

    @property
    def names(self) -> list[str]:
        """The moments' names, in file order."""
        return [m.name for m in self.moments]

    def as_dict(self) -> dict[str, Any]:
        """Plain-data copy (for JSON)."""
        return {
            "name": self.name,
            "description": self.description,
            "moments": {
                m.name: {
                    "target": m.target,
                    "tolerance": m.tolerance,
                    "weight": m.weight,
                    "bound": m.bound,
                    "source": m.source,
                }
                for m in self.moments
            },
        }


def known_moment(name: str) -> bool:
    """Whether ``name`` is a moment a run reports or that :func:`derive_moments` computes."""
    return name in KNOWN_MOMENTS or any(p.fullmatch(name) for p in _PATTERNS)


def shipped_targets() -> list[str]:
    """Names of the targets files in ``experiments/targets``."""
    return sorted(p.stem for p in TARGETS_DIR.glob("*.toml"))


def _clock_seconds(text: str, where: str) -> float:
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if not m:
        raise TargetsError(f"{where} = {text!r}: a clock time must be 'HH:MM' (Eastern time)")
    return int(m.group(1)) * 3600.0 + int(m.group(2)) * 60.0 - OPEN_ET_S


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TargetsError(f"{where} = {value!r}: must be a finite number")
    return float(value)


def load_targets(name_or_path: str | Path) -> Targets:
    """Read and validate a targets file (a shipped name such as ``nov20_2025`` or a TOML path).

    Raises:
        TargetsError: One line naming the file, the key and the problem (unknown moment names list
            the known ones).
    """
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        shipped = TARGETS_DIR / f"{name_or_path}.toml"
        if not shipped.exists():
            raise TargetsError(
                f"targets {str(name_or_path)!r}: no such file or shipped targets "
                f"(shipped: {', '.join(shipped_targets()) or 'none'})"
            )
        path = shipped
    if not path.is_file():
        raise TargetsError(f"targets file {str(path)!r} not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetsError(f"{path}: invalid TOML: {' '.join(str(exc).split())}") from None
    unknown_top = set(data) - {"name", "description", "moments"}
    if unknown_top:
        raise TargetsError(
            f"{path}: unknown key {sorted(unknown_top)[0]!r} (allowed: name, description, moments)"
        )
    table = data.get("moments")
    if not isinstance(table, dict) or not table:
        raise TargetsError(f"{path}: needs a [moments.<name>] table for at least one moment")
    moments = []
    for name, spec in table.items():
        where = f"{path.name}: moments.{name}"
        if not known_moment(name):
            raise TargetsError(
                f"{where}: unknown moment {name!r}; known: {', '.join(KNOWN_MOMENTS)}, "
                "net_flow_<class>, fall_flow_<class>"
            )
        if not isinstance(spec, dict):
            raise TargetsError(f"{where}: must be a table with at least 'target'")
        extra = set(spec) - {"target", "tolerance", "weight", "bound", "source"}
        if extra:
            raise TargetsError(
                f"{where}.{sorted(extra)[0]}: unknown key (allowed: target, tolerance, weight, bound, source)"
            )
        if "target" not in spec:
            raise TargetsError(f"{where}.target: missing")
        raw = spec["target"]
        if isinstance(raw, str) and name.endswith("_time_s"):
            target = _clock_seconds(raw, f"{where}.target")
        else:
            target = _number(raw, f"{where}.target")
        tol = _number(spec.get("tolerance", 1.0), f"{where}.tolerance")
        if tol <= 0:
            raise TargetsError(f"{where}.tolerance = {tol!r}: must be > 0")
        weight = _number(spec.get("weight", 1.0), f"{where}.weight")
        if weight < 0:
            raise TargetsError(f"{where}.weight = {weight!r}: must be >= 0")
        bound = spec.get("bound", "both")
        if bound not in ("both", "upper", "lower"):
            raise TargetsError(f"{where}.bound = {bound!r}: must be one of 'both', 'upper', 'lower'")
        moments.append(Moment(name, target, tol, weight, bound, str(spec.get("source", ""))))
    if sum(m.weight for m in moments) <= 0:
        raise TargetsError(f"{path}: all weights are 0")
    return Targets(
        str(data.get("name", path.stem)), tuple(moments), str(data.get("description", "")), str(path)
    )


def _num(summary: Mapping[str, Any], key: str) -> float:
    v = summary.get(key)
    if v is None or isinstance(v, bool | str):
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def derive_moments(summary: Mapping[str, Any]) -> dict[str, float]:
    """Fallbacks for path-shape moments, from a summary's high, low, close and the times of both.

    For runners that do not report them. The model's runner does (``experiments.metrics``,
    ``path_shape_stats``), and its values take precedence (see :func:`moment_values`).
    ``close_location`` = (close - low) / (high - low); when the low came after the high,
    ``fall_duration_min`` = minutes from the high to the low and ``rebound_share`` = the close
    location (the model measures both from the lowest point after the high, which is the day's low
    in that case); otherwise NaN (a summary alone cannot tell where the fall ended).
    """
    high, low, close = _num(summary, "high"), _num(summary, "low"), _num(summary, "close")
    t_high, t_low = _num(summary, "high_time_s"), _num(summary, "low_time_s")
    span = high - low
    clv = (close - low) / span if span > 0 else math.nan
    after = t_low >= t_high
    return {
        "close_location": clv,
        "fall_duration_min": (t_low - t_high) / 60.0 if after else math.nan,
        "rebound_share": clv if after else math.nan,
    }


def moment_values(summary: Mapping[str, Any], names: Sequence[str]) -> dict[str, float]:
    """Numeric values of ``names`` in one run summary (derived moments filled in when absent).

    Returns:
        Name -> float (NaN where the run has no such number).
    """
    derived: dict[str, float] | None = None
    out = {}
    for name in names:
        v = _num(summary, name)
        if math.isnan(v) and name in DERIVED:
            derived = derived if derived is not None else derive_moments(summary)
            v = derived[name]
        out[name] = v
    return out


def distance(targets: Targets, values: Mapping[str, float]) -> float:
    """Weighted mean squared z-score of ``values`` (moment name -> value) against ``targets``."""
    w = np.array([m.weight for m in targets.moments])
    z = np.array([m.z(values.get(m.name)) for m in targets.moments])
    return float(np.sum(w * z**2) / np.sum(w))
