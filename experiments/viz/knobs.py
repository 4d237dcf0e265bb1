"""The page's knobs as one value: parsed from what was typed in, mapped onto scenario keys in one place.

:class:`Knobs` holds dip-buy capital ($), dealer positioning scale and CTA capital ($);
:meth:`Knobs.values` is the only place where a knob becomes a scenario key and value, and
:meth:`Knobs.config` builds the :class:`~experiments.config.ScenarioConfig` with them (through the
same ``dotted.key=value`` overrides as ``cascade run --set``, so a sweep can use them too).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from experiments.config import ScenarioConfig, load_scenario
from experiments.plots.style import MoneyFormatter

DEFAULT_SCENARIO = "nov20_2025"
"""Scenario of the page when ``CASCADE_VIZ_SCENARIO`` is not set."""
_USD_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12, "tn": 1e12}
_USD = re.compile(r"\$?\s*([-+]?[0-9][0-9_,]*\.?[0-9]*(?:e[-+]?[0-9]+)?)\s*(k|mn|m|bn|b|tn|t)?",
                  re.IGNORECASE)
_AMOUNT = MoneyFormatter(dollar=False)


def viz_scenario() -> str:
    """The page's scenario: ``$CASCADE_VIZ_SCENARIO`` (a shipped name or a TOML path), else nov20_2025."""
    return os.environ.get("CASCADE_VIZ_SCENARIO", "").strip() or DEFAULT_SCENARIO


def parse_usd(value: float | int | str) -> float:
    """A dollar amount from a number or text such as ``3e8``, ``300m``, ``$1.5bn``, ``2,000,000``.

    Raises:
        ValueError: For text that is not an amount, or a negative or non-finite one.
    """
    if isinstance(value, int | float):
        out = float(value)
    else:
        match = _USD.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(f"not a dollar amount: {value!r} (examples: 3e8, 300m, 1.5bn)")
        out = (
            float(match.group(1).replace(",", "").replace("_", ""))
            * _USD_UNITS[(match.group(2) or "").lower()]
        )
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"a dollar amount must be finite and >= 0, got {value!r}")
    return out


def format_usd(value: float) -> str:
    """``300m``, ``1.5bn``, ``250k``: how the page writes a dollar amount (``parse_usd`` reads it back).

    The figures' money tick formatter without the ``$`` (:class:`~experiments.plots.style.MoneyFormatter`).
    """
    return _AMOUNT.format_data(value)


def parse_seed(value: int | str, notes: list[str] | None = None) -> int:
    """A seed (whole number >= 0) from a number or text.

    With ``notes``, a bad value gives seed 0 and a note instead of raising ``ValueError``.
    """
    try:
        seed = int(str(value).strip())
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
    except ValueError:
        if notes is None:
            raise
        notes.append(f"seed: {value!r} is not a non-negative whole number; seed 0 is used")
        return 0
    return seed


def _override(key: str, value: float | int) -> str:
    """``key=value`` as ``--set`` takes it (floats by ``repr``, so they read back exactly)."""
    return f"{key}={value!r}"


def _position_values(config: ScenarioConfig, scale: float) -> dict[str, int]:
    """``options.positions[i].customer_qty`` -> the quantity times ``scale``, in whole contracts."""
    if not math.isfinite(scale):
        raise ValueError(f"positioning scale must be finite, got {scale!r}")
    return {
        f"options.positions[{i}].customer_qty": int(round(block.customer_qty * scale))
        for i, block in enumerate(config.options.positions)
    }


def positioning_overrides(config: ScenarioConfig, scale: float) -> list[str]:
    """Overrides that multiply every option position's ``customer_qty`` by ``scale``.

    ``scale = 1`` keeps the scenario's positioning, ``0`` removes the open interest, and a negative
    scale flips every position: customers short what they were long, so dealers who were short
    gamma become long gamma. Quantities are rounded to whole contracts.

    Args:
        config: The scenario whose ``[[options.positions]]`` are scaled.
        scale: Multiplier of ``customer_qty``.

    Returns:
        One ``options.positions[i].customer_qty=N`` string per position (empty for no positions).
    """
    return [_override(key, value) for key, value in _position_values(config, scale).items()]


@dataclass(frozen=True)
class Knobs:
    """The page's knobs; ``None`` (or a scale of 1) keeps the scenario's value.

    Attributes:
        dip_capital_usd: Total dip-buying capital ($), ``dip_buyers.capital_usd``.
        dealer_scale: Multiplier of every option position's ``customer_qty`` (negative: dealers
            long gamma; see :func:`positioning_overrides`).
        cta_capital_usd: Total CTA risk capital ($), ``cta.capital_usd``.
    """

    dip_capital_usd: float | None = None
    dealer_scale: float = 1.0
    cta_capital_usd: float | None = None

    @classmethod
    def parse(
        cls,
        dip_capital_usd: float | str | None = None,
        dealer_scale: float | str = 1.0,
        cta_capital_usd: float | str | None = None,
        notes: list[str] | None = None,
    ) -> Knobs:
        """Knobs from the page's inputs: amounts as numbers or text (``3e8``, ``300m``, ``1.5bn``).

        Empty text keeps the scenario's value. Without ``notes`` an amount that does not parse raises
        ``ValueError``; with ``notes`` it keeps the scenario's value and a note says so.
        """

        def amount(value: float | str | None, what: str) -> float | None:
            if value in (None, ""):
                return None
            try:
                return parse_usd(value)  # type: ignore[arg-type]
            except ValueError as exc:
                if notes is None:
                    raise
                notes.append(f"{what}: {exc}; the scenario's value is used")
                return None

        return cls(amount(dip_capital_usd, "dip-buy capital"), float(dealer_scale),
                   amount(cta_capital_usd, "CTA capital"))  # fmt: skip

    def values(self, config: ScenarioConfig) -> dict[str, float | int]:
        """Scenario key (dotted, as ``--set`` takes it) -> new value, for the knobs that change ``config``."""
        out: dict[str, float | int] = {}
        if self.dip_capital_usd is not None:
            out["dip_buyers.capital_usd"] = float(self.dip_capital_usd)
        if self.cta_capital_usd is not None:
            out["cta.capital_usd"] = float(self.cta_capital_usd)
        if float(self.dealer_scale) != 1.0:
            out.update(_position_values(config, float(self.dealer_scale)))
        return out

    def overrides(self, config: ScenarioConfig) -> list[str]:
        """:meth:`values` as ``dotted.key=value`` strings for ``load_scenario``, ``--set`` or a sweep."""
        return [_override(key, value) for key, value in self.values(config).items()]

    def config(
        self, scenario: str | Path, extra: Sequence[str] = ()
    ) -> tuple[ScenarioConfig, tuple[str, ...]]:
        """The scenario with the knobs (and ``extra`` overrides) applied, and all overrides used."""
        base = load_scenario(scenario)
        overrides = (*self.overrides(base), *extra)
        return (load_scenario(scenario, list(overrides)) if overrides else base), overrides


def knob_overrides(
    config: ScenarioConfig,
    *,
    dip_capital_usd: float | None = None,
    dealer_scale: float = 1.0,
    cta_capital_usd: float | None = None,
) -> list[str]:
    """The page's knobs as ``dotted.key=value`` overrides of ``config`` (see :class:`Knobs`)."""
    return Knobs(dip_capital_usd, dealer_scale, cta_capital_usd).overrides(config)
