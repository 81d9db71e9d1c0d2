"""The one transfer syntax table (PS3.5 Annex A) and every reader of it giving one answer."""

from __future__ import annotations

import zlib

import pytest

from dicomkit.dictionary import syntaxes, transfer_syntaxes, uids
from dicomkit.dictionary.syntaxes import TRANSFER_SYNTAXES, encoding, get, lookup

TS = "1.2.840.10008.1.2"


def test_every_registry_transfer_syntax_has_properties() -> None:
    assert set(transfer_syntaxes()) == set(TRANSFER_SYNTAXES)
    for uid, ts in TRANSFER_SYNTAXES.items():
        assert ts.uid == uid and ts.keyword and ts.name and ts.section
        assert ts.pixels in ("native", "encapsulated", "referenced", "none")
        assert getattr(uids, ts.keyword) == uid
        if ts.lossy:
            assert ts.pixels == "encapsulated", uid  # only compressed pixel data can be lossy
        if ts.implicit_vr:
            assert ts.little_endian and not ts.deflated  # PS3.5 A.1: implicit is LE only


# (uid, implicit, little, deflated, pixels, compression, lossy, retired) as PS3.5 Annex A and
# PS3.6 Table A-1 give them.
PINNED = [
    (uids.ImplicitVRLittleEndian, True, True, False, "native", "", False, False),
    (uids.ExplicitVRLittleEndian, False, True, False, "native", "", False, False),
    (uids.ExplicitVRBigEndian, False, False, False, "native", "", False, True),
    (uids.DeflatedExplicitVRLittleEndian, False, True, True, "native", "", False, False),
    (
        uids.EncapsulatedUncompressedExplicitVRLittleEndian,
        False, True, False, "encapsulated", "uncompressed", False, False,
    ),
    (uids.JPIPReferenced, False, True, False, "referenced", "jpeg2000", False, False),
    (uids.JPIPReferencedDeflate, False, True, True, "referenced", "jpeg2000", False, False),
    (uids.JPIPHTJ2KReferenced, False, True, False, "referenced", "htj2k", False, False),
    ("1.2.840.10008.1.2.4.205", False, True, True, "referenced", "htj2k", False, False),
    (uids.HTJ2KLossless, False, True, False, "encapsulated", "htj2k", False, False),
    (uids.HTJ2KLosslessRPCL, False, True, False, "encapsulated", "htj2k", False, False),
    (uids.HTJ2K, False, True, False, "encapsulated", "htj2k", True, False),
    ("1.2.840.10008.1.20", True, True, False, "native", "", False, True),
    (uids.JPEGBaseline8Bit, False, True, False, "encapsulated", "jpeg", True, False),
    (uids.JPEGLosslessSV1, False, True, False, "encapsulated", "jpeg", False, False),
    (uids.JPEGLSNearLossless, False, True, False, "encapsulated", "jpeg-ls", True, False),
    (uids.RLELossless, False, True, False, "encapsulated", "rle", False, False),
    (uids.DeflatedImageFrameCompression, False, True, False, "encapsulated", "deflate", False, False),
    (uids.MPEG4HP41, False, True, False, "encapsulated", "h264", True, False),
    (uids.SMPTEST211020UncompressedProgressiveActiveVideo, False, True, False, "none", "", False, False),
]  # fmt: skip


@pytest.mark.parametrize("row", PINNED, ids=[r[0] for r in PINNED])
def test_tricky_syntaxes_against_the_standard(row: tuple) -> None:
    uid, implicit, little, deflated, pixels, compression, lossy, retired = row
    ts = TRANSFER_SYNTAXES[uid]
    assert (ts.implicit_vr, ts.little_endian, ts.deflated) == (implicit, little, deflated)
    assert (ts.pixels, ts.compression, ts.lossy, ts.retired) == (
        pixels,
        compression,
        lossy,
        retired,
    )
    assert ts.encapsulated == (pixels == "encapsulated")
    assert encoding(uid) == (implicit, little, deflated)


def test_papyrus_is_implicit_and_named() -> None:
    ts = TRANSFER_SYNTAXES["1.2.840.10008.1.20"]
    assert ts.keyword == "Papyrus3ImplicitVRLittleEndian" and ts.implicit_vr


def test_padding_and_unknown_uids() -> None:
    assert lookup(uids.ExplicitVRBigEndian + "\x00") is TRANSFER_SYNTAXES[uids.ExplicitVRBigEndian]
    assert encoding(uids.ImplicitVRLittleEndian + " ") == (True, True, False)
    assert lookup("1.2.3.4") is None and lookup(None) is None
    assert encoding("1.2.3.4") == (False, True, False)  # PS3.5 A.4: explicit VR LE
    unknown = get("1.2.3.4\x00")
    assert unknown.uid == "1.2.3.4" and not unknown.registered
    assert unknown.encapsulated and unknown.lossy and not unknown.implicit_vr


def test_native_set() -> None:
    native = {TS, TS + ".1", TS + ".2", TS + ".1.99", "1.2.840.10008.1.20"}
    assert native == syntaxes.NATIVE


@pytest.mark.parametrize("uid", sorted(TRANSFER_SYNTAXES))
def test_every_reader_gives_one_answer(uid: str) -> None:
    """The UID type, the io layer, the C-STORE head check and the pixel layer agree."""
    from dicomkit.core._uid import UID
    from dicomkit.io._headcheck import HeadCheck
    from dicomkit.pixels import _syntax as pixel_syntax

    ts = TRANSFER_SYNTAXES[uid]
    u = UID(uid)
    assert (u.is_implicit_vr, u.is_little_endian, u.is_deflated) == encoding(uid)
    assert u.is_encapsulated == ts.encapsulated and u.is_lossy == ts.lossy
    check = HeadCheck(uid, uids.CTImageStorage, "1.2.3")
    assert (check.implicit, check.little) == encoding(uid)[:2]
    assert (check._inflater is not None) == ts.deflated
    assert pixel_syntax.lookup(uid) is ts


def test_a_deflated_jpip_head_is_inflated() -> None:
    """JPIP HTJ2K Referenced Deflate (PS3.5 A.7): the C-STORE head check inflates it."""
    from dicomkit.io._headcheck import HeadCheck

    body = (
        b"\x08\x00\x16\x00UI\x1a\x00" + uids.CTImageStorage.encode().ljust(26, b"\x00")
        + b"\x08\x00\x18\x00UI\x06\x001.2.3\x00"
    )  # fmt: skip
    co = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    stream = co.compress(body) + co.flush()
    check = HeadCheck("1.2.840.10008.1.2.4.205", uids.CTImageStorage, "1.2.3")
    check.feed(stream)
    assert check.finish() is None
    other = HeadCheck("1.2.840.10008.1.2.4.205", uids.MRImageStorage, "1.2.3")
    other.feed(stream)
    failure = other.finish()
    assert failure is not None and failure[0] == 0xA900  # read: the SOP class differs
