"""The one-line notice ``cascade run`` prints while numba compiles the kernels (first run only).

numba compiles a ``@njit(cache=True)`` function the first time it is called and stores the machine
code in its cache folder (a sub-folder of ``NUMBA_CACHE_DIR`` per version of the market sources, see
``market/_numba_cache.py``; numba falls back to ``__pycache__`` next to the source,
or ``~/.cache/numba`` when that is read-only). With an empty cache the first day spends about a minute
compiling, so :func:`compile_notice` prints, on stderr::

    cascade: compiling the numba kernels (first run only; about 60 s on a 2-core machine) ...
    cascade: done, compiled in 42 s

Detection is cheap (no compiling, a few small file reads): a kernel module is *cold* when the cache
folder numba uses for it holds no index file (``<module>.<function>-<line>.py311.nbi``) written by
this numba version for the current content of the module's source (numba stamps every index with a
hash of the source file, so an edited module is cold again). A module with at least one fresh index is
taken as warm: a run that needs a signature not compiled yet still compiles it, without a notice.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["KERNEL_MODULES", "cold_modules", "compile_notice", "has_fresh_index"]

#: Modules with ``@njit(cache=True)`` kernels, with their share (seconds) of the cold compile of a first
#: ``cascade run nov20_2025`` (CPU seconds, measured with ``bench_compile.py``'s listener: 38 s in all
#: since the order-book step is compiled once, in ``_lob_kernels.apply_in_room``; it was 109 s when the
#: flow inlined four copies of it). Wall time on the shared 2-core machine is longer when it is busy.
#: ``market.black76.iv_solver`` is not listed: a run never calls it, so its cache would look cold forever.
KERNEL_MODULES: dict[str, float] = {
    "market._flow_kernels": 15.0,
    "market._lob_kernels": 30.0,
    "market.black76.scalar": 2.0,
    "market.black76.vectorised": 3.0,
    "market.ivsurface": 2.0,
    "market.gex": 2.0,
    "market._exposure_kernel": 1.0,
}


def has_fresh_index(cache_path: Path, source: Path) -> bool:
    """Whether ``cache_path`` holds a numba cache index that is valid for ``source`` right now.

    Args:
        cache_path: The folder numba caches ``source``'s functions in.
        source: The module's ``.py`` file.

    Returns:
        True if some ``<stem>.*.nbi`` index in ``cache_path`` was written by the installed numba
        version for the current content of ``source`` (numba >= 0.63 stamps an index with the
        SHA-256 of the source; older versions with its ``(mtime, size)``; both are accepted).
    """
    import numba

    try:
        stat = source.stat()
        stamps = (hashlib.sha256(source.read_bytes()).digest(), (stat.st_mtime, stat.st_size))
        indexes = sorted(Path(cache_path).glob(f"{source.stem}.*.nbi"))
    except OSError:
        return False
    for index in indexes:
        try:
            with open(index, "rb") as f:
                if pickle.load(f) != numba.__version__:
                    continue
                stamp = pickle.loads(f.read())[0]
        except Exception:  # noqa: BLE001, S110 - an unreadable index is not a fresh one
            continue
        if any(stamp == s for s in stamps):
            return True
    return False


def _cache_path(module: object) -> Path | None:
    """The folder numba caches ``module``'s functions in (None if caching is off, e.g. JIT disabled).

    Only the module's own kernels count: one imported from another folder (``market._exposure_kernel``
    uses ``market.black76``'s) is cached in that folder.
    """
    from numba.core.dispatcher import Dispatcher

    for obj in vars(module).values():
        if isinstance(obj, Dispatcher) and getattr(obj.py_func, "__module__", None) == module.__name__:
            path = getattr(getattr(obj, "_cache", None), "cache_path", None)
            if path:
                return Path(path)
    return None


def cold_modules(modules: Sequence[str] = tuple(KERNEL_MODULES)) -> list[str]:
    """The kernel modules (imported if needed) whose numba cache is cold; see the module docstring."""
    cold = []
    for name in modules:
        module = importlib.import_module(name)
        path = _cache_path(module)
        if path is not None and not has_fresh_index(path, Path(module.__file__)):
            cold.append(name)
    return cold


def _estimate(cold: Sequence[str]) -> str:
    seconds = sum(KERNEL_MODULES.get(name, 30.0) for name in cold)
    if seconds < 90:
        return f"about {int(math.ceil(seconds / 10.0) * 10)} s"
    return f"about {int(math.ceil(seconds / 60.0))} min"


@contextmanager
def compile_notice(stream: TextIO | None = None, cold: Sequence[str] | None = None) -> Iterator[None]:
    """Wrap the first run: if the kernels' cache is cold, say so on ``stream`` (default stderr).

    Prints nothing when the cache is warm. When cold, prints one line before the block and one line
    after it with the time numba spent compiling inside it (from ``numba.core.event``).

    Args:
        stream: Where to print (default ``sys.stderr``).
        cold: The cold modules, if already known (default: :func:`cold_modules`).
    """
    out = sys.stderr if stream is None else stream
    cold = cold_modules() if cold is None else list(cold)
    if not cold:
        yield
        return
    from numba.core import event

    what = "the numba kernels" if len(cold) == len(KERNEL_MODULES) else "numba kernels of " + ", ".join(cold)
    print(f"cascade: compiling {what} (first run only; {_estimate(cold)} on a 2-core machine) ...",
          file=out, flush=True)  # fmt: skip
    timer = _outermost_timer()
    with event.install_listener("numba:compile", timer):
        yield
    digits = 0 if timer.total_s >= 10 else 1
    print(f"cascade: done, compiled in {timer.total_s:.{digits}f} s", file=out, flush=True)


def _outermost_timer():
    """A ``numba:compile`` listener summing the time of outermost compiles (``.total_s``).

    A function's callees are compiled while it is typed, so only the outermost compiles are summed.
    """
    from numba.core.event import Listener

    class OutermostTimer(Listener):
        def __init__(self) -> None:
            self.depth = 0
            self.start = 0.0
            self.total_s = 0.0

        def on_start(self, event) -> None:
            if self.depth == 0:
                self.start = time.perf_counter()
            self.depth += 1

        def on_end(self, event) -> None:
            self.depth -= 1
            if self.depth == 0:
                self.total_s += time.perf_counter() - self.start

    return OutermostTimer()
