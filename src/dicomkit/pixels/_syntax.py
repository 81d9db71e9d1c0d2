"""Transfer syntaxes as far as pixel data is concerned (PS3.5 section 10, Annex A).

The properties are the generated table's (:mod:`dicomkit.dictionary.syntaxes`); this module
adds what the pixel layer needs on top: how fragments are grouped into frames (``family``)
and the names the CLI accepts for a syntax (``resolve``).
"""

from __future__ import annotations

from dicomkit.dictionary import syntaxes, uids
from dicomkit.dictionary.syntaxes import TransferSyntax as Syntax

__all__ = ["Syntax", "family", "lookup", "resolve"]

#: Codec -> the marker family :mod:`dicomkit.pixels._encapsulation` finds frame starts by.
_FAMILY = {
    "jpeg": "jpeg",
    "jpeg-ls": "jpeg",
    "jpeg2000": "j2k",
    "htj2k": "j2k",
    "jpeg-xl": "jxl",
    "rle": "rle",
    "deflate": "deflate",
    "uncompressed": "native",
}

#: Short names accepted besides the keywords (lower case, no separators).
_ALIASES = {
    "rle": uids.RLELossless,
    "jpegls": uids.JPEGLSLossless,
    "jls": uids.JPEGLSLossless,
    "j2k": uids.JPEG2000Lossless,
    "jpeglossless": uids.JPEGLosslessSV1,
    "htj2k": uids.HTJ2KLossless,
    "explicit": uids.ExplicitVRLittleEndian,
    "implicit": uids.ImplicitVRLittleEndian,
    "deflate": uids.DeflatedImageFrameCompression,
    "jpegxl": uids.JPEGXLLossless,
    "explicitvrle": uids.ExplicitVRLittleEndian,
    "bigendian": uids.ExplicitVRBigEndian,
}
_BY_KEY = {kw.lower(): ts.uid for kw, ts in syntaxes.BY_KEYWORD.items()}


def family(syntax: Syntax) -> str:
    """ "jpeg", "j2k", "jxl", "rle", "deflate", "native" (encapsulated uncompressed) or ""."""
    return _FAMILY.get(syntax.compression, "")


def lookup(uid: str | None) -> Syntax:
    """The transfer syntax for a UID; ``None`` means Explicit VR Little Endian. An unknown UID
    is treated as an encapsulated, possibly lossy syntax (PS3.5 A.4: every syntax other than
    the native ones encapsulates pixel data)."""
    if uid is None:
        return syntaxes.TRANSFER_SYNTAXES[uids.ExplicitVRLittleEndian]
    return syntaxes.get(uid)


def resolve(text: str) -> str:
    """A transfer syntax UID from a UID or a keyword (``"RLELossless"``, ``"jpegls"``...)."""
    t = text.strip()
    if t in syntaxes.TRANSFER_SYNTAXES:
        return t
    key = t.lower().replace("_", "").replace("-", "").replace(" ", "")
    found = _BY_KEY.get(key) or _ALIASES.get(key)
    if found is not None:
        return found
    if all(c.isdigit() or c == "." for c in t) and t:
        return t
    raise ValueError(
        f"unknown transfer syntax {text!r}: give a UID or a keyword such as "
        "RLELossless, JPEGLSLossless, JPEG2000Lossless, ExplicitVRLittleEndian"
    )
