"""Typed scenario configuration: TOML tables onto frozen, slotted dataclasses.

A scenario schema is a tree of ``@dataclass(frozen=True, slots=True)`` classes. Field types may be
``int``, ``float`` (ints accepted), ``bool``, ``str``, ``Literal[...]``, ``tuple[X, ...]`` (TOML
arrays), nested dataclasses (TOML tables), ``tuple[SomeDataclass, ...]`` (arrays of tables,
``[[events]]``), ``dict[str, X]`` and ``X | None`` (TOML has no null, so such fields must default
to ``None``). Field metadata carries the bounds ``gt``/``ge``/``lt``/``le``, ``choices`` and a
``doc`` string; bounds apply to a number, or to every number of a tuple or dict. Cross-field rules
go in an optional ``validate(self)`` method or in ``__post_init__``; both raise :class:`ConfigError`
with a key relative to their own table, and :func:`from_dict` prefixes the table's dotted path.

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
import difflib
import functools
import math
import operator
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

__all__ = [
    "REQUIRED",
    "ConfigError",
    "apply_overrides",
    "check_fields",
    "describe",
    "from_dict",
    "to_dict",
    "to_toml",
]

T = TypeVar("T")
_BOUNDS = {
    "gt": (">", operator.gt),
    "ge": (">=", operator.ge),
    "lt": ("<", operator.lt),
    "le": ("<=", operator.le),
}


class _Sentinel:
    """A named singleton that pickles by name (so it survives a trip to a worker process)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:
        return self.name


_NO_VALUE: Any = _Sentinel("_NO_VALUE")
REQUIRED: Any = _Sentinel("REQUIRED")
"""Default shown by :func:`describe` for a field that has no default."""


class ConfigError(ValueError):
    """A scenario value that is missing, unknown, of the wrong type or out of range.

    The message is one line, ``"<dotted.key> = <value>: <what is allowed>"`` unless ``message``
    replaces it. ``key``, ``problem`` and ``value`` stay available as attributes.

    Args:
        key: Dotted key of the offending value, e.g. ``events[2].time_s``.
        problem: What is allowed, e.g. ``must be >= 0``.
        value: The offending value, if there is one.
        message: Full message to use instead of the standard one.
    """

    def __init__(
        self, key: str, problem: str, *, value: object = _NO_VALUE, message: str | None = None
    ) -> None:
        self.key, self.problem, self.value = key, problem, value
        if message is None and value is _NO_VALUE:
            message = f"{key}: {problem}"
        elif message is None:
            message = f"{key} = {_show(value)}: {problem}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments need a partial; without this, unpickling (Dask, processes) fails.
        rebuild = functools.partial(type(self), value=self.value, message=str(self))
        return rebuild, (self.key, self.problem)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path and name else path or name


# ---------------------------------------------------------------------------------------------
# Schema introspection
# ---------------------------------------------------------------------------------------------


