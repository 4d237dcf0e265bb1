"""``market._borrow.borrow``: the same data, no reference counting in the compiled code."""

from __future__ import annotations

import numpy as np
from numba import njit

from market._borrow import BorrowedArray, borrow


@njit
def _bump(a, i):
    a[i, 1] += 1
    return a[i, 1]


@njit
def _through_borrowed(a):
    b = borrow(a)
    total = 0
    for i in range(b.shape[0]):
        total += _bump(b, i)
    return total, b[1:3].sum()


def test_borrowed_view_reads_and_writes_the_array():
    a = np.arange(12, dtype=np.int64).reshape(6, 2)
    total, part = _through_borrowed(a)
    assert a[:, 1].tolist() == [2, 4, 6, 8, 10, 12]
    assert total == 42 and part == a[1:3].sum()


def test_borrowed_helpers_do_no_reference_counting():
    a = np.zeros((4, 2), dtype=np.int64)
    _through_borrowed(a)
    (sig,) = [s for s in _bump.signatures if isinstance(s[0], BorrowedArray)]
    ir = _bump.inspect_llvm(sig)
    assert "NRT_incref" not in ir and "NRT_decref" not in ir
    ((plain, *_),) = _through_borrowed.signatures
    assert not isinstance(plain, BorrowedArray)  # only the view is borrowed, not the caller's array
