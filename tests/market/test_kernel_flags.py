"""No compiled kernel of the market package uses fastmath.

Numba compiles an ``@njit`` callee that sets no ``fastmath`` of its own with the flag of the caller
that compiles it first (``CPUTargetOptions.finalize``: ``flags.inherit_if_not_set("fastmath")``),
keeps that version for every later caller with the same argument types and caches it. One fastmath
kernel calling a shared helper (``_gex_fill`` called ``smile_total_vol``) therefore made the greeks
of every run differ in the last bits depending on which scenario had compiled the cache (a day of
``nov20_2025_protected`` after ``make warm``'s ``calm`` day against one compiled directly).
"""

from __future__ import annotations

import importlib
import pkgutil

from numba.core.dispatcher import Dispatcher

import market


def _kernels() -> dict[str, Dispatcher]:
    found: dict[str, Dispatcher] = {}
    for info in pkgutil.walk_packages(market.__path__, prefix="market."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_the_scan_sees_the_kernels():
    kernels = _kernels()
    assert "market.gex._gex_fill" in kernels
    assert "market.ivsurface.smile_total_vol" in kernels
    assert len(kernels) > 50


def test_no_kernel_uses_fastmath():
    fast = sorted(name for name, d in _kernels().items() if d.targetoptions.get("fastmath"))
    assert fast == [], f"fastmath leaks into shared callees, making results depend on compile order: {fast}"
