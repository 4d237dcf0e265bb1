"""Scenario inputs from data files: option positioning and the CTAs' daily closes (CSV).

Keys (in the scenario TOML or as ``--set``), resolved by :func:`resolve_data_files` before the
scenario is validated, so the resolved scenario (``scenario.toml`` of a run) holds the plain values:

* ``options.positions_file``: CSV of open interest, one row per option series, in the shape of an
  exchange open-interest file. Columns: ``strike`` (index points) or ``strike_pct`` (% of the prior
  close); ``expiry_day`` (calendar days after the simulated day, 0 = same day) or ``expiry`` (a date
  ``YYYY-MM-DD``, which needs ``options.positions_as_of``, the simulated day's date); ``put_call``
  (``P``/``C``/``put``/``call``, any case); ``customer_qty`` (SPX contracts customers hold, signed:
  + long, so the dealers are short). Other columns are ignored. The rows are added after any inline
  ``[[options.positions]]``.
* ``options.positions_scale``: multiplies every position's ``customer_qty`` (inline and from the
  file; rounded to whole contracts). Default 1; -1 flips every position, so dealers long what they
  were short (the long-gamma counterfactual).
* ``options.positions_as_of``: the simulated day's date (``YYYY-MM-DD``), for ``expiry`` dates.
* ``cta.daily_closes_file``: CSV with columns ``date`` (``YYYY-MM-DD``) and ``close`` (index points);
  sorted by date here, oldest first; replaces ``cta.daily_closes`` (giving both is an error).

Paths are relative to the folder of the scenario file (a shipped scenario: ``experiments/scenarios``).
Errors are :class:`~experiments.config_io.ConfigError`: one line with the key, the file, the row and
what is allowed. Note: sweep run ids hash the scenario TOML, not the data files it names; edit a data
file and resume a sweep, and the finished runs are not redone (use a new output folder).
"""

from __future__ import annotations

import copy
import datetime
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experiments.config_io import ConfigError

__all__ = ["read_daily_closes", "read_positions", "resolve_data_files"]

_DEFAULT_PREV_CLOSE = 6642.16  # ScenarioConfig.prev_close_points' default
_KINDS = {"p": "put", "put": "put", "c": "call", "call": "call"}


def _path(key: str, value: object, base_dir: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, "must be a path to a CSV file (text)", value=value)
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = base_dir / p
    if not p.is_file():
        raise ConfigError(
            key, f"no such file (paths are relative to the scenario's folder {base_dir})", value=value
        )
    return p


