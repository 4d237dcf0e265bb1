"""numba's BLAS probe without importing ``scipy.linalg`` (about 0.15 s of every run's start-up).

The first compiled call of a process (a kernel loaded from the cache too) makes numba import
``numba.np.arraymath``, which sets ``_HAVE_BLAS`` by importing ``scipy.linalg.cython_blas``. That
import runs ``scipy.linalg``'s package ``__init__`` (and, through SciPy's array-API layer, ``numpy.f2py``
and ``numpy.testing``): 0.15 s here, for a flag that only picks the inner-product routine of
``np.convolve``/``np.correlate`` inside compiled code. None of our kernels uses BLAS.

:func:`install` registers a one-shot import hook: while ``numba.np.arraymath`` executes, numba's
``ensure_blas`` answers the same question by looking for the ``cython_blas`` extension file (plus numba's
own integer-width check, which reads only ``scipy.__config__``); afterwards the real ``ensure_blas`` is
back, so compiling a function that does use BLAS imports SciPy's module as before. When
``scipy.linalg`` is already imported the real probe runs. ``_HAVE_BLAS`` gets the same value either way.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from pathlib import Path

__all__ = ["install", "scipy_blas_present"]

_TARGET = "numba.np.arraymath"


def scipy_blas_present() -> bool:
    """True if SciPy's ``scipy.linalg.cython_blas`` extension is installed (found without importing it)."""
    spec = importlib.util.find_spec("scipy")
    if spec is None or not spec.submodule_search_locations:
        return False
    for root in spec.submodule_search_locations:
        folder = Path(root) / "linalg"
        suffixes = importlib.machinery.EXTENSION_SUFFIXES
        if any((folder / f"cython_blas{suffix}").is_file() for suffix in suffixes):
            return True
    return False


class _ProbingLoader(importlib.abc.Loader):
    """The real loader of ``numba.np.arraymath``, run with numba's ``ensure_blas`` as a file probe."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        from numba.np import linalg  # noqa: PLC0415 - numba imports it just before arraymath

        real = linalg.ensure_blas

        def ensure_blas() -> None:
            if "scipy.linalg" in sys.modules:
                return real()
            if not scipy_blas_present():
                raise ImportError("scipy 0.16+ is required for linear algebra")
            linalg._check_lapack_int_width()
            return None

        linalg.ensure_blas = ensure_blas
        try:
            self._loader.exec_module(module)
        finally:
            linalg.ensure_blas = real


class _Finder(importlib.abc.MetaPathFinder):
    """Meta-path finder that hands ``numba.np.arraymath`` to :class:`_ProbingLoader`, once."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        _uninstall()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not _probe_applies():
            return spec
        spec.loader = _ProbingLoader(spec.loader)
        return spec


def _probe_applies() -> bool:
    try:
        from numba.np import linalg  # noqa: PLC0415
    except ImportError:  # pragma: no cover - numba without its linalg module
        return False
    return callable(getattr(linalg, "ensure_blas", None)) and callable(
        getattr(linalg, "_check_lapack_int_width", None)
    )


_FINDER = _Finder()


def _uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def install() -> None:
    """Register the hook (no-op if ``numba.np.arraymath`` is already imported or the hook is in place)."""
    if _TARGET in sys.modules or _FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, _FINDER)