@functools.cache
def _schema(cls: type) -> tuple[tuple[dataclasses.Field, Any], ...]:
    """Init fields of a dataclass with resolved types; raises TypeError for unsupported ones."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        _type_name(tp)  # rejects unsupported types early
        if _optional_inner(tp) is not None and (
            f.default is not None or f.default_factory is not dataclasses.MISSING
        ):
            raise TypeError(f"{cls.__name__}.{f.name}: an `X | None` field must default to None")
        out.append((f, tp))
    return tuple(out)


def _optional_inner(tp: Any) -> Any:
    """Return X for ``X | None``, else None."""
    if get_origin(tp) in (Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        if len(inner) != 1 or len(get_args(tp)) != 2:
            raise TypeError(f"unsupported union {tp!r}: only `X | None` is allowed")
        return inner[0]
    return None


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _array_item(tp: Any) -> Any:
    """Return X for ``tuple[X, ...]``, else None."""
    args = get_args(tp)
    if get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _type_name(tp: Any) -> str:
    if tp in (int, float, bool, str):
        return tp.__name__
    if _is_dataclass_type(tp):
        return tp.__name__
    if (inner := _optional_inner(tp)) is not None:
        return f"{_type_name(inner)} | None"
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if (item := _array_item(tp)) is not None:
        return f"tuple[{_type_name(item)}, ...]"
    if get_origin(tp) is dict and get_args(tp)[0] is str:
        return f"dict[str, {_type_name(get_args(tp)[1])}]"
    raise TypeError(f"unsupported config field type {tp!r}")


# ---------------------------------------------------------------------------------------------
# Reading: dict -> dataclass tree
# ---------------------------------------------------------------------------------------------


def from_dict(cls: type[T], data: Mapping[str, Any], *, path: str = "") -> T:
    """Build a dataclass tree from a (TOML-shaped) mapping, checking every value.

    Args:
        cls: The frozen dataclass of the scenario (or of one table of it).
        data: Mapping of field names to values, e.g. from ``tomllib.load``.
        path: Dotted key of ``data`` inside the whole scenario, used in error messages.

    Returns:
        An instance of ``cls``; omitted fields take their defaults.

    Raises:
        ConfigError: For an unknown or missing key, a value of the wrong type, a value out of
            range, or a failed ``validate``/``__post_init__`` rule.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(path or "<root>", f"expected a table ({cls.__name__})", value=data)
    schema = _schema(cls)
    names = [f.name for f, _ in schema]
    for key in data:
        if key not in names:
            raise _unknown_key(path, str(key), names)
    kwargs = {}
    for f, tp in schema:
        key = _join(path, f.name)
        if f.name in data:
            kwargs[f.name] = _field_value(f, tp, data[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            message = f"missing required key {key!r} ({_type_name(tp)})"
            raise ConfigError(key, "missing required key", message=message)
    try:
        obj = cls(**kwargs)
        if callable(hook := getattr(obj, "validate", None)):
            hook()
    except ConfigError as err:
        key = _join(path, err.key) or cls.__name__
        raise ConfigError(key, err.problem, value=err.value) from None
    except ValueError as err:
        raise ConfigError(path or cls.__name__, str(err)) from err
    return obj


def check_fields(obj: object, *, path: str = "") -> None:
    """Check the types and metadata bounds of one dataclass instance's own fields.

    Meant for ``__post_init__``, so that instances built in code (``dataclasses.replace`` in
    sweeps) get the same checks as those read by :func:`from_dict`. Values are normalised as
    :func:`from_dict` does (int to float, list to tuple, table to dataclass) through
    ``object.__setattr__``, which is allowed while a frozen instance is being initialised.
    Nested dataclass instances are taken as already checked.

    Args:
        obj: A dataclass instance.
        path: Dotted key of ``obj`` inside the whole scenario, used in error messages.

    Raises:
        ConfigError: For a value of the wrong type or out of range.
    """
    for f, tp in _schema(type(obj)):
        value = getattr(obj, f.name)
        if value is None and _optional_inner(tp) is not None:
            continue
        out = _field_value(f, tp, value, _join(path, f.name))
        if out is not value:
            object.__setattr__(obj, f.name, out)


def _unknown_key(path: str, key: str, names: list[str]) -> ConfigError:
    full = _join(path, key)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean {_join(path, close[0])!r}?)" if close else ""
    allowed = ", ".join(names) or "(none)"
    message = f"unknown key {full!r}{hint}; allowed: {allowed}"
    return ConfigError(full, "unknown key", message=message)


def _field_value(f: dataclasses.Field, tp: Any, value: object, key: str) -> object:
    out = _convert(tp, value, key)
    _check_meta(f.metadata, value, key)  # on the value as written, so messages quote it
    return out


def _check_meta(meta: Mapping[str, Any], value: object, key: str) -> None:
    """Apply ``choices`` and bounds to a number, or to each number in a tuple or dict."""
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_meta(meta, item, f"{key}[{i}]")
        return
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_meta(meta, item, _join(key, name))
        return
    choices = meta.get("choices")
    if choices is not None and not _is_one_of(value, choices):
        raise ConfigError(key, "expected one of " + ", ".join(map(repr, choices)), value=value)
    bounds = [(op, test, meta[name]) for name, (op, test) in _BOUNDS.items() if name in meta]
    if bounds and isinstance(value, int | float) and not isinstance(value, bool):
        if not all(test(value, bound) for _, test, bound in bounds):
            allowed = " and ".join(f"{op} {bound}" for op, _, bound in bounds)
            raise ConfigError(key, f"must be {allowed}", value=value)


def _is_one_of(value: object, options: Sequence[object]) -> bool:
    return any(value == o and type(value) is type(o) for o in options)


def _convert(tp: Any, value: object, key: str) -> object:
    """Check ``value`` against the field type ``tp``, converting TOML shapes to Python ones."""
    if tp is bool or tp is str or tp is int:
        ok = isinstance(value, tp) and (tp is not int or not isinstance(value, bool))
        if not ok:
            what = {bool: "true or false", str: "a string", int: "an integer"}[tp]
            raise ConfigError(key, f"expected {what} ({tp.__name__})", value=value)
        return value
    if tp is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(key, "expected a number (float)", value=value)
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise ConfigError(key, "out of range for a float", value=value) from None
    if _is_dataclass_type(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"expected a table ({tp.__name__})", value=value)
        return from_dict(tp, value, path=key)
    if (inner := _optional_inner(tp)) is not None:
        return None if value is None else _convert(inner, value, key)
    if get_origin(tp) is Literal:
        if not _is_one_of(value, get_args(tp)):
            allowed = "expected one of " + ", ".join(map(repr, get_args(tp)))
            words = [a for a in get_args(tp) if isinstance(a, str)]
            close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(key, allowed + hint, value=value)
        return value
    if (item := _array_item(tp)) is not None:
        if not isinstance(value, list | tuple):
            what = "an array of tables" if _is_dataclass_type(item) else "an array"
            raise ConfigError(key, f"expected {what} ({_type_name(tp)})", value=value)
        return tuple(_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if get_origin(tp) is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"expected a table ({_type_name(tp)})", value=value)
        return {str(k): _convert(get_args(tp)[1], v, _join(key, str(k))) for k, v in value.items()}
    raise TypeError(f"{key}: unsupported config field type {tp!r}")


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
        _set_path(out, tokens, _parse_value(raw.strip()))
    return out


def _parse_value(raw: str) -> object:
    try:
        parsed = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        return raw
    value = parsed["v"]
    if len(parsed) != 1 or isinstance(value, datetime.date | datetime.time):
        return raw  # e.g. a date-like word, or text that smuggles in a second key
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

    Floats are written with ``repr``, so they read back exactly (``inf`` and ``nan`` included).

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
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or char == "\x7f":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} to TOML")


