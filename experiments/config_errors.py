"""The one error of scenario configuration, :class:`ConfigError`, and the :data:`REQUIRED` marker."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["REQUIRED", "ConfigError"]


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
"""Default shown by :func:`experiments.config_io.describe` for a field that has no default."""


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
