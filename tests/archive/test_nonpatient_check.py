"""``dicomkit archive check|verify`` and the start-up check cover the non-patient objects
(Hanging Protocols, Color Palettes ... under ROOT/.nonpatient): damaged files found by the
scrub, rows without files dropped, files without rows indexed again, unreadable ones
quarantined."""

from __future__ import annotations

from pathlib import Path

from archive_helpers import cli

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import uids


def _palette(label: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = uids.ColorPaletteStorage
    ds.SOPInstanceUID = generate_uid()
    ds.ContentLabel = label
    return ds


def _store(root: Path, n: int) -> list[Path]:
    paths = []
    with Archive(root) as arch:
        for i in range(n):
            temp = arch.incoming_path()
            dicomkit.write(_palette(f"PAL{i}"), temp)
            paths.append(arch.ingest(temp).path)
    return paths


def _rows(root: Path) -> int:
    with Archive(root, check=False) as arch:
        return arch.non_patient.count()


def test_verify_finds_a_damaged_non_patient_file(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    first, _second = _store(root, 2)
    code, text, _ = cli("archive", "verify", str(root))
    assert code == 0 and "2 files intact, 0 damaged" in text
    data = bytearray(first.read_bytes())
    data[-1] ^= 0xFF
    first.write_bytes(bytes(data))
    code, text, _ = cli("archive", "verify", str(root))
    assert code == 1
    assert "1 files intact, 1 damaged" in text and first.name in text


def test_check_repairs_non_patient_rows_and_files(tmp_path: Path) -> None:
    root = tmp_path / "arch"
    kept, gone, orphan = _store(root, 3)
    gone.unlink()  # a row without its file
    with Archive(root, check=False) as arch:  # a file without its row
        arch.non_patient.db.execute(
            "DELETE FROM non_patient_instance WHERE sop_instance_uid = ?", (orphan.stem,)
        )
    junk = root / ".nonpatient" / "color_palette" / "1.2.3.dcm"
    junk.parent.mkdir(parents=True, exist_ok=True)
    junk.write_bytes(b"not dicom at all")
    code, text, _ = cli("archive", "check", str(root))
    assert code == 1
    assert f"index row without file: .nonpatient/{gone.parent.name}/{gone.name}" in text
    assert orphan.name in text and "1.2.3.dcm" in text
    code, text, _ = cli("archive", "check", str(root), "--repair")
    assert code == 0, text
    assert "unreadable file quarantined" in text and "1.2.3.dcm" in text
    assert _rows(root) == 2  # kept + the orphan indexed again
    with Archive(root) as arch:  # the start-up check: clean now
        assert arch.last_check is not None and arch.last_check.clean
        uids_ = {
            r[0]
            for r in arch.non_patient.db.query("SELECT sop_instance_uid FROM non_patient_instance")
        }
    assert uids_ == {kept.stem, orphan.stem}
    code, text, _ = cli("archive", "verify", str(root))
    assert code == 0 and "2 files intact" in text
