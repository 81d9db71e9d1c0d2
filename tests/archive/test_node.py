"""The archive node: ingest (file + index durable together), duplicates, crash consistency."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from archive_helpers import synthetic, to_dataset, write_temp
from corpus import manifest

import dicomkit
from dicomkit.archive import Archive, DuplicateInstanceError, DuplicatePolicy, Model
from dicomkit.errors import ArchiveError

ROWS = synthetic(4)


class Crash(Exception):
    pass


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    arch = Archive(tmp_path / "arch")
    yield arch
    arch.close()


def test_ingest_and_find(archive: Archive) -> None:
    for row in ROWS:
        res = archive.ingest(write_temp(archive, row, pixels=True))
        assert res.outcome == "stored" and res.path.exists()
        assert res.path.relative_to(archive.root).parts == (
            row["StudyInstanceUID"],
            row["SeriesInstanceUID"],
            row["SOPInstanceUID"] + ".dcm",
        )
        assert dicomkit.read(res.path).SOPInstanceUID == row["SOPInstanceUID"]
    found = list(
        archive.find(
            {"QueryRetrieveLevel": "IMAGE", "SOPInstanceUID": ""},
            options=archive.options.__class__(relational=True),
        )
    )
    assert {r.as_dict()["SOPInstanceUID"] for r in found} == {r["SOPInstanceUID"] for r in ROWS}
    assert archive.check().clean


def test_store_dataset_and_retrieve(archive: Archive) -> None:
    for row in ROWS:
        archive.store_dataset(to_dataset(row))
    study = ROWS[-1]["StudyInstanceUID"]
    insts = archive.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    assert {i.sop_instance_uid for i in insts} == {
        r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study
    }
    for inst in insts:
        assert archive.path_of(inst).exists()
        assert inst.transfer_syntax


def test_duplicate_keep_replace_reject(tmp_path: Path) -> None:
    row = ROWS[0]
    with Archive(tmp_path / "a", policy=DuplicatePolicy.KEEP) as arch:
        arch.ingest(write_temp(arch, row))
        changed = {**row, "StudyDescription": "CHANGED"}
        tmp = write_temp(arch, changed)
        assert arch.ingest(tmp).outcome == "kept"
        assert not tmp.exists()
        assert (
            dicomkit.read(arch.path_of(arch.index.lookup(row["SOPInstanceUID"]))).StudyDescription
            == row["StudyDescription"]
        )
        tmp = write_temp(arch, changed)
        with pytest.raises(DuplicateInstanceError):
            arch.ingest(tmp, policy=DuplicatePolicy.REJECT)
        assert not tmp.exists()
        res = arch.ingest(write_temp(arch, changed), policy=DuplicatePolicy.REPLACE)
        assert res.outcome == "replaced"
        assert dicomkit.read(res.path).StudyDescription == "CHANGED"
        assert arch.index.count() == 1


def test_corpus_ingest(tmp_path: Path) -> None:
    files = [f for f in manifest() if not f.broken][:60]
    with Archive(tmp_path / "a") as arch:
        stored = {}
        for f in files:
            tmp = arch.incoming_path()
            shutil.copyfile(f.path, tmp)
            try:
                res = arch.ingest(tmp)
            except ArchiveError:
                continue  # e.g. no Study Instance UID: not storable
            if res.outcome == "stored":  # the corpus repeats some SOP Instance UIDs
                stored[res.sop_instance_uid] = f.path
        assert len(stored) > 30
        assert arch.index.count() == len(stored)
        for sop, src in stored.items():
            inst = arch.index.lookup(sop)
            assert inst is not None
            assert arch.path_of(inst).read_bytes() == Path(src).read_bytes()
        studies = list(
            arch.find(
                {
                    "QueryRetrieveLevel": "STUDY",
                    "StudyInstanceUID": "",
                    "NumberOfStudyRelatedInstances": "",
                }
            )
        )
        assert sum(int(r.as_dict()["NumberOfStudyRelatedInstances"]) for r in studies) == len(
            stored
        )
        assert arch.check().clean


@pytest.mark.parametrize("point", ["indexed", "placed"])
def test_crash_before_commit_leaves_no_row(tmp_path: Path, point: str) -> None:
    root = tmp_path / "a"
    arch = Archive(root)
    arch.ingest(write_temp(arch, ROWS[0]))

    def crash(where: str) -> None:
        if where == point:
            raise Crash(where)

    arch.fault = crash
    tmp = write_temp(arch, ROWS[1])
    with pytest.raises(Crash):
        arch.ingest(tmp)
    assert arch.index.lookup(ROWS[1]["SOPInstanceUID"]) is None  # never acknowledged
    assert not (
        root
        / ROWS[1]["StudyInstanceUID"]
        / ROWS[1]["SeriesInstanceUID"]
        / (ROWS[1]["SOPInstanceUID"] + ".dcm")
    ).exists()
    arch.fault = None
    assert arch.check(repair=False).clean
    # the SCU retries: it is stored normally
    assert arch.ingest(write_temp(arch, ROWS[1])).outcome == "stored"
    arch.close()


def test_crash_between_move_and_commit_is_repaired(tmp_path: Path) -> None:
    """A process killed after the rename but before the commit: a whole file, no row."""
    root = tmp_path / "a"
    arch = Archive(root)
    for row in ROWS[:3]:
        arch.ingest(write_temp(arch, row))
    # simulate: the file reached its place, the index transaction never committed
    orphan = ROWS[3]
    rel = arch.store.relpath(
        orphan["StudyInstanceUID"], orphan["SeriesInstanceUID"], orphan["SOPInstanceUID"]
    )
    arch.store.place(write_temp(arch, orphan), rel)
    # and: a row whose file vanished, and a half-written temporary file
    gone = arch.index.lookup(ROWS[0]["SOPInstanceUID"])
    assert gone is not None
    arch.path_of(gone).unlink()
    (root / ".incoming" / ".tmp-partial.dcm").write_bytes(b"half")
    (root / "1.2.3" / "1.2.3.4").mkdir(parents=True)
    (root / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm").write_bytes(b"not dicom")
    arch.close()

    arch = Archive(root)  # start-up check
    report = arch.last_check
    assert report is not None
    assert report.orphan_files == sorted([rel, "1.2.3/1.2.3.4/1.2.3.4.5.dcm"])
    assert report.missing_files == [gone.path]
    assert report.quarantined == ["1.2.3/1.2.3.4/1.2.3.4.5.dcm"]
    assert any(".tmp-partial" in t for t in report.temporaries)
    assert arch.index.lookup(orphan["SOPInstanceUID"]) is not None
    assert arch.index.lookup(ROWS[0]["SOPInstanceUID"]) is None
    assert arch.check().clean
    # the counts were rebuilt consistently
    res = {
        r.as_dict()["StudyInstanceUID"]: r.as_dict()
        for r in arch.find(
            {
                "QueryRetrieveLevel": "STUDY",
                "StudyInstanceUID": "",
                "NumberOfStudyRelatedInstances": "",
            }
        )
    }
    for uid, r in res.items():
        n = sum(1 for x in ROWS[1:] if x["StudyInstanceUID"] == uid)
        assert r["NumberOfStudyRelatedInstances"] == str(n)
    arch.close()


def test_patient_root_find_through_archive(archive: Archive) -> None:
    for row in ROWS:
        archive.store_dataset(to_dataset(row))
    res = [
        r.as_dict()
        for r in archive.find(
            {"QueryRetrieveLevel": "PATIENT", "PatientID": "", "PatientName": ""},
            Model.PATIENT_ROOT,
        )
    ]
    assert {r["PatientID"] for r in res} == {r["PatientID"] for r in ROWS}


def test_mass_disappearance_is_refused_not_repaired(tmp_path: Path) -> None:
    """An unmounted storage volume must not empty the index at start-up."""
    root = tmp_path / "a"
    with Archive(root) as arch:
        for row in synthetic(12):
            arch.store_dataset(to_dataset(row))
        n = arch.index.count()
    assert n > 20
    for study in [p for p in root.iterdir() if not p.name.startswith(".") and p.is_dir()]:
        shutil.rmtree(study)
    with pytest.raises(ArchiveError, match="mounted"):
        Archive(root)
    with Archive(root, check=False) as arch:
        assert arch.index.count() == n
        assert len(arch.check(repair=False).missing_files) == n


def test_concurrent_ingest_and_queries(tmp_path: Path) -> None:
    """Storage SCP threads ingest while C-FIND threads query: one connection, one lock."""
    from concurrent.futures import ThreadPoolExecutor

    rows = synthetic(16)
    with Archive(tmp_path / "a") as arch:
        temps = [write_temp(arch, row) for row in rows]

        def query(_: int) -> int:
            return len(list(arch.find({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""})))

        with ThreadPoolExecutor(8) as pool:
            stored = pool.map(arch.ingest, temps)
            counts = list(pool.map(query, range(40)))
            outcomes = [r.outcome for r in stored]
        assert outcomes.count("stored") == len(rows)
        assert arch.index.count() == len(rows)
        assert max(counts) <= len({r["StudyInstanceUID"] for r in rows})
        assert arch.check().clean


@pytest.mark.parametrize("point", ["indexed", "placed"])
def test_process_killed_mid_ingest(tmp_path: Path, point: str) -> None:
    """A real process death (os._exit) inside ingest: after restart, either the instance is
    fully there (file + row) or nothing is, and the SCU's retry succeeds."""
    import subprocess
    import sys
    import textwrap

    root = tmp_path / "a"
    with Archive(root) as arch:
        arch.ingest(write_temp(arch, ROWS[0]))
        temp = write_temp(arch, ROWS[1])
    script = textwrap.dedent(f"""
        import os
        from dicomkit.archive import Archive
        arch = Archive({str(root)!r}, check=False)
        def die(where):
            if where == {point!r}:
                os._exit(9)
        arch.fault = die
        arch.ingest({str(temp)!r})
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 9, proc.stderr
    with Archive(root) as arch:  # start-up check
        report = arch.last_check
        assert report is not None
        sop = ROWS[1]["SOPInstanceUID"]
        inst = arch.index.lookup(sop)
        if point == "placed":  # the file was in place: indexed again by the check
            assert inst is not None and arch.path_of(inst).exists()
        else:  # killed before the move: nothing stored, the temporary file swept
            assert inst is None and report.temporaries
        assert arch.check(repair=False).clean
        res = arch.ingest(write_temp(arch, ROWS[1]))
        assert res.outcome == ("kept" if point == "placed" else "stored")
        assert arch.index.count() == 2


def test_group_commit_batches_concurrent_ingests(tmp_path: Path) -> None:
    """Ingests that arrive while a commit is in progress are committed together (one
    transaction, one folder fsync per series, one WAL flush); a failing instance in a batch
    (a duplicate under `reject`) fails alone."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    rows = synthetic(6)
    with Archive(tmp_path / "a") as arch:
        arch.ingest(write_temp(arch, rows[0]))
        group = arch._group
        inner = group._commit
        sizes: list[int] = []
        first = threading.Event()

        def commit(batch: list) -> None:  # type: ignore[type-arg]
            sizes.append(len(batch))
            if len(sizes) == 1:  # hold the first batch until the others have queued
                first.set()
                deadline = time.monotonic() + 10
                while len(group._queue) < len(rows) - 1 and time.monotonic() < deadline:
                    time.sleep(0.005)
            inner(batch)

        group._commit = commit
        temps = [write_temp(arch, r) for r in rows[1:]]
        dup = write_temp(arch, rows[0])
        with ThreadPoolExecutor(len(rows) + 1) as pool:
            lead = pool.submit(arch.ingest, temps[0])
            assert first.wait(10)
            rest = [pool.submit(arch.ingest, t) for t in temps[1:]]
            rejected = pool.submit(arch.ingest, dup, policy=DuplicatePolicy.REJECT)
            assert lead.result().outcome == "stored"
            assert [f.result().outcome for f in rest] == ["stored"] * (len(temps) - 1)
            with pytest.raises(DuplicateInstanceError):
                rejected.result()
        assert sizes[0] == 1 and sum(sizes) == len(rows) and len(sizes) < len(rows)
        assert arch.index.count() == len(rows)
        assert arch.check(repair=False).clean


def test_ingest_batch_one_commit_failures_alone(tmp_path: Path) -> None:
    """`ingest_batch` (a STOW-RS request's instances): one commit for the whole batch, the
    results in order, and a failing instance (a duplicate under `reject`, a file whose
    header lacks its UIDs) fails alone while the others are stored and indexed."""
    rows = synthetic(5)[:5]
    with Archive(tmp_path / "a", policy=DuplicatePolicy.REJECT) as arch:
        arch.ingest(write_temp(arch, rows[0]))
        sizes: list[int] = []
        inner = arch._group._commit

        def commit(batch: list) -> None:  # type: ignore[type-arg]
            sizes.append(len(batch))
            inner(batch)

        arch._group._commit = commit
        temps = [write_temp(arch, r) for r in rows]  # rows[0] again: a duplicate
        headers = [dicomkit.read(t, stop_before_pixels=True) for t in temps]
        del headers[2].SOPInstanceUID
        results = arch.ingest_batch([(t, ds, None) for t, ds in zip(temps, headers, strict=True)])
        assert isinstance(results[0], DuplicateInstanceError)
        assert isinstance(results[2], ArchiveError)
        stored = [results[i] for i in (1, 3, 4)]
        assert [r.outcome for r in stored] == ["stored"] * 3  # type: ignore[union-attr]
        assert [r.sop_instance_uid for r in stored] == [  # type: ignore[union-attr]
            rows[i]["SOPInstanceUID"] for i in (1, 3, 4)
        ]
        assert sizes == [4]  # the header without UIDs never reached the commit
        assert arch.index.count() == 4
        assert not temps[1].exists() and stored[0].path.exists()  # type: ignore[union-attr]
        assert arch.verify().ok == 4