def _read_csv(key: str, path: Path) -> Any:
    import pandas as pd

    try:
        df = pd.read_csv(path, comment="#", skipinitialspace=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad input file
        raise ConfigError(key, f"{path.name}: unreadable CSV ({' '.join(str(exc).split())[:160]})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    if df.empty:
        raise ConfigError(key, f"{path.name}: no rows")
    return df


def _date(text: object, key: str, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ConfigError(key, f"{where}: must be a date YYYY-MM-DD", value=text) from None


def _number(value: object, key: str, where: str) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        raise ConfigError(key, f"{where}: must be a finite number", value=value)
    return x


def read_positions(
    path: Path,
    prev_close_points: float,
    as_of: datetime.date | None = None,
    key: str = "options.positions_file",
) -> list[dict[str, Any]]:
    """Read an open-interest CSV into ``[[options.positions]]`` tables (see the module docstring).

    Args:
        path: The CSV file.
        prev_close_points: Prior close (index points), to turn ``strike`` into ``strike_pct``.
        as_of: The simulated day's date, needed for an ``expiry`` date column.
        key: The scenario key, for error messages.

    Returns:
        One dict per row: ``strike_pct`` (%), ``expiry_day`` (days), ``kind``, ``customer_qty`` (contracts).
    """
    df = _read_csv(key, path)
    cols = set(df.columns)
    if not ({"strike", "strike_pct"} & cols):
        raise ConfigError(
            key, f"{path.name}: needs a column 'strike' (points) or 'strike_pct' (% of prior close)"
        )
    if not ({"expiry_day", "expiry"} & cols):
        raise ConfigError(key, f"{path.name}: needs a column 'expiry_day' (days) or 'expiry' (YYYY-MM-DD)")
    for col in ("put_call", "customer_qty"):
        if col not in cols:
            raise ConfigError(key, f"{path.name}: needs a column {col!r}; has {', '.join(df.columns)}")
    if "expiry_day" not in cols and as_of is None:
        raise ConfigError(key, f"{path.name}: 'expiry' dates need options.positions_as_of = \"YYYY-MM-DD\"")
    out = []
    for i, row in enumerate(df.to_dict("records")):
        where = f"{path.name} row {i + 2}"  # line number in the file (header = line 1)
        if "strike_pct" in cols and row.get("strike_pct") == row.get("strike_pct"):  # not NaN
            strike_pct = _number(row["strike_pct"], key, f"{where} strike_pct")
        else:
            strike_pct = 100.0 * _number(row.get("strike"), key, f"{where} strike") / prev_close_points
        if "expiry_day" in cols and row.get("expiry_day") == row.get("expiry_day"):
            days = _number(row["expiry_day"], key, f"{where} expiry_day")
            if days != int(days) or days < 0:
                raise ConfigError(key, f"{where} expiry_day: must be a whole number of days >= 0", value=days)
            expiry_day = int(days)
        else:
            assert as_of is not None
            expiry_day = (_date(row.get("expiry"), key, f"{where} expiry") - as_of).days
            if expiry_day < 0:
                raise ConfigError(
                    key, f"{where} expiry: before options.positions_as_of ({as_of})", value=row["expiry"]
                )
        kind = _KINDS.get(str(row.get("put_call", "")).strip().lower())
        if kind is None:
            raise ConfigError(key, f"{where} put_call: must be P, C, put or call", value=row.get("put_call"))
        qty = _number(row.get("customer_qty"), key, f"{where} customer_qty")
        if qty != int(qty):
            raise ConfigError(key, f"{where} customer_qty: must be a whole number of contracts", value=qty)
        out.append(
            {"strike_pct": strike_pct, "expiry_day": expiry_day, "kind": kind, "customer_qty": int(qty)}
        )
    return out


def read_daily_closes(path: Path, key: str = "cta.daily_closes_file") -> list[float]:
    """Read a ``date,close`` CSV; return the closes sorted by date, oldest first (index points)."""
    df = _read_csv(key, path)
    for col in ("date", "close"):
        if col not in df.columns:
            raise ConfigError(
                key, f"{path.name}: needs columns 'date' and 'close'; has {', '.join(df.columns)}"
            )
    rows = []
    for i, row in enumerate(df.to_dict("records")):
        where = f"{path.name} row {i + 2}"
        close = _number(row["close"], key, f"{where} close")
        if close <= 0:
            raise ConfigError(key, f"{where} close: must be > 0", value=close)
        rows.append((_date(row["date"], key, f"{where} date"), close))
    rows.sort()
    dates = [d for d, _ in rows]
    dup = next((d for a, d in zip(dates, dates[1:], strict=False) if a == d), None)
    if dup is not None:
        raise ConfigError(key, f"{path.name}: date {dup} appears twice")
    return [c for _, c in rows]


def resolve_data_files(data: Mapping[str, Any], base_dir: str | Path) -> dict[str, Any]:
    """Replace the data-file keys of a scenario dict by the values they stand for.

    Args:
        data: TOML-shaped scenario (after overrides); not modified.
        base_dir: Folder that relative paths start from (the scenario file's).

    Returns:
        A copy without ``options.positions_file/_scale/_as_of`` and ``cta.daily_closes_file``, with
        ``options.positions`` and ``cta.daily_closes`` filled in (``data`` itself if it has none).

    Raises:
        ConfigError: A missing or malformed file, a bad value, or both a file and inline closes.
    """
    options = data.get("options")
    cta = data.get("cta")
    opt_keys = {"positions_file", "positions_scale", "positions_as_of"}
    has_opt = isinstance(options, Mapping) and bool(opt_keys & set(options))
    has_cta = isinstance(cta, Mapping) and "daily_closes_file" in cta
    if not (has_opt or has_cta):
        return dict(data)
    base = Path(base_dir)
    out = copy.deepcopy(dict(data))
    if has_opt:
        opts = out["options"]
        as_of = None
        if "positions_as_of" in opts:
            as_of = _date(opts.pop("positions_as_of"), "options.positions_as_of", "options.positions_as_of")
        positions = list(opts.get("positions", []))
        if "positions_file" in opts:
            path = _path("options.positions_file", opts.pop("positions_file"), base)
            prev = data.get("prev_close_points", _DEFAULT_PREV_CLOSE)
            prev = _number(prev, "prev_close_points", "prev_close_points")
            positions += read_positions(path, prev, as_of)
        if "positions_scale" in opts:
            scale = opts.pop("positions_scale")
            if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
                raise ConfigError("options.positions_scale", "must be a finite number", value=scale)
            scaled = []
            for i, pos in enumerate(positions):
                if not isinstance(pos, Mapping):
                    raise ConfigError(f"options.positions[{i}]", "must be a table", value=pos)
                qty = pos.get("customer_qty", 0)
                if isinstance(qty, int | float) and not isinstance(qty, bool):
                    pos = {**pos, "customer_qty": int(round(qty * scale))}
                scaled.append(pos)
            positions = scaled
        opts["positions"] = positions
    if has_cta:
        c = out["cta"]
        path = _path("cta.daily_closes_file", c.pop("daily_closes_file"), base)
        if "daily_closes" in c:
            raise ConfigError(
                "cta.daily_closes_file", "give either cta.daily_closes or cta.daily_closes_file, not both"
            )
        c["daily_closes"] = read_daily_closes(path)
    return out
