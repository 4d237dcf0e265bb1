"""One numba cache folder per version of the market's source: no stale machine code across modules.

numba validates a cached kernel against a stamp of *its own* source file only. A kernel compiles the
kernels it calls into itself, across modules: the flow kernel (``_flow_kernels.py``) carries a copy
of the order book's step (``_lob_kernels.py``), ``_exposure_kernel.py`` carries the Black-76 greeks.
After an edit of ``_lob_kernels.py`` alone numba would still load the flow kernel's old machine code,
which can disagree with the new book layout (seen in this project: a run that never ended after the
order-id hash changed). So the cache lives in a sub-folder named by a digest of every ``.py`` file of the
``market`` package: any edit of the market code starts a fresh folder, unchanged code keeps its cache.

The base folder is ``NUMBA_CACHE_DIR`` (the Makefile sets ``.numba_cache``), else
``$XDG_CACHE_HOME/hedging-cascade/numba`` (``~/.cache/...``). Old sub-folders are not deleted
(``make clean`` removes ``.numba_cache``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["FOLDER_PREFIX", "market_source_digest", "use_versioned_cache", "versioned_cache_dir"]

FOLDER_PREFIX = "market-"
"""Sub-folder names are this prefix plus :func:`market_source_digest`."""


def market_source_digest(root: Path | None = None) -> str:
    """SHA-256 (16 hex digits) of every ``.py`` file under ``root`` (default: the market package).

    File names (relative, sorted) are part of the digest, so moving a kernel changes it too.
    """
    root = Path(__file__).resolve().parent if root is None else Path(root)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def versioned_cache_dir(base: str | os.PathLike[str], digest: str) -> str:
    """``base/market-<digest>``; ``base`` itself when it already is that folder (a sweep worker's)."""
    name = FOLDER_PREFIX + digest
    base = Path(base)
    return str(base if base.name == name else base / name)


def _default_base() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "hedging-cascade" / "numba"


def use_versioned_cache() -> str:
    """Point numba (and child processes, through ``NUMBA_CACHE_DIR``) at this source's cache folder.

    Call before any ``@njit(cache=True)`` kernel of the package is defined: numba picks a function's
    cache folder when it is decorated. Returns the folder.
    """
    base = os.environ.get("NUMBA_CACHE_DIR") or str(_default_base())
    path = versioned_cache_dir(base, market_source_digest())
    os.environ["NUMBA_CACHE_DIR"] = path
    import numba  # noqa: PLC0415 - after the environment is set, for a first import of numba

    numba.config.CACHE_DIR = path
    return path
