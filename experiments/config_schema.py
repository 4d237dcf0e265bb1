"""Scenario schemas checked by pydantic v2: frozen dataclasses in, one-line :class:`ConfigError` out.

A scenario schema is a tree of stdlib ``@dataclass(frozen=True, slots=True)`` classes (they live in
``market/``, ``agents/`` and ``experiments/config.py``, which stay free of pydantic). Field types may
be ``int``, ``float`` (ints accepted), ``bool``, ``str``, ``Literal[...]``, ``tuple[X, ...]`` (TOML
arrays), nested dataclasses (TOML tables), ``tuple[SomeDataclass, ...]`` (arrays of tables,
``[[events]]``), ``dict[str, X]`` and ``X | None`` (TOML has no null, so such fields must default to
``None``). Field metadata carries the bounds ``gt``/``ge``/``lt``/``le``, ``choices`` and a ``doc``
string; bounds apply to a number, or to every number of a tuple or dict. Cross-field rules go in an
optional ``validate(self)`` method or in ``__post_init__``; both raise :class:`ConfigError` with a key
relative to their own table, and :func:`from_dict` prefixes the table's dotted path.

How: from each dataclass this module generates a ``TypedDict`` whose fields carry the metadata as
pydantic constraints (``Strict`` scalars, ``annotated_types`` bounds, a ``choices`` validator,
``extra="forbid"``), and validates the TOML-shaped mapping with one :class:`pydantic.TypeAdapter`
per schema. Pydantic's errors are ranked as a depth-first reading of the file would meet them
(unknown keys of a table before its fields) and the first one is rewritten into our one-line format
naming the key, the bad value, what is allowed and "did you mean". The checked mapping is then turned
into the dataclass tree (running ``__post_init__`` and ``validate``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Optional, Required, TypeVar, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, ConfigDict, Strict, TypeAdapter, ValidationError, WrapValidator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from experiments.config_errors import REQUIRED, ConfigError, _join

__all__ = ["check_fields", "describe", "from_dict"]

T = TypeVar("T")
_BOUNDS = {
    "gt": (">", annotated_types.Gt),
    "ge": (">=", annotated_types.Ge),
    "lt": ("<", annotated_types.Lt),
    "le": ("<=", annotated_types.Le),
}
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}

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


def _is_one_of(value: object, options: Sequence[object]) -> bool:
    return any(value == o and type(value) is type(o) for o in options)


def _allowed_bounds(meta: Mapping[str, Any]) -> str:
    return " and ".join(f"{op} {meta[n]}" for n, (op, _) in _BOUNDS.items() if n in meta)


# ---------------------------------------------------------------------------------------------
# The pydantic side: dataclass -> TypedDict with constraints -> TypeAdapter
# ---------------------------------------------------------------------------------------------


def _choices(options: tuple[object, ...], kind: str = "choices") -> AfterValidator:
    """Accept only these values, of the same type (``1`` is not ``True``)."""

    def check(value: object) -> object:
        if not _is_one_of(value, options):
            raise PydanticCustomError(kind, "expected one of {allowed}", {"allowed": options})
        return value

    return AfterValidator(check)


def _only(kinds: tuple[type, ...], what: str) -> WrapValidator:
    """Refuse anything but ``kinds`` before pydantic's lax conversion (a dict is not an array)."""

    def check(value: object, handler: Any) -> object:
        if not isinstance(value, kinds):
            raise PydanticCustomError(what, "expected {what}", {"what": what})
        return handler(value)

    return WrapValidator(check)


def _instance_or_table(cls: type) -> WrapValidator:
    """A built instance of ``cls`` passes as it is (taken as already checked); else a table."""

    def check(value: object, handler: Any) -> object:
        return value if isinstance(value, cls) else handler(value)

    return WrapValidator(check)


def _annotation(tp: Any, meta: Mapping[str, Any]) -> Any:
    """The pydantic annotation of a field type, with the metadata's rules on its leaves."""
    if _is_dataclass_type(tp):
        return Annotated[_typed_dict(tp), _instance_or_table(tp)]
    if (inner := _optional_inner(tp)) is not None:
        return Optional[_annotation(inner, meta)]  # noqa: UP045 - built at run time
    if (item := _array_item(tp)) is not None:
        return Annotated[tuple[_annotation(item, meta), ...], _only((list, tuple), "array")]
    if get_origin(tp) is dict:
        return Annotated[dict[str, _annotation(get_args(tp)[1], meta)], _only((Mapping,), "table")]
    if get_origin(tp) is Literal:
        return Annotated[Any, _choices(get_args(tp), "literal")]
    rules: list[Any] = [Strict()]
    if tp in (int, float):
        rules += [rule(meta[name]) for name, (_, rule) in _BOUNDS.items() if name in meta]
    if "choices" in meta:
        rules.append(_choices(tuple(meta["choices"])))
    return Annotated[(tp, *rules)]


@functools.cache
def _typed_dict(cls: type) -> type:
    """A ``TypedDict`` mirroring a dataclass: required keys for fields without a default."""
    fields: dict[str, Any] = {}
    for f, tp in _schema(cls):
        ann = _annotation(tp, f.metadata)
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        fields[f.name] = Required[ann] if no_default else ann
    table = TypedDict(f"{cls.__name__}Table", fields, total=False)  # type: ignore[operator]
    table.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return table


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(_typed_dict(cls))


