"""The storage SCU converts to a syntax the peer accepted (dicomkit.services._convert):
`dicomkit store` of compressed corpus files to DCMTK storescp taking only uncompressed syntaxes
(decompressed; the stored pixels equal the decoded source), and of an uncompressed file to a
pynetdicom SCP taking only a lossless compressed syntax (compressed; decoding gives the
source's pixels back)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import peers
import pytest
from corpus import manifest

import dicomkit
from dicomkit.dictionary import syntaxes, uids
from dicomkit.pixels import pixel_array
from dicomkit.services._convert import lossless_encoders

pytestmark = pytest.mark.interop
COMPRESSED = (
    uids.JPEGExtended12Bit,
    uids.JPEGLosslessSV1,
    uids.JPEGLSLossless,
    uids.JPEGLSNearLossless,
    uids.JPEG2000Lossless,
    uids.JPEG2000,
    uids.RLELossless,
)


def _corpus(ts_wanted: tuple[str, ...]) -> dict[str, Path]:
    chosen: dict[str, tuple[int, Path]] = {}
    for row in manifest():
        if row.broken or not row.preamble or row.ts not in ts_wanted or "Directory" in row.sop:
            continue
        size = row.path.stat().st_size
        if size < 2_000_000 and (row.ts not in chosen or size < chosen[row.ts][0]):
            chosen[row.ts] = (size, row.path)
    return {ts: p for ts, (_s, p) in chosen.items()}


@pytest.fixture(params=["+x=", "+xi"], ids=["uncompressed", "implicit-only"])
def storescp(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[int, Path, str]]:
    out = tmp_path / "dcmtk"
    out.mkdir()
    port = peers.free_port()
    with peers.dcmtk_server(
        "storescp", "-od", str(out), request.param, "-aet", "STORESCP", str(port), port=port
    ):
        yield port, out, request.param


@pytest.mark.parametrize("ts", COMPRESSED, ids=[syntaxes.get(t).keyword for t in COMPRESSED])
def test_store_decompresses_for_a_peer_taking_only_uncompressed(
    storescp: tuple[int, Path, str], ts: str
) -> None:
    from dicomkit.cli._main import main

    files = _corpus(COMPRESSED)
    if ts not in files:
        if peers.os.environ.get("CI"):
            pytest.fail(f"no corpus file in {ts}")
        pytest.skip(f"no corpus file in {ts}")
    port, out, option = storescp
    source = files[ts]
    assert main(["store", "127.0.0.1", str(port), str(source), "--aec", "STORESCP", "-q"]) == 0
    src = dicomkit.read(source)
    stored_files = [p for p in out.iterdir() if p.name.endswith(str(src.SOPInstanceUID))]
    assert len(stored_files) == 1, list(out.iterdir())
    stored = dicomkit.read(stored_files[0])
    got_ts = str(stored.file_meta.TransferSyntaxUID)
    assert got_ts in syntaxes.NATIVE
    if option == "+xi":
        assert got_ts == uids.ImplicitVRLittleEndian
    assert np.array_equal(pixel_array(stored), pixel_array(src))
    assert stored.get("SOPClassUID") == src.get("SOPClassUID")
    assert stored.get("PatientID") == src.get("PatientID")


def test_store_compresses_for_a_peer_taking_only_a_lossless_syntax(tmp_path: Path) -> None:
    pynetdicom = peers.require_module("pynetdicom")
    from pynetdicom import evt

    from dicomkit.cli._main import main

    encoders = lossless_encoders()
    if not encoders:
        pytest.fail("no lossless encoder registered: the codecs extra is missing")
    target = encoders[0]
    source = next(
        row.path
        for row in manifest()
        if not row.broken
        and row.preamble
        and row.ts == uids.ExplicitVRLittleEndian
        and row.sop == "MR Image Storage"
        and row.path.stat().st_size < 2_000_000
    )
    src = dicomkit.read(source)
    sop_class = str(src.SOPClassUID)
    received: list[bytes] = []
    done = threading.Event()

    def on_store(event: Any) -> int:
        received.append(bytes(event.encoded_dataset()))
        done.set()
        return 0

    scp = pynetdicom.AE(ae_title="LOSSLESS")
    scp.add_supported_context(sop_class, [target])
    port = peers.free_port()
    server = scp.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)]
    )
    try:
        code = main(["store", "127.0.0.1", str(port), str(source), "--aec", "LOSSLESS", "-q"])
    finally:
        server.shutdown()
    assert code == 0
    assert len(received) == 1
    path = tmp_path / "got.dcm"
    path.write_bytes(received[0])
    got = dicomkit.read(path)
    assert str(got.file_meta.TransferSyntaxUID) == target
    assert np.array_equal(pixel_array(got), pixel_array(src))
