"""Frame Level Retrieve (PS3.4 Y, Z) from `dicomkit serve`: pynetdicom and `dicomkit get
--frames` ask for frames of a multi-frame instance and get a new instance holding just
those, with the Frame Extraction Sequence naming the source."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import serving
from peers import free_port, require_module

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import uids

pytestmark = pytest.mark.interop
SC = uids.MultiFrameGrayscaleWordSecondaryCaptureImageStorage
CI_GET = uids.CompositeInstanceRootRetrieveGet
FRAMES, ROWS, COLS = 12, 4, 3
FRAME_BYTES = ROWS * COLS * 2


def _frame(n: int) -> bytes:
    """Frame n (1-based): every sample is n * 100 + its index, so frames differ."""
    return b"".join((n * 100 + i).to_bytes(2, "little") for i in range(ROWS * COLS))


def _multiframe() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = SC
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "FRAMES1"
    ds.PatientName = "Frame^Test"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = ROWS, COLS
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = FRAMES
    ds.FrameTime = 100.0
    ds.FrameIncrementPointer = 0x00181063
    ds.PixelData = b"".join(_frame(n) for n in range(1, FRAMES + 1))
    return ds


SOURCE = _multiframe()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    tmp = tmp_path_factory.mktemp("frames")
    port = free_port()
    with serving(tmp / "arch", port):
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(SC)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        path = tmp / "mf.dcm"
        dicomkit.write(SOURCE, path)
        assert assoc.send_c_store(pydicom.dcmread(path)).Status == 0
        assoc.release()
        yield port


def _ident(**keys: Any) -> Any:
    from pydicom.dataset import Dataset as PDataset

    ds = PDataset()
    ds.QueryRetrieveLevel = "FRAME"
    ds.StudyInstanceUID = SOURCE.StudyInstanceUID
    ds.SeriesInstanceUID = SOURCE.SeriesInstanceUID
    ds.SOPInstanceUID = SOURCE.SOPInstanceUID
    for k, v in keys.items():
        setattr(ds, k, v)
    return ds


def _get(port: int, ident: Any) -> tuple[list[int], list[Any]]:
    import pynetdicom
    from pynetdicom import build_role, evt

    received: list[Any] = []

    def on_store(event: Any) -> int:
        received.append(event.dataset)
        return 0

    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(CI_GET)
    ae.add_requested_context(SC)
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="DICOMKIT",
        ext_neg=[build_role(SC, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    statuses = [s.Status for s, _i in assoc.send_c_get(ident, CI_GET)]
    assoc.release()
    return statuses, received


def _check(got: Any, frames: list[int]) -> None:
    assert int(got.NumberOfFrames) == len(frames)
    assert bytes(got.PixelData)[: len(frames) * FRAME_BYTES] == b"".join(_frame(f) for f in frames)
    assert got.SOPInstanceUID != SOURCE.SOPInstanceUID
    assert got.SOPClassUID == SC
    item = got.FrameExtractionSequence[0]
    assert item.MultiFrameSourceSOPInstanceUID == SOURCE.SOPInstanceUID


def test_simple_frame_list(node: int) -> None:
    statuses, received = _get(node, _ident(SimpleFrameList=[2, 5]))
    assert statuses[-1] == 0
    [got] = received
    _check(got, [2, 5])
    assert list(got.FrameExtractionSequence[0].SimpleFrameList) == [2, 5]


def test_calculated_frame_list(node: int) -> None:
    statuses, received = _get(node, _ident(CalculatedFrameList=[1, 12, 4]))
    assert statuses[-1] == 0
    _check(received[0], [1, 5, 9])


def test_time_range(node: int) -> None:
    # frame n is at (n - 1) * 100 ms: 0.2 s to 0.4 s are frames 3, 4 and 5
    statuses, received = _get(node, _ident(TimeRange=[0.2, 0.4]))
    assert statuses[-1] == 0
    _check(received[0], [3, 4, 5])


def test_frames_not_in_the_instance(node: int) -> None:
    statuses, received = _get(node, _ident(SimpleFrameList=[40]))
    assert received == []
    assert statuses[-1] == 0xAA00


def test_cli_get_frames(node: int, tmp_path: Path) -> None:
    out = tmp_path / "out"
    keys = ["--frames", "3-6", "--sop-class", SC, "-o", str(out)]
    for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        keys += ["-k", f"{kw}={SOURCE.get(kw)}"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dicomkit",
            "get",
            "127.0.0.1",
            str(node),
            "--aec",
            "DICOMKIT",
            *keys,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    [path] = list(out.rglob("*.dcm"))
    pydicom = require_module("pydicom")
    _check(pydicom.dcmread(path), [3, 4, 5, 6])
