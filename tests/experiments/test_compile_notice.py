"""The cold-cache notice: detection on fake cache folders (nothing is compiled) and the printed lines."""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path

import numba
import pytest

from experiments.compile_notice import KERNEL_MODULES, cold_modules, compile_notice, has_fresh_index


def _write_index(cache: Path, name: str, stamp: object, version: str = numba.__version__) -> Path:
    """A numba-style index file: the numba version pickled, then ``(stamp, overloads)`` pickled."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / name
    with open(path, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(pickle.dumps((stamp, {}), protocol=-1))
    return path


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "src" / "kern.py"
    path.parent.mkdir()
    path.write_text("def f(x):\n    return x\n")
    return path


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def test_an_empty_or_missing_cache_folder_is_cold(tmp_path, source):
    assert not has_fresh_index(tmp_path / "absent", source)
    (tmp_path / "empty").mkdir()
    assert not has_fresh_index(tmp_path / "empty", source)


def test_an_index_for_the_current_source_is_warm(tmp_path, source):
    cache = tmp_path / "cache"
    _write_index(cache, "kern.f-1.py311.nbi", _digest(source))
    assert has_fresh_index(cache, source)


def test_an_index_of_an_edited_source_is_cold(tmp_path, source):
    cache = tmp_path / "cache"
    _write_index(cache, "kern.f-1.py311.nbi", _digest(source))
    source.write_text("def f(x):\n    return x + 1\n")
    assert not has_fresh_index(cache, source)


def test_an_index_of_another_numba_version_or_module_or_a_broken_file_is_cold(tmp_path, source):
    cache = tmp_path / "cache"
    _write_index(cache, "kern.f-1.py311.nbi", _digest(source), version="0.1.0")
    _write_index(cache, "other.f-1.py311.nbi", _digest(source))
    (cache / "kern.g-5.py311.nbi").write_bytes(b"not a pickle")
    assert not has_fresh_index(cache, source)
    _write_index(cache, "kern.h-9.py311.nbi", _digest(source))  # one fresh index is enough
    assert has_fresh_index(cache, source)


def test_an_mtime_size_stamp_of_older_numba_versions_is_accepted(tmp_path, source):
    st = source.stat()
    _write_index(tmp_path / "cache", "kern.f-1.py311.nbi", (st.st_mtime, st.st_size))
    assert has_fresh_index(tmp_path / "cache", source)


def test_cold_modules_looks_in_the_folder_numba_uses(tmp_path, monkeypatch):
    import market.ivsurface as mod
    from experiments import compile_notice as cn

    monkeypatch.setattr(cn, "_cache_path", lambda module: tmp_path)
    assert cold_modules(["market.ivsurface"]) == ["market.ivsurface"]
    _write_index(tmp_path, "ivsurface.x-1.py311.nbi", _digest(Path(mod.__file__)))
    assert cold_modules(["market.ivsurface"]) == []


def test_the_real_cache_path_is_the_dispatchers():
    import numba

    import market.ivsurface as mod
    from experiments import compile_notice as cn

    path = cn._cache_path(mod)
    assert path is not None and path.is_dir()
    assert path == Path(mod.smile_total_vol._cache.cache_path)  # a kernel of the module itself
    assert Path(numba.config.CACHE_DIR) in path.parents  # inside this source version's folder


def test_the_notice_is_two_lines_when_cold_and_nothing_when_warm():
    err = io.StringIO()
    with compile_notice(err, cold=list(KERNEL_MODULES)):
        pass
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("cascade: compiling the numba kernels (first run only; about ")
    assert "2-core machine" in lines[0] and lines[1].startswith("cascade: done, compiled in ")
    err = io.StringIO()
    with compile_notice(err, cold=["market.ivsurface"]):
        pass
    assert "numba kernels of market.ivsurface" in err.getvalue()
    err = io.StringIO()
    with compile_notice(err, cold=[]):
        pass
    assert err.getvalue() == ""


def test_a_module_is_found_in_the_folder_of_its_own_kernels():
    """market._exposure_kernel imports black76's kernels (another folder): its own decide its cache."""
    import market._exposure_kernel as exp
    import market.black76.vectorised as vec
    from experiments import compile_notice as cn

    assert cn._cache_path(exp) is not None and cn._cache_path(vec) is not None
    assert cn._cache_path(exp) != cn._cache_path(vec)
