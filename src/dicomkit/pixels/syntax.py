"""Transfer syntaxes as far as pixel data is concerned (PS3.5 Section 10, Annex A).

Plain strings, so that this module does not depend on the generated dictionary; the UIDs are
facts of the standard (PS3.6 Table A-1).
"""

from __future__ import annotations

from dataclasses import dataclass

IMPLICIT_VR_LE = "1.2.840.10008.1.2"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
ENCAPSULATED_UNCOMPRESSED_LE = "1.2.840.10008.1.2.1.98"
DEFLATED_EXPLICIT_VR_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_VR_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.57"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
JPEG_LS_NEAR_LOSSLESS = "1.2.840.10008.1.2.4.81"
JPEG_2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_2000 = "1.2.840.10008.1.2.4.91"
JPEG_2000_MC_LOSSLESS = "1.2.840.10008.1.2.4.92"
JPEG_2000_MC = "1.2.840.10008.1.2.4.93"
HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"
HTJ2K_LOSSLESS_RPCL = "1.2.840.10008.1.2.4.202"
HTJ2K = "1.2.840.10008.1.2.4.203"
JPEG_XL_LOSSLESS = "1.2.840.10008.1.2.4.110"
JPEG_XL_RECOMPRESSION = "1.2.840.10008.1.2.4.111"
JPEG_XL = "1.2.840.10008.1.2.4.112"
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
DEFLATED_IMAGE_FRAME = "1.2.840.10008.1.2.8.1"


@dataclass(frozen=True, slots=True)
class Syntax:
    """What the pixel layer needs to know about one transfer syntax."""

    uid: str
    keyword: str
    encapsulated: bool
    little_endian: bool = True
    lossless: bool = True
    #: JPEG-family codestreams that may be split over fragments and found by markers
    family: str = ""


_ALL = [
    Syntax(IMPLICIT_VR_LE, "ImplicitVRLittleEndian", False),
    Syntax(EXPLICIT_VR_LE, "ExplicitVRLittleEndian", False),
    Syntax(
        ENCAPSULATED_UNCOMPRESSED_LE,
        "EncapsulatedUncompressedExplicitVRLittleEndian",
        True,
        family="native",
    ),
    Syntax(DEFLATED_EXPLICIT_VR_LE, "DeflatedExplicitVRLittleEndian", False),
    Syntax(EXPLICIT_VR_BE, "ExplicitVRBigEndian", False, little_endian=False),
    Syntax(JPEG_BASELINE, "JPEGBaseline8Bit", True, lossless=False, family="jpeg"),
    Syntax(JPEG_EXTENDED, "JPEGExtended12Bit", True, lossless=False, family="jpeg"),
    Syntax(JPEG_LOSSLESS, "JPEGLossless", True, family="jpeg"),
    Syntax(JPEG_LOSSLESS_SV1, "JPEGLosslessSV1", True, family="jpeg"),
    Syntax(JPEG_LS_LOSSLESS, "JPEGLSLossless", True, family="jpeg"),
    Syntax(JPEG_LS_NEAR_LOSSLESS, "JPEGLSNearLossless", True, lossless=False, family="jpeg"),
    Syntax(JPEG_2000_LOSSLESS, "JPEG2000Lossless", True, family="j2k"),
    Syntax(JPEG_2000, "JPEG2000", True, lossless=False, family="j2k"),
    Syntax(JPEG_2000_MC_LOSSLESS, "JPEG2000MCLossless", True, family="j2k"),
    Syntax(JPEG_2000_MC, "JPEG2000MC", True, lossless=False, family="j2k"),
    Syntax(HTJ2K_LOSSLESS, "HTJ2KLossless", True, family="j2k"),
    Syntax(HTJ2K_LOSSLESS_RPCL, "HTJ2KLosslessRPCL", True, family="j2k"),
    Syntax(HTJ2K, "HTJ2K", True, lossless=False, family="j2k"),
    Syntax(JPEG_XL_LOSSLESS, "JPEGXLLossless", True, family="jxl"),
    Syntax(JPEG_XL_RECOMPRESSION, "JPEGXLJPEGRecompression", True, family="jxl"),
    Syntax(JPEG_XL, "JPEGXL", True, lossless=False, family="jxl"),
    Syntax(RLE_LOSSLESS, "RLELossless", True, family="rle"),
    Syntax(DEFLATED_IMAGE_FRAME, "DeflatedImageFrameCompression", True, family="deflate"),
]
BY_UID: dict[str, Syntax] = {s.uid: s for s in _ALL}
BY_KEYWORD: dict[str, Syntax] = {s.keyword.lower(): s for s in _ALL}


def lookup(uid: str | None) -> Syntax:
    """The :class:`Syntax` for a UID; an unknown UID is treated as an encapsulated syntax
    (PS3.5 A.4: every syntax other than the three native ones encapsulates pixel data)."""
    if uid is None:
        return BY_UID[EXPLICIT_VR_LE]
    uid = str(uid).strip().rstrip("\0")
    found = BY_UID.get(uid)
    if found is not None:
        return found
    return Syntax(uid, "", True, lossless=False)


def resolve(text: str) -> str:
    """A transfer syntax UID from a UID or a keyword (``"RLELossless"``, ``"jpegls"``...)."""
    t = text.strip()
    if t in BY_UID:
        return t
    key = t.lower().replace("_", "").replace("-", "").replace(" ", "")
    if key in BY_KEYWORD:
        return BY_KEYWORD[key].uid
    aliases = {
        "rle": RLE_LOSSLESS,
        "jpegls": JPEG_LS_LOSSLESS,
        "jls": JPEG_LS_LOSSLESS,
        "j2k": JPEG_2000_LOSSLESS,
        "jpeg2000lossless": JPEG_2000_LOSSLESS,
        "jpeglossless": JPEG_LOSSLESS_SV1,
        "htj2k": HTJ2K_LOSSLESS,
        "explicit": EXPLICIT_VR_LE,
        "implicit": IMPLICIT_VR_LE,
        "deflate": DEFLATED_IMAGE_FRAME,
        "jpegxl": JPEG_XL_LOSSLESS,
        "explicitvrle": EXPLICIT_VR_LE,
        "bigendian": EXPLICIT_VR_BE,
    }
    if key in aliases:
        return aliases[key]
    if all(c.isdigit() or c == "." for c in t) and t:
        return t
    raise ValueError(
        f"unknown transfer syntax {text!r}: give a UID or a keyword such as "
        "RLELossless, JPEGLSLossless, JPEG2000Lossless, ExplicitVRLittleEndian"
    )
