"""Kernel rows -> record arrays (``trades_to_records``, ``reject_records``): the bytes of numpy's casts."""

from __future__ import annotations

import numpy as np

from market import _lob_kernels as K
from market.lob import trades_to_records
from market.types import REJECT_DTYPE, TRADE_DTYPE


def _numpy_records(rows: np.ndarray, dtype: np.dtype) -> np.ndarray:
    out = np.empty(rows.shape[0], dtype=dtype)
    for col, name in enumerate(dtype.names):
        out[name] = rows[:, col]
    return out


def test_trade_records_match_numpy_casts_including_narrowing():
    rng = np.random.default_rng(0)
    rows = rng.integers(-(2**62), 2**62, size=(257, K.N_TRADE_FIELDS), dtype=np.int64)
    rows[:5] = 0
    assert trades_to_records(rows).tobytes() == _numpy_records(rows, TRADE_DTYPE).tobytes()
    assert trades_to_records(rows[::2]).tobytes() == _numpy_records(rows[::2], TRADE_DTYPE).tobytes()
    assert trades_to_records(rows[:0]).shape == (0,)


def test_reject_records_match_numpy_casts():
    rows = np.random.default_rng(1).integers(-(2**40), 2**40, size=(33, K.N_REJECT_FIELDS), dtype=np.int64)
    out = np.empty(rows.shape[0], dtype=REJECT_DTYPE)
    K.reject_records(rows, out)
    assert out.tobytes() == _numpy_records(rows, REJECT_DTYPE).tobytes()
