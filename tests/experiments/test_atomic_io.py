"""Atomic writes: a write that fails mid-way leaves the old file intact (and a hidden temp file at most)."""

import json

import pandas as pd
import pytest

from experiments.atomic_io import TMP_GLOB, replace_write, temp_path
from experiments.sweep.store import write_json_atomic, write_table


def test_replace_write_writes_through_a_hidden_temp_file(tmp_path):
    target = tmp_path / "a.txt"
    seen = []

    def write(tmp):
        seen.append(tmp)
        tmp.write_text("new")

    replace_write(target, write)
    assert target.read_text() == "new"
    assert seen == [temp_path(target)] and seen[0].parent == tmp_path and seen[0].name.startswith(".a.txt.")
    assert not list(tmp_path.glob(TMP_GLOB))


def test_a_crash_mid_write_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write("half of the new")
            fh.flush()
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_write(target, write)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.glob(TMP_GLOB)] == [temp_path(target).name]


def test_a_record_that_fails_to_serialize_mid_dump_keeps_the_old_record(tmp_path):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"run_id": "r", "status": "ok"})
    before = target.read_bytes()
    with pytest.raises(TypeError):  # json.dump has written the first keys when it meets the object
        write_json_atomic(target, {"run_id": "r", "status": "ok", "bad": object()})
    assert target.read_bytes() == before
    assert json.loads(before) == {"run_id": "r", "status": "ok"}


def test_a_table_write_that_fails_keeps_the_old_table(tmp_path):
    target = tmp_path / "runs.parquet"
    df = pd.DataFrame({"x": [1, 2]})
    write_table(df, target)
    before = target.read_bytes()

    class Broken:
        def to_parquet(self, path, index=False):
            path.write_bytes(b"PAR1 partial")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        write_table(Broken(), target)
    assert target.read_bytes() == before
    pd.testing.assert_frame_equal(pd.read_parquet(target), df)
