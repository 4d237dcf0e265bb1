"""Scenario configuration: read (pydantic-checked dataclass trees), override (``--set``), write (TOML).

A scenario schema is a tree of frozen, slotted stdlib dataclasses whose field metadata carries bounds
(``gt``/``ge``/``lt``/``le``), ``choices`` and a ``doc`` string; :func:`from_dict` checks a
TOML-shaped mapping against it with pydantic v2 and raises a one-line :class:`ConfigError` naming the
key, the bad value, what is allowed and "did you mean" (see :mod:`experiments.config_schema` for the
supported field types and how the pydantic errors are rewritten). This module adds the ``--set
dotted.key=value`` overrides (:func:`apply_overrides`, one value parser :func:`parse_value`) and the
TOML writer (:func:`to_toml`).

Example (at module level, so that ``typing.get_type_hints`` can resolve the annotations)::

    @dataclass(frozen=True, slots=True)
    class Flow:
        rate_per_s: float = field(default=2.0, metadata={"gt": 0, "doc": "orders per second"})

    @dataclass(frozen=True, slots=True)
    class Scenario:
        name: str
        flow: Flow = Flow()

    cfg = from_dict(Scenario, apply_overrides({"name": "calm"}, ["flow.rate_per_s=5"]))
    from_dict(Scenario, {"name": "calm", "flow": {"rate_per_s": -1}})
    # ConfigError: flow.rate_per_s = -1: must be > 0
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

import tomli_w

from experiments.config_errors import REQUIRED, ConfigError, _join
from experiments.config_schema import check_fields, describe, from_dict

__all__ = [
    "REQUIRED",
    "ConfigError",
    "apply_overrides",
    "check_fields",
    "describe",
    "from_dict",
    "parse_value",
    "to_dict",
    "to_toml",
]


# ---------------------------------------------------------------------------------------------
# Overrides: --set dotted.key=value
# ---------------------------------------------------------------------------------------------

_OVERRIDE_KEY = re.compile(r"[^.\[\]=\s]+(\[\d+\])*(\.[^.\[\]=\s]+(\[\d+\])*)*")


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``dotted.key=value`` overrides applied in order.

    Values are parsed as TOML values (``1e9``, ``true``, ``"text"``, ``[1, 2]``, ``{a = 1}``);
    anything that is not a valid TOML value (a bare word such as ``fast``) is taken as a string.
    Arrays of tables are indexed as ``events.1.time_s`` or ``events[1].time_s``. Missing tables
    along the way are created; whether the keys exist in the schema is checked by
    :func:`from_dict`.

    Args:
        data: TOML-shaped mapping (tables are dicts, arrays are lists); not modified.
        overrides: Strings of the form ``dotted.key=value``.

    Returns:
        A new dict with the overrides applied.

    Raises:
        ConfigError: For a malformed override, an index out of range, or a key that descends into
            something that is not a table or an array.
    """
    out = copy.deepcopy(dict(data))
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not _OVERRIDE_KEY.fullmatch(key):
            message = f"malformed override {text!r}: expected dotted.key=value, e.g. flow.rate=2.5"
            raise ConfigError(text, "malformed override", message=message)
        tokens = [int(i) if i else name for i, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", key)]
        _set_path(out, tokens, parse_value(raw))
    return out


def parse_value(raw: str) -> Any:
    """Parse one ``--set`` value as a TOML literal; text that is not one stays a string.

    The one value parser of the project (overrides, sweep designs). Surrounding blanks are dropped.

    Args:
        raw: Text such as ``2.5``, ``1e9``, ``true``, ``"quoted"``, ``[1, 2]``, ``{a = 1}`` or
            ``fast``; an empty text gives ``""``.

    Returns:
        The parsed value (int, float, bool, str, list or dict); a date-like word or text that
        smuggles in a second key is returned as the text.
    """
    text = raw.strip()
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    value = parsed.get("v")
    if len(parsed) != 1 or isinstance(value, datetime.date | datetime.time):
        return text  # e.g. a date-like word, or text that smuggles in a second key
    return value


def _set_path(root: dict[str, Any], tokens: list[int | str], value: object) -> None:
    node: Any = root
    key = ""
    for pos, tok in enumerate(tokens):
        if isinstance(node, list):
            if isinstance(tok, str) and not tok.isdigit():
                raise ConfigError(key, f"is an array of {len(node)}; index it, e.g. {key}[0]")
            tok = int(tok)
            if not 0 <= tok < len(node):
                raise ConfigError(f"{key}[{tok}]", f"index out of range (array of {len(node)})")
            key = f"{key}[{tok}]"
        elif isinstance(node, dict) and isinstance(tok, str):
            key = _join(key, tok)
        elif isinstance(node, dict):
            raise ConfigError(key or "<root>", f"is not an array, cannot index it with [{tok}]")
        else:
            raise ConfigError(key, f"is not a table, cannot set {tok!r} inside it", value=node)
        if pos == len(tokens) - 1:
            node[tok] = value
        else:
            if isinstance(node, dict) and tok not in node:
                node[tok] = {}
            node = node[tok]


# ---------------------------------------------------------------------------------------------
# Writing: dataclass tree -> dict -> TOML
# ---------------------------------------------------------------------------------------------


def to_dict(obj: object) -> dict[str, Any]:
    """Return a dataclass tree as nested TOML-shaped dicts and lists (``None`` fields omitted).

    Args:
        obj: A dataclass instance.

    Returns:
        A new dict that :func:`from_dict` turns back into an equal instance.
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"to_dict expects a dataclass instance, got {type(obj).__name__}")
    return _plain(obj)


def _plain(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(v)
            for f in dataclasses.fields(value)
            if f.init and (v := getattr(value, f.name)) is not None
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_toml(obj: object) -> str:
    """Write a dataclass tree (or a TOML-shaped mapping) as a TOML document.

    The layout is ours (scalars and arrays on one line each, then ``[table]`` and ``[[array]]``
    sections, a blank line before each header), so that the resolved ``scenario.toml`` of a run
    keeps its bytes; tomli-w formats every key and scalar (escapes, ``inf``/``nan``, exact floats).
    ``tomli_w.dumps`` alone would write every array one item per line and skip the headers of
    tables that hold only tables.

    Args:
        obj: A dataclass instance or a mapping of plain values.

    Returns:
        The TOML text, ending with a newline.
    """
    data = obj if isinstance(obj, Mapping) else to_dict(obj)
    lines: list[str] = []
    _emit_table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit_table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping) or _is_table_array(v)}
    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if k not in nested)
    for name, value in nested.items():
        header = ".".join(_toml_key(p) for p in [*path, name])
        for item in value if isinstance(value, list) else [value]:
            lines += ["", f"[[{header}]]" if isinstance(value, list) else f"[{header}]"]
            _emit_table(item, [*path, name], lines)


def _toml_key(key: str) -> str:
    """A key, bare when it can be (tomli-w's rule), else a quoted string."""
    return tomli_w.dumps({key: 0})[: -len(" = 0\n")]


def _toml_value(value: object) -> str:
    """An inline value: arrays and inline tables on one line, scalars formatted by tomli-w."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool | int | float | str):
        return tomli_w.dumps({"v": value})[len("v = ") : -1]
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to TOML")