# ---------------------------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------------------------


def describe(cls: type) -> list[tuple[str, str, object, str]]:
    """List every field of a schema as ``(dotted key, type name, default, doc)``.

    Nested tables contribute their fields under their dotted prefix (with the parent's default
    instance supplying the defaults); fields of arrays of tables appear as ``events[].time_s``.
    Bounds and choices from the metadata are appended to the type name, e.g.
    ``float (>= 0, <= 1)``. A field without a default shows :data:`REQUIRED`.

    Args:
        cls: A dataclass schema.

    Returns:
        One row per leaf field, in declaration order.
    """
    return _describe(cls, "", None)


def _describe(cls: type, prefix: str, defaults: object) -> list[tuple[str, str, object, str]]:
    rows: list[tuple[str, str, object, str]] = []
    for f, tp in _schema(cls):
        key = _join(prefix, f.name)
        if defaults is not None:
            default = getattr(defaults, f.name)
        elif f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = REQUIRED
        if _is_dataclass_type(tp):
            rows += _describe(tp, key, None if default is REQUIRED else default)
            continue
        limits = [f"{op} {f.metadata[n]}" for n, (op, _) in _BOUNDS.items() if n in f.metadata]
        if "choices" in f.metadata:
            limits.append("one of " + ", ".join(map(repr, f.metadata["choices"])))
        name = _type_name(tp) + (f" ({', '.join(limits)})" if limits else "")
        rows.append((key, name, default, f.metadata.get("doc", "")))
        inner = _array_item(tp) or _optional_inner(tp)
        if _is_dataclass_type(inner):
            rows += _describe(inner, key + "[]" if _array_item(tp) else key, None)
    return rows
