"""Output folders: checked before a run starts, written to a temporary sibling, renamed into place.

``cascade run`` checks ``--out`` with :func:`check_run_out` before it simulates anything, and
:func:`commit_dir` moves the finished files into place, so a run killed while writing leaves either
the previous folder or the complete new one (plus, at worst, a hidden ``.<name>.tmp-<pid>`` sibling),
never a folder with only some of the files. A folder that holds anything other than the files of a
previous run is refused unless ``overwrite`` is given.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["RUN_ENTRIES", "OutputError", "check_creatable", "check_run_out", "commit_dir", "temp_sibling"]

#: What a run folder may hold: the run's files and the dashboard folder ``cascade run --plot`` adds.
RUN_ENTRIES = frozenset(
    {
        "summary.json",
        "scenario.toml",
        "timeseries.parquet",
        "trades.parquet",
        "depth.parquet",
        "gex.parquet",
        "option_trades.parquet",
        "plots",
    }
)


class OutputError(ValueError):
    """An output path that cannot be used (one line: the path and what is wrong)."""


def check_creatable(path: str | os.PathLike[str], flag: str = "--out") -> Path:
    """Check that ``path`` is a folder or can be created as one; return it as a Path.

    Raises:
        OutputError: ``path`` is a file, lies under a file, or its nearest existing ancestor is not
            a writable folder.
    """
    out = Path(path)
    if str(path) == "" or "\x00" in str(path):
        raise OutputError(f"{flag} {str(path)!r}: not a valid folder name")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {str(out)!r}: exists and is not a folder")
    probe = out.absolute()
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: mkdir would fail on it
            raise OutputError(f"{flag} {str(out)!r}: {str(probe)!r} is a broken symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{flag} {str(out)!r}: {str(probe)!r} is a file, not a folder")
    try:  # permissions alone do not tell (root, read-only mounts, /proc): try, leave nothing behind
        os.rmdir(tempfile.mkdtemp(prefix=".cascade-probe-", dir=probe))
    except OSError as exc:
        raise OutputError(f"{flag} {str(out)!r}: cannot create a folder in {str(probe)!r} "
                          f"({exc.strerror or exc})") from None  # fmt: skip
    return out


def is_previous_run(path: Path) -> bool:
    """True if ``path`` is a folder holding a ``summary.json`` and only files a run writes."""
    try:
        names = {p.name for p in path.iterdir()}
    except OSError:
        return False
    return "summary.json" in names and names <= RUN_ENTRIES


def check_run_out(path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    """Check ``--out`` of ``cascade run`` before anything runs; return it as a Path.

    Allowed: a folder that does not exist yet (and can be created), an empty folder, a previous
    run's folder (replaced), or, with ``overwrite``, any folder (the run's files replace theirs).

    Raises:
        OutputError: otherwise, naming the path and the reason.
    """
    out = check_creatable(path)
    if out.is_dir():
        try:
            empty = not any(out.iterdir())
        except OSError as exc:
            raise OutputError(f"--out {str(out)!r}: cannot list it ({exc.strerror})") from None
        if not (empty or overwrite or is_previous_run(out)):
            raise OutputError(
                f"--out {str(out)!r}: not empty and not a previous run's folder; choose another folder "
                "or add --overwrite"
            )
    return out


def temp_sibling(out: Path) -> Path:
    """A new, empty hidden folder next to ``out`` (same file system, so a rename is atomic)."""
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    tmp = out.absolute().parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def commit_dir(tmp: Path, out: Path, overwrite: bool = False) -> None:
    """Move the finished folder ``tmp`` into place as ``out``.

    ``out`` absent or empty: one rename. ``out`` a previous run: it is renamed aside, ``tmp`` renamed
    in, the old one deleted. Otherwise (``overwrite``): each file of ``tmp`` replaces its namesake in
    ``out`` by a rename, other files of ``out`` are left alone.
    """
    out = out.absolute()
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    if is_previous_run(out):
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
        return
    if not overwrite:  # pragma: no cover - check_run_out refused it before the run
        raise OutputError(f"--out {str(out)!r}: not empty and not a previous run's folder")
    for item in tmp.iterdir():
        target = out / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif item.is_dir() and (target.exists() or target.is_symlink()):
            target.unlink()
        os.replace(item, target)
    tmp.rmdir()
