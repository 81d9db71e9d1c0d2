"""Integrity and start-up, from outside: checksums kept while storing, verified on retrieve
(pynetdicom C-GET) and by `dicomkit archive verify`; a damaged index at start-up; the called
AE title check; legacy UIDs in lenient mode."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import raw_peer as rp
from archive_helpers import cli, cli_subprocess, serving, synthetic
from peers import free_port, stop
from pnd_peer import get, store_rows

pytestmark = pytest.mark.interop
ROWS = synthetic(4)


def _study_rows() -> tuple[str, list[dict[str, object]]]:
    studies = [str(r["StudyInstanceUID"]) for r in ROWS]
    study = max(studies, key=studies.count)
    rows = [r for r in ROWS if r["StudyInstanceUID"] == study]
    assert len(rows) >= 3
    return study, rows


def test_damaged_files_fail_their_sub_operations_not_the_association(tmp_path: Path) -> None:
    port = free_port()
    arch = tmp_path / "arch"
    study, rows = _study_rows()
    with serving(arch, port) as proc:
        assert store_rows(port, ROWS, tmp_path) == [0] * len(ROWS)
        flipped, truncated = (next(arch.rglob(f"{r['SOPInstanceUID']}.dcm")) for r in rows[:2])
        data = bytearray(flipped.read_bytes())
        data[-3] ^= 0x01  # one bit of the pixel data
        flipped.write_bytes(bytes(data))
        truncated.write_bytes(truncated.read_bytes()[:-100])
        statuses, received = get(port, "STUDY", StudyInstanceUID=study)
        _out, err = stop(proc, signal.SIGINT, timeout=15)
    got = {ds.SOPInstanceUID for ds in received}
    assert got == {r["SOPInstanceUID"] for r in rows[2:]}
    final = statuses[-1]
    assert final.Status != 0  # not Success: sub-operations failed
    assert int(final.NumberOfFailedSuboperations) == 2
    assert "damaged" in err and str(rows[0]["SOPInstanceUID"]) in err
    # the scrub finds both
    code, out, _err = cli("archive", "verify", str(arch))
    assert code == 1
    assert out.count("damaged") >= 2 and f"{len(ROWS) - 2} files intact" in out


def test_verify_clean_archive(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path / "arch", port):
        store_rows(port, ROWS, tmp_path)
    code, out, _err = cli("archive", "verify", str(tmp_path / "arch"))
    assert code == 0, out
    assert f"{len(ROWS)} files intact, 0 damaged" in out


def test_damaged_index_at_start_up_is_one_line_and_rebuild_fixes_it(tmp_path: Path) -> None:
    port = free_port()
    arch = tmp_path / "arch"
    with serving(arch, port):
        store_rows(port, ROWS, tmp_path)
    (arch / "index.sqlite").write_bytes(b"not a database" * 300)
    for name in ("index.sqlite-wal", "index.sqlite-shm"):
        (arch / name).unlink(missing_ok=True)
    code, _out, err = cli_subprocess("serve", str(arch), "--port", str(port))
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "dicomkit archive rebuild" in lines[0], err
    code, out, _err = cli("archive", "rebuild", str(arch))
    assert code == 0 and f"{len(ROWS)} instances" in out
    assert list(arch.glob("index.sqlite.damaged-*"))
    code, out, _err = cli("archive", "check", str(arch))
    assert code == 0 and "clean" in out
    code, out, _err = cli("archive", "verify", str(arch))  # checksums re-made from files
    assert code == 0


def test_no_check_option_skips_the_start_up_check(tmp_path: Path) -> None:
    port = free_port()
    arch = tmp_path / "arch"
    with serving(arch, port):
        store_rows(port, ROWS, tmp_path)
    victims = sorted(arch.rglob("*.dcm"))[:2]
    for p in victims:
        p.unlink()
    with serving(arch, port, "--no-check"):
        pass  # starts without looking: the rows stay for the operator to inspect
    code, out, _err = cli("archive", "check", str(arch))
    assert code == 1 and out.count("index row without file") == len(victims)
    with serving(arch, port):
        pass  # the start-up check repairs
    code, out, _err = cli("archive", "check", str(arch))
    assert code == 0 and "clean" in out


@pytest.mark.parametrize("required", [False, True])
def test_called_ae_title_check_is_an_option(tmp_path: Path, required: bool) -> None:
    port = free_port()
    extra = ["--require-called-aet"] if required else []
    with serving(tmp_path / "arch", port, *extra):
        sock, kind = rp.associate(port, called=b"SOMEONEELSE")
        sock.close()
        sock, ours = rp.associate(port, called=b"DICOMKIT")
        sock.close()
    assert ours == 0x02
    assert kind == (0x03 if required else 0x02)


@pytest.mark.parametrize("lenient", [False, True])
def test_legacy_leading_zero_uid_needs_lenient_mode(tmp_path: Path, lenient: bool) -> None:
    port = free_port()
    legacy = b"1.2.826.0.1.3680043.10.543.05"
    extra = ["--lenient-uids"] if lenient else []
    with serving(tmp_path / "arch", port, *extra):
        sock, kind = rp.associate(port, abstract=rp.SC_IMAGE)
        assert kind == 0x02
        with sock:
            sock.sendall(rp.p_data(1, rp.store_rq(rp.SC_IMAGE, legacy), is_command=True))
            body = rp.small_dataset(rp.SC_IMAGE, legacy, study=b"1.2.3.04", series=b"1.2.3.04.5")
            sock.sendall(rp.p_data(1, body, is_command=False))
            kind, pdu = rp.read_pdu(sock)
    assert kind == 0x04
    status = rp.status_of(rp.command_fields(pdu))
    stored = list((tmp_path / "arch").rglob("*.05.dcm"))
    if lenient:
        assert status == 0 and len(stored) == 1
    else:
        assert status >= 0xA000 and not stored
