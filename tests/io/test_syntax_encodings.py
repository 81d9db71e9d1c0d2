"""Files in the tricky transfer syntaxes are written and read as the one table says."""

from __future__ import annotations

import io
import zlib

import pytest

import dicomkit
from dicomkit import Dataset
from dicomkit.dictionary import uids
from dicomkit.dictionary.syntaxes import TRANSFER_SYNTAXES

# every test here runs with the C element scan and with the pure-Python loops
pytestmark = pytest.mark.usefixtures("decoder_path")


def _ds() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = uids.SecondaryCaptureImageStorage
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "ID1"
    return ds


@pytest.mark.parametrize(
    "ts",
    [
        uids.JPIPHTJ2KReferencedDeflate,  # 1.2.840.10008.1.2.4.205: deflated (PS3.5 A.7)
        uids.JPIPReferencedDeflate,
        uids.DeflatedExplicitVRLittleEndian,
        "1.2.840.10008.1.20",  # Papyrus 3: implicit VR little endian
        uids.ImplicitVRLittleEndian,
        uids.ExplicitVRBigEndian,
    ],
)
def test_written_and_read_in_the_tables_encoding(ts: str) -> None:
    buf = io.BytesIO()
    dicomkit.write(_ds(), buf, transfer_syntax=ts)
    raw = buf.getvalue()
    syntax = TRANSFER_SYNTAXES[ts]
    # the File Meta ends where its group length (0002,0000) says (PS3.10 7.1)
    assert raw[128:132] == b"DICM" and raw[132:136] == b"\x02\x00\x00\x00"
    body = raw[144 + int.from_bytes(raw[140:144], "little") :]
    if syntax.deflated:
        assert b"DOE^JANE" not in body
        assert b"DOE^JANE" in zlib.decompress(body, -zlib.MAX_WBITS)
    elif syntax.implicit_vr:
        assert b"PN" not in body and b"DOE^JANE" in body
    else:
        assert b"PN" in body
    back = dicomkit.read(raw)
    assert str(back.PatientName) == "DOE^JANE" and back.PatientID == "ID1"
    assert back.file_meta is not None
    assert str(back.file_meta.TransferSyntaxUID) == ts
    assert bool(back.is_implicit_vr) == syntax.implicit_vr
