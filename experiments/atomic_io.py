"""Atomic file writes: write a hidden temp file next to the target, then ``os.replace`` it.

A reader sees the old file or the new one, never a partial one: a write that fails (or a process killed)
mid-way leaves the old file as it was, and at most a ``.NAME.PID.tmp`` file beside it (``TMP_GLOB``
matches these, for clean-up).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["TMP_GLOB", "replace_write", "temp_path"]

#: glob for the temp files :func:`replace_write` leaves behind when a write fails
TMP_GLOB = ".*.tmp"


def temp_path(path: Path) -> Path:
    """The temp file :func:`replace_write` writes before replacing ``path`` (hidden, same folder)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def replace_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` atomically: ``write(tmp)`` writes the temp file, then ``os.replace(tmp, path)``.

    Args:
        path: The file to write (created or replaced).
        write: Called with the temp file's path; writes the whole content there (and fsyncs it, if the
            caller wants the content on disk before the rename). If it raises, ``path`` is untouched.
    """
    tmp = temp_path(path)
    write(tmp)
    os.replace(tmp, path)