def _check(cls: type, data: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Validate a mapping against the schema of ``cls``; raise the first error as ConfigError."""
    try:
        return _adapter(cls).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    first = min(((_locate(cls, err["loc"], path), err) for err in errors), key=lambda pair: pair[0][0])
    return _raise(*first)


def _locate(cls: type, loc: tuple[Any, ...], path: str) -> tuple[Any, ...]:
    """Walk the schema along pydantic's ``loc``: ``(rank, key, parent key, type, metadata, names)``.

    The rank orders errors as the old depth-first reader met them: within a table its unknown keys
    first (0), then its fields in declaration order (1 + index); array items by index. The type is
    None for an unknown key.
    """
    tp: Any = cls
    meta: Mapping[str, Any] = {}
    key, parent, names, rank = path, path, [], []
    for n, part in enumerate(loc):
        tp = _optional_inner(tp) or tp
        if _is_dataclass_type(tp) and isinstance(part, str):
            schema = _schema(tp)
            names = [f.name for f, _ in schema]
            parent, key = key, _join(key, part)
            if part not in names:
                return ((*rank, 0, n), key, parent, None, {}, names)
            i = names.index(part)
            tp, meta = schema[i][1], schema[i][0].metadata
            rank.append(1 + i)
        elif isinstance(part, int) and (item := _array_item(tp)) is not None:
            key, tp = f"{key}[{part}]", item
            rank.append(part)
        elif get_origin(tp) is dict and isinstance(part, str):
            key, tp = _join(key, part), get_args(tp)[1]
            rank.append(0)
        # anything else is one of pydantic's own tags (e.g. '[key]'): not part of our key
    return ((*rank, len(loc)), key, parent, tp, meta, names)


def _raise(where: tuple[Any, ...], err: Mapping[str, Any]) -> typing.NoReturn:
    _, key, parent, tp, meta, names = where
    kind, value = err["type"], err.get("input")
    if tp is None:
        part = key[len(parent) + 1 :] if parent else key
        close = difflib.get_close_matches(part, names, n=1)
        hint = f" (did you mean {_join(parent, close[0])!r}?)" if close else ""
        message = f"unknown key {key!r}{hint}; allowed: {', '.join(names) or '(none)'}"
        raise ConfigError(key, "unknown key", message=message)
    if kind == "missing":
        message = f"missing required key {key!r} ({_type_name(tp)})"
        raise ConfigError(key, "missing required key", message=message)
    if kind in _BOUND_ERRORS:
        raise ConfigError(key, f"must be {_allowed_bounds(meta)}", value=value)
    if kind == "choices":
        raise ConfigError(key, "expected one of " + ", ".join(map(repr, meta["choices"])), value=value)
    raise ConfigError(key, _expected(_optional_inner(tp) or tp, value), value=value)


def _expected(tp: Any, value: object) -> str:
    """What a value of type ``tp`` must look like (the problem part of a type error)."""
    if tp in (bool, str, int):
        what = {bool: "true or false", str: "a string", int: "an integer"}[tp]
        return f"expected {what} ({tp.__name__})"
    if tp is float:
        big = isinstance(value, int) and not isinstance(value, bool)
        return "out of range for a float" if big else "expected a number (float)"
    if _is_dataclass_type(tp):
        return f"expected a table ({tp.__name__})"
    if get_origin(tp) is Literal:
        words = [a for a in get_args(tp) if isinstance(a, str)]
        close = difflib.get_close_matches(value, words, n=1) if isinstance(value, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return "expected one of " + ", ".join(map(repr, get_args(tp))) + hint
    if (item := _array_item(tp)) is not None:
        what = "an array of tables" if _is_dataclass_type(item) else "an array"
        return f"expected {what} ({_type_name(tp)})"
    return f"expected a table ({_type_name(tp)})"  # dict[str, X]


# ---------------------------------------------------------------------------------------------
# Reading: checked mapping -> dataclass tree
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
    _schema(cls)  # schema mistakes are TypeErrors, before any value is looked at
    return _build(cls, _check(cls, data, path), path)


def _build(cls: type[T], clean: Mapping[str, Any], path: str) -> T:
    kwargs = {
        f.name: _rebuild(tp, clean[f.name], _join(path, f.name)) for f, tp in _schema(cls) if f.name in clean
    }
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


def _rebuild(tp: Any, value: Any, key: str) -> Any:
    """Checked plain value -> field value (tables to dataclasses, arrays to tuples, ints to floats)."""
    if value is None:
        return None
    tp = _optional_inner(tp) or tp
    if _is_dataclass_type(tp):
        return value if isinstance(value, tp) else _build(tp, value, key)
    if (item := _array_item(tp)) is not None:
        return tuple(_rebuild(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if get_origin(tp) is dict:
        return {str(k): _rebuild(get_args(tp)[1], v, _join(key, str(k))) for k, v in value.items()}
    return float(value) if tp is float else value


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
    schema = _schema(type(obj))
    clean = _check(type(obj), {f.name: getattr(obj, f.name) for f, _ in schema}, path)
    for f, tp in schema:
        out = _rebuild(tp, clean[f.name], _join(path, f.name))
        if out is not getattr(obj, f.name):
            object.__setattr__(obj, f.name, out)


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
