"""Arrays and objects kept on disk between processes: round trip, atomic, never trusted blindly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from geo.analysis import instance_files


def test_arrays_come_back_mapped_read_only_and_equal(tmp_path: Path) -> None:
    arrays = {"a": np.arange(10, dtype=np.int32), "b": np.array(["候选格 87", "x"])}
    assert instance_files.save(tmp_path, "k1", arrays)
    loaded = instance_files.load(tmp_path, "k1", ("a", "b"))
    assert loaded is not None
    assert isinstance(loaded["a"], np.memmap) and not loaded["a"].flags.writeable
    assert loaded["a"].tolist() == list(range(10)) and loaded["b"].tolist() == ["候选格 87", "x"]
    assert [path.name for path in tmp_path.iterdir()] == ["k1"]  # no temporary folder left behind


def test_a_missing_or_damaged_set_reads_as_missing(tmp_path: Path) -> None:
    assert instance_files.load(tmp_path, "nothing", ("a",)) is None
    instance_files.save(tmp_path, "k2", {"a": np.ones(4)})
    assert instance_files.load(tmp_path, "k2", ("a", "b")) is None  # one array missing
    (tmp_path / "k2" / "a.npy").write_bytes(b"not an array")
    assert instance_files.load(tmp_path, "k2", ("a",)) is None
    (tmp_path / "m.pickle").write_bytes(b"\x80\x05garbage")
    assert instance_files.load_object(tmp_path, "m") is None


def test_objects_round_trip_and_old_entries_are_pruned(tmp_path: Path) -> None:
    for number in range(instance_files.KEEP + 3):
        assert instance_files.save_object(tmp_path, f"o{number}", {"n": number})
        os.utime(tmp_path / f"o{number}.pickle", (number, number))  # oldest first
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert len(kept) == instance_files.KEEP and "o0.pickle" not in kept
    assert instance_files.load_object(tmp_path, f"o{instance_files.KEEP + 2}") == {"n": instance_files.KEEP + 2}


def test_a_directory_that_cannot_be_written_is_not_an_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    assert instance_files.save(blocked, "k", {"a": np.ones(2)}) is False
    assert instance_files.save_object(blocked, "k", 1) is False


def test_keys_differ_by_every_part() -> None:
    keys = {instance_files.key_of("g1", 500.0, 1000.0, 8), instance_files.key_of("g2", 500.0, 1000.0, 8),
            instance_files.key_of("g1", 600.0, 1000.0, 8), instance_files.key_of("g1", 500.0, 1000.0, 9)}
    assert len(keys) == 4


def test_a_damaged_set_is_replaced_when_stored_again(tmp_path: Path) -> None:
    """A folder that cannot be read is rebuilt by the next process, not kept for ever."""
    assert instance_files.save(tmp_path, "k3", {"a": np.arange(3)})
    (tmp_path / "k3" / "a.npy").write_bytes(b"truncated")
    assert instance_files.load(tmp_path, "k3", ("a",)) is None
    assert instance_files.save(tmp_path, "k3", {"a": np.arange(3)})
    loaded = instance_files.load(tmp_path, "k3", ("a",))
    assert loaded is not None and loaded["a"].tolist() == [0, 1, 2]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["k3"]


def test_pruning_keeps_the_newest_entries_within_the_byte_budget(tmp_path: Path) -> None:
    for number in range(4):
        instance_files.save(tmp_path, f"big{number}", {"a": np.zeros(1000)})  # ~8 KB each
        os.utime(tmp_path / f"big{number}", (number, number))
    instance_files.prune(tmp_path, keep=10, max_bytes=17_000)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big2", "big3"]
    instance_files.prune(tmp_path, keep=10, max_bytes=10)  # the newest is always kept
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big3"]


def test_stored_objects_can_be_read_by_other_users(tmp_path: Path) -> None:
    instance_files.save_object(tmp_path, "m", {"x": 1})
    assert (tmp_path / "m.pickle").stat().st_mode & 0o044 == 0o044
