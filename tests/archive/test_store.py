"""The file store: UID-checked layout, atomic placement, duplicate policies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dicomkit.archive import DuplicateInstanceError, DuplicatePolicy, FileStore, InvalidUIDError
from dicomkit.errors import ArchiveError

STUDY, SERIES, SOP = "1.2.3", "1.2.3.4", "1.2.3.4.5"


def temp_file(store: FileStore, data: bytes) -> Path:
    path = store.incoming_path()
    path.write_bytes(data)
    return path


def test_layout(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    rel = store.relpath(STUDY, SERIES, SOP)
    assert rel == f"{STUDY}/{SERIES}/{SOP}.dcm"
    final, written = store.place(temp_file(store, b"abc"), rel)
    assert written and final == tmp_path / STUDY / SERIES / f"{SOP}.dcm"
    assert final.read_bytes() == b"abc"
    assert list(store.iter_files()) == [rel]
    assert not list((tmp_path / ".incoming").iterdir())  # the temporary file is gone


@pytest.mark.parametrize(
    "uid", ["../../etc", "1.2.3/4", "", "1.02.3", "1.2.a", "1" * 65, "/abs", "1..2", "1.2."]
)
def test_invalid_uids_never_become_paths(tmp_path: Path, uid: str) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(InvalidUIDError):
        store.relpath(uid, SERIES, SOP)
    with pytest.raises(InvalidUIDError):
        store.relpath(STUDY, SERIES, uid)


@pytest.mark.parametrize(
    "policy,expect,written",
    [
        (DuplicatePolicy.KEEP, b"old", False),
        (DuplicatePolicy.REPLACE, b"new", True),
    ],
)
def test_duplicate_policies(
    tmp_path: Path, policy: DuplicatePolicy, expect: bytes, written: bool
) -> None:
    store = FileStore(tmp_path)
    rel = store.relpath(STUDY, SERIES, SOP)
    store.place(temp_file(store, b"old"), rel)
    tmp = temp_file(store, b"new")
    final, was_written = store.place(tmp, rel, policy=policy)
    assert was_written is written
    assert final.read_bytes() == expect
    assert not tmp.exists()


def test_duplicate_reject(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    rel = store.relpath(STUDY, SERIES, SOP)
    store.place(temp_file(store, b"old"), rel)
    tmp = temp_file(store, b"new")
    with pytest.raises(DuplicateInstanceError):
        store.place(tmp, rel, policy=DuplicatePolicy.REJECT)
    assert store.resolve(rel).read_bytes() == b"old"
    assert not tmp.exists()


def test_temp_file_elsewhere_is_staged(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "arch")
    outside = tmp_path / "elsewhere.part"
    outside.write_bytes(b"data")
    final, _ = store.place(outside, store.relpath(STUDY, SERIES, SOP))
    assert final.read_bytes() == b"data" and not outside.exists()


def test_write_bytes_and_sweep(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    rel = store.relpath(STUDY, SERIES, SOP)
    store.write_bytes(b"x" * 100, rel)
    leftover = tmp_path / STUDY / SERIES / ".tmp-crashed"
    leftover.write_bytes(b"partial")
    store.incoming_path()
    removed = store.sweep_temporaries()
    assert leftover in removed and not leftover.exists()
    assert store.resolve(rel).stat().st_size == 100


def test_placement_fsyncs_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    tmp = temp_file(store, b"abc")
    final, _ = store.place(tmp, store.relpath(STUDY, SERIES, SOP))
    assert str(tmp) in synced[0] or synced[0].startswith(str(tmp_path))  # the file first
    assert str(final.parent) in synced  # then its directory, after the rename
    assert synced.index(str(final.parent)) > 0


def test_remove_prunes_empty_folders(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    rel = store.relpath(STUDY, SERIES, SOP)
    store.write_bytes(b"x", rel)
    store.remove(rel)
    assert not (tmp_path / STUDY).exists()
    with pytest.raises(ArchiveError):
        store.resolve("../outside.dcm")


def test_move_into_place_recreates_a_series_folder_removed_behind_its_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.relpath(STUDY, SERIES, SOP)
    assert store.move_into_place(temp_file(store, b"one"), first).read_bytes() == b"one"
    # the folder is known now; something else removes it (and its study folder)
    (tmp_path / first).unlink()
    (tmp_path / STUDY / SERIES).rmdir()
    (tmp_path / STUDY).rmdir()
    second = store.relpath(STUDY, SERIES, SOP + ".6")
    final = store.move_into_place(temp_file(store, b"two"), second)
    assert final == tmp_path / second and final.read_bytes() == b"two"
    # a missing temporary file is an error, not a retry
    with pytest.raises(ArchiveError):
        store.move_into_place(tmp_path / ".incoming" / "gone.dcm", second)


@pytest.mark.parametrize("rel", [f"{STUDY}/{SERIES}/{SOP}.dcm", "imported/a/b.dcm"])
def test_resolve_text_is_resolve_as_a_string(tmp_path: Path, rel: str) -> None:
    """resolve_text (C-MOVE / C-GET sub-operations): the same file as resolve, for the
    usual layout and any other path kept in the index; one leading out is refused alike."""
    store = FileStore(tmp_path)
    got = store.resolve_text(rel)
    assert isinstance(got, str) and Path(got) == store.resolve(rel)
    with pytest.raises(ArchiveError):
        store.resolve_text(f"{STUDY}/../../outside.dcm")
