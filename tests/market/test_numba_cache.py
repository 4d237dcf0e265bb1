"""The numba cache folder follows the market package's source, so no stale kernel is ever loaded."""

from __future__ import annotations

from pathlib import Path

import numba

import market
from market import _lob_kernels
from market._numba_cache import FOLDER_PREFIX, market_source_digest, versioned_cache_dir


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_digest_changes_with_any_source_file_and_only_then(tmp_path):
    root = _tree(tmp_path / "pkg", {"a.py": "x = 1\n", "sub/b.py": "y = 2\n", "notes.txt": "n"})
    first = market_source_digest(root)
    assert market_source_digest(root) == first  # stable
    (root / "notes.txt").write_text("other")  # not Python: no effect
    assert market_source_digest(root) == first
    (root / "sub" / "b.py").write_text("y = 3\n")  # an edit of one imported module: a new folder
    edited = market_source_digest(root)
    assert edited != first
    (root / "sub" / "b.py").rename(root / "sub" / "c.py")  # same text, another file name
    assert market_source_digest(root) not in (first, edited)


def test_versioned_folder_is_idempotent_for_workers(tmp_path):
    once = versioned_cache_dir(tmp_path, "abc")
    assert Path(once) == tmp_path / f"{FOLDER_PREFIX}abc"
    assert versioned_cache_dir(once, "abc") == once  # a sweep worker inherits the parent's folder
    assert Path(versioned_cache_dir(once, "def")).parent == Path(once)


def test_kernels_cache_in_the_folder_of_this_source():
    digest = market_source_digest(Path(market.__file__).parent)
    folder = Path(numba.config.CACHE_DIR)
    assert folder.name == FOLDER_PREFIX + digest
    cache_path = Path(_lob_kernels.apply_message._cache._cache_path)
    assert folder in cache_path.parents
